package dev.locus.figures;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.figures.TraceHeatmap.TokenGroup;
import dev.locus.tracing.CausalTrace;
import dev.locus.tracing.TraceJson;
import dev.locus.tracing.TraceKind;
import java.awt.Dimension;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The heatmap's token grouping, the PNG it writes, and the JSON form of a trace, on synthetic traces. */
class TraceHeatmapTest {
    private static final int LAYERS = 6;

    @TempDir
    Path dir;

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
        double[][] groups = TraceHeatmap.groupRows(grid, 1, 3);
        assertArrayEquals(new double[] {1, 2}, groups[TokenGroup.FIRST_SUBJECT.ordinal()]);
        assertNull(groups[TokenGroup.MIDDLE_SUBJECT.ordinal()]);
        assertArrayEquals(new double[] {3, 4}, groups[TokenGroup.LAST_SUBJECT.ordinal()]);
        assertArrayEquals(new double[] {5, 6}, groups[TokenGroup.FIRST_SUBSEQUENT.ordinal()]);
        assertNull(groups[TokenGroup.FURTHER.ordinal()]);
        assertArrayEquals(new double[] {7, 8}, groups[TokenGroup.LAST.ordinal()]);

        double[][] longer = {{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}};
        double[][] mean = TraceHeatmap.groupRows(longer, 0, 4);
        assertArrayEquals(new double[] {1.5}, mean[TokenGroup.MIDDLE_SUBJECT.ordinal()], 1e-12);
        assertArrayEquals(new double[] {5.5}, mean[TokenGroup.FURTHER.ordinal()], 1e-12);
    }

    @Test
    void writesOnePngOfThreePanels() throws Exception {
        CausalTrace trace = trace(List.of("The", " Eiffel", " Tower", " is", " in", " the", " city", " of"), 1, 3);
        Path png = dir.resolve("out/trace.png");
        TraceHeatmap.write(trace, "Paris", png);

        List<String> rows = List.of("The", "Eiffel*", "Tower*", "is", "in", "the", "city", "of");
        assertImage(png, TraceHeatmap.panelSize(rows, LAYERS));
    }

    @Test
    void writesTheAverageOverFactsOfDifferentLengths() throws Exception {
        List<CausalTrace> traces = List.of(
                trace(List.of("The", " Eiffel", " Tower", " is", " in", " the", " city", " of"), 1, 3),
                trace(List.of("Paris", " is", " the", " capital", " of"), 0, 1));
        Path png = dir.resolve("average.png");
        TraceHeatmap.writeAverage(traces, png);

        List<String> rows = new ArrayList<>();
        for (TokenGroup group : TokenGroup.values()) {
            rows.add(group.label());
        }
        assertImage(png, TraceHeatmap.panelSize(rows, LAYERS));
    }

    private static void assertImage(Path png, Dimension panel) throws Exception {
        assertTrue(Files.size(png) > 0);
        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(3 * panel.width, image.getWidth());
        assertEquals(panel.height, image.getHeight());
        boolean drawn = false;
        for (int x = 0; x < image.getWidth() && !drawn; x += 3) {
            for (int y = 0; y < image.getHeight() && !drawn; y += 3) {
                drawn = (image.getRGB(x, y) & 0xFFFFFF) != 0xFFFFFF;
            }
        }
        assertTrue(drawn, "the image is blank");
    }

    @Test
    void jsonHasTheTraceInSnakeCase() throws Exception {
        CausalTrace trace = trace(List.of("The", " Eiffel", " Tower", " is", " in"), 1, 3);
        String line = TraceJson.of("f1", "Paris", trace).toJson();
        assertFalse(line.contains("\n"));
        JsonNode json = new ObjectMapper().readTree(line);
        for (String field : List.of("fact_id", "target", "tokens", "subject_start", "subject_end", "traced_from", "p_clean",
                "p_corrupt", "noise_sigma", "seed", "samples", "windows", "restored", "localization",
                "localization_last_subject_token")) {
            assertTrue(json.has(field), field);
        }
        assertEquals(1, json.get("subject_start").asInt());
        assertEquals(3, json.get("subject_end").asInt());
        assertEquals(0.9, json.get("p_clean").asDouble());
        assertEquals(5, json.get("windows").get("mlp").asInt());
        for (TraceKind kind : TraceKind.values()) {
            JsonNode grid = json.get("restored").get(kind.label());
            assertEquals(5, grid.size());
            assertEquals(trace.restored().get(kind)[2][4], grid.get(2).get(4).asDouble());
        }
        assertEquals(LAYERS, json.get("localization").size());
        assertEquals(trace.localization()[3], json.get("localization").get(3).asDouble());
        assertEquals(trace.localizationAtLastSubjectToken()[3], json.get("localization_last_subject_token").get(3).asDouble());
    }

    /** A trace with p_clean 0.9, p_corrupt 0.1 and restored values rising towards the last subject token and middle layers. */
    private static CausalTrace trace(List<String> tokens, int subjectStart, int subjectEnd) {
        Map<TraceKind, double[][]> restored = new EnumMap<>(TraceKind.class);
        for (TraceKind kind : TraceKind.values()) {
            double[][] grid = new double[tokens.size()][LAYERS];
            for (int t = 0; t < grid.length; t++) {
                for (int l = 0; l < LAYERS; l++) {
                    double nearSubject = 1.0 / (1 + Math.abs(t - (subjectEnd - 1)));
                    double midLayer = 1.0 / (1 + Math.abs(l - LAYERS / 2.0));
                    grid[t][l] = t < subjectStart ? 0.1 : 0.1 + 0.8 * nearSubject * midLayer * (kind.ordinal() + 1) / 3;
                }
            }
            restored.put(kind, grid);
        }
        return new CausalTrace(tokens, subjectStart, subjectEnd, subjectStart, 0.9, 0.1, restored,
                Map.of(TraceKind.HIDDEN, 1, TraceKind.MLP, 5, TraceKind.ATTN, 5), 0.1, 1, 10, false);
    }
}
