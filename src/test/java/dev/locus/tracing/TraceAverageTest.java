package dev.locus.tracing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** ROME's token grouping, and the average trace over facts in those groups, against a computation by hand. */
class TraceAverageTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void groupsTokensAsInTheRomePaper() {
        // "A B C is in the city of": subject B C D at [2, 5) of 9 tokens
        assertRows(new int[][] {{2, 3}, {3, 4}, {4, 5}, {5, 6}, {6, 8}, {8, 9}}, 2, 5, 9);
        // a one-token subject with one token after it: those rows serve two groups each, as in ROME
        assertRows(new int[][] {{3, 4}, {4, 4}, {3, 4}, {4, 5}, {5, 5}, {4, 5}}, 3, 4, 5);
        // a subject that ends the prompt has no subsequent tokens
        assertRows(new int[][] {{1, 2}, {2, 2}, {2, 3}, {3, 3}, {4, 4}, {2, 3}}, 1, 3, 3);
    }

    private static void assertRows(int[][] expected, int subjectStart, int subjectEnd, int length) {
        for (TokenGroup group : TokenGroup.values()) {
            int[] rows = group.rows(subjectStart, subjectEnd, length);
            if (expected[group.ordinal()][0] == expected[group.ordinal()][1]) {
                assertEquals(rows[0], rows[1], group + " should be empty");
            } else {
                assertArrayEquals(expected[group.ordinal()], rows, group.label());
            }
        }
    }

    @Test
    void groupRowsAveragesEachGroupAndMarksMissingOnes() {
        double[][] grid = {{0, 0}, {1, 2}, {3, 4}, {5, 6}, {7, 8}};
        double[][] groups = TokenGroup.groupRows(grid, 1, 3);
        assertArrayEquals(new double[] {1, 2}, groups[TokenGroup.FIRST_SUBJECT.ordinal()]);
        assertNull(groups[TokenGroup.MIDDLE_SUBJECT.ordinal()]);
        assertArrayEquals(new double[] {3, 4}, groups[TokenGroup.LAST_SUBJECT.ordinal()]);
        assertArrayEquals(new double[] {5, 6}, groups[TokenGroup.FIRST_SUBSEQUENT.ordinal()]);
        assertNull(groups[TokenGroup.FURTHER.ordinal()]);
        assertArrayEquals(new double[] {7, 8}, groups[TokenGroup.LAST.ordinal()]);

        double[][] longer = {{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}};
        double[][] mean = TokenGroup.groupRows(longer, 0, 4);
        assertArrayEquals(new double[] {1.5}, mean[TokenGroup.MIDDLE_SUBJECT.ordinal()], 1e-12);
        assertArrayEquals(new double[] {5.5}, mean[TokenGroup.FURTHER.ordinal()], 1e-12);
    }

    /** "In A B is in": subject [1, 3) of 5 tokens (no middle, no further tokens), p_corrupt 0.1, peak layer 1. */
    private static final TraceJson A = trace(1, 3, 0.1, new double[][] {{0.1, 0.1}, {0.2, 0.4}, {0.5, 0.3}, {0.3, 0.2}, {0.6, 0.1}},
            new double[] {0.2, 0.7});
    /** Subject [0, 4) of 7 tokens (two middle rows), p_corrupt 0.2, a tie of the localization at layers 0 and 1: peak 0. */
    private static final TraceJson B = trace(0, 4, 0.2, new double[][] {
            {0.3, 0.2}, {0.4, 0.6}, {0.6, 0.2}, {0.8, 0.4}, {0.2, 0.2}, {0.5, 0.7}, {0.9, 0.3}}, new double[] {0.9, 0.9});

    @Test
    void averagesTheIndirectEffectPerTokenGroupOverTheFactsThatHaveIt() {
        TraceAverage average = new TraceAverage();
        average.add(A);
        average.add(B);
        average.addNotAnalysed();
        TraceAverage.Summary s = average.summary();

        assertEquals(2, s.facts());
        assertEquals(1, s.notAnalysed());
        assertEquals(2, s.layers());
        assertEquals(List.of("first subject token", "middle subject tokens", "last subject token", "first subsequent token",
                "further tokens", "last token"), s.tokenGroups());
        assertArrayEquals(new long[] {2, 1, 2, 2, 1, 2}, s.groupFacts());
        double[][] mlp = s.effect().get("mlp");
        // By hand: each fact's group mean of p_restored minus its p_corrupt, then the mean over the facts with the group.
        assertArrayEquals(new double[] {((0.2 - 0.1) + (0.3 - 0.2)) / 2, ((0.4 - 0.1) + (0.2 - 0.2)) / 2}, mlp[0], 1e-12);
        assertArrayEquals(new double[] {(0.4 + 0.6) / 2 - 0.2, (0.6 + 0.2) / 2 - 0.2}, mlp[1], 1e-12); // B's two middle rows
        assertArrayEquals(new double[] {((0.5 - 0.1) + (0.8 - 0.2)) / 2, ((0.3 - 0.1) + (0.4 - 0.2)) / 2}, mlp[2], 1e-12);
        assertArrayEquals(new double[] {((0.3 - 0.1) + (0.2 - 0.2)) / 2, ((0.2 - 0.1) + (0.2 - 0.2)) / 2}, mlp[3], 1e-12);
        assertArrayEquals(new double[] {0.5 - 0.2, 0.7 - 0.2}, mlp[4], 1e-12); // only B has further tokens
        assertArrayEquals(new double[] {((0.6 - 0.1) + (0.9 - 0.2)) / 2, ((0.1 - 0.1) + (0.3 - 0.2)) / 2}, mlp[5], 1e-12);
        for (String kind : List.of("hidden", "attn")) { // both grids are 0.5 everywhere
            double[][] effect = s.effect().get(kind);
            for (TokenGroup group : TokenGroup.values()) {
                double expected = s.groupFacts()[group.ordinal()] == 2 ? ((0.5 - 0.1) + (0.5 - 0.2)) / 2 : 0.5 - 0.2;
                assertArrayEquals(new double[] {expected, expected}, effect[group.ordinal()], 1e-12, kind + ", " + group);
            }
        }
        assertArrayEquals(new long[] {1, 1}, s.peakLayers());
        assertEquals(0.5, s.meanPeakLayer(), 1e-12);
        assertArrayEquals(new double[] {(0.2 + 0.3) / 2, (0.4 + 0.2) / 2}, average.meanRestored(TraceKind.MLP)[0], 1e-12);
    }

    @Test
    void aGroupNoFactHasIsNullAndATraceWithoutEffectHasNoPeak() {
        TraceAverage average = new TraceAverage();
        average.add(trace(1, 3, 0.1, new double[][] {{0.1, 0.1}, {0.1, 0.1}, {0.1, 0.1}, {0.1, 0.1}, {0.1, 0.1}}, new double[] {0, 0}));
        TraceAverage.Summary s = average.summary();
        assertNull(s.effect().get("mlp")[TokenGroup.MIDDLE_SUBJECT.ordinal()]);
        assertNotNull(s.effect().get("mlp")[TokenGroup.LAST.ordinal()]);
        assertArrayEquals(new long[] {0, 0}, s.peakLayers());
        assertNull(s.meanPeakLayer());
        assertNull(new TraceAverage().summary().meanPeakLayer());
    }

    @Test
    void aSnapshotRestoresTheSameAverageAndItCarriesOn() throws Exception {
        TraceAverage uninterrupted = new TraceAverage();
        uninterrupted.add(A);
        uninterrupted.addNotAnalysed();
        String snapshot = JSON.writeValueAsString(uninterrupted.snapshot());
        TraceAverage restored = TraceAverage.fromSnapshot(JSON.readValue(snapshot, TraceAverage.Snapshot.class));
        uninterrupted.add(B);
        restored.add(B);
        assertEquals(JSON.writeValueAsString(uninterrupted.summary()), JSON.writeValueAsString(restored.summary()));
        assertEquals(JSON.writeValueAsString(uninterrupted.snapshot()), JSON.writeValueAsString(restored.snapshot()));

        TraceAverage empty = TraceAverage.fromSnapshot(JSON.readValue(JSON.writeValueAsString(new TraceAverage().snapshot()),
                TraceAverage.Snapshot.class));
        empty.add(A);
        assertEquals(1, empty.summary().facts());
    }

    @Test
    void refusesTracesThatDoNotFit() {
        TraceAverage average = new TraceAverage();
        average.add(A);
        TraceJson threeLayers = trace(0, 1, 0.1, new double[][] {{0.1, 0.2, 0.3}, {0.1, 0.2, 0.3}}, new double[] {0, 1, 0});
        assertEquals("a trace of 3 layers among traces of 2",
                assertThrows(IllegalArgumentException.class, () -> average.add(threeLayers)).getMessage());
        TraceJson outside = trace(1, 6, 0.1, new double[][] {{0.1, 0.1}, {0.1, 0.1}}, new double[] {0, 0});
        assertEquals("subject span [1, 6) outside the trace's 2 tokens", TraceAverage.problem(outside));
    }

    /** A trace of {@code mlp}'s tokens whose hidden and attn grids are 0.5 everywhere. */
    private static TraceJson trace(int subjectStart, int subjectEnd, double pCorrupt, double[][] mlp, double[] localization) {
        double[][] flat = new double[mlp.length][mlp[0].length];
        for (double[] row : flat) {
            java.util.Arrays.fill(row, 0.5);
        }
        return new TraceJson(null, null, Collections.nCopies(mlp.length, " t"), subjectStart, subjectEnd, subjectStart, 0.9, pCorrupt,
                0.1, 1, 10, Map.of("hidden", 1, "mlp", 5, "attn", 5), Map.of("hidden", flat, "mlp", mlp, "attn", flat), localization,
                localization);
    }
}
