package dev.locus.stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.study.ResultEvent;
import dev.locus.tracing.TokenGroup;
import dev.locus.tracing.TraceAverage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Results read once into what the aggregator counts; what it cannot count is unreadable, never a group of its own. */
class ObservationTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String GRID = "193a1e33a8a609de";

    @Test
    void everyKindReadsIntoItsGroup() throws Exception {
        List<Observation> read = new ArrayList<>();
        for (ResultEvent event : ResultEventJsonTest.examples()) {
            read.add(Observation.read(JSON.writeValueAsString(event)));
        }
        assertEquals(List.of(Observation.Kind.TRACE, Observation.Kind.EDIT, Observation.Kind.FAILED_EDIT, Observation.Kind.SKIPPED,
                Observation.Kind.TRACE, Observation.Kind.SKIPPED), read.stream().map(Observation::kind).toList());
        assertEquals(List.of(false, false, false, false, true, true), read.stream().map(Observation::traceOnly).toList());
        assertNull(read.get(0).trace());
        assertEquals(List.of("The", " Eiffel"), read.get(4).trace().tokens());
        assertEquals(new StatsState.GroupKey("testbed", "v1", GRID, "*", "*"), read.get(0).group());
        assertEquals(new StatsState.GroupKey("testbed", "v1", GRID, "rome", "error_injection"), read.get(1).group());
        assertEquals(new StatsState.GroupKey("testbed", "v1", GRID, "memit", "error_injection"), read.get(2).group());
        assertEquals(0x0123456789abcdefL, read.get(1).id());
        assertEquals(new StatsState.Point(4, 0.3125, 0.9, 0.75, -0.125, 0.5), read.get(1).point());
        assertNull(read.get(2).point());

        StatsState state = new StatsState();
        read.forEach(o -> assertTrue(state.add(o)));
        read.forEach(o -> assertFalse(state.add(o), "counted once"));
        StatsState.GroupView rome = state.view().stream().filter(g -> g.method().equals("rome")).findFirst().orElseThrow();
        assertEquals(1, rome.edits());
        assertEquals(1, rome.analysis().get("neighborhood").observations());
        assertEquals(List.of(read.get(1).point()), rome.latest());
        StatsState.GroupView model = state.view().stream().filter(g -> g.method().equals("*")).findFirst().orElseThrow();
        assertEquals(2, model.traced());
        assertEquals(2, model.skipped());
        assertEquals(1, model.traceOnly().facts(), "the trace-only fact's trace, once");
        assertEquals(1, model.traceOnly().notAnalysed());
    }

    /** An edit with the essence metrics adds target, essence and fluency (post) statistics; one without adds none of them. */
    @Test
    void essenceMetricsCountWhereTheyAre() throws Exception {
        Observation with = Observation.read("""
                {"type":"edit","id":"00000000000000fe","model":"m","model_version":"2","grid_id":"g",
                 "edit":{"method":"rome","problem":"error_injection","layer":3,"status":"ok","tracing_value":0.5,"rewrite_score":1,
                 "paraphrase_score":0.5,"neighborhood_score":1,"overall_score":0.8,"target_score":0.75,"essence_seed":7,
                 "essence_ppl_pre":3.5,"essence_ppl_post":4.0,"essence_score":0.5,"fluency_pre":2.25,"fluency_post":2.0}}""");
        assertEquals(new StatsState.Point(3, 0.5, 1, 0.5, 1, 0.8, 0.75, 0.5, 2.0), with.point());
        Observation without = Observation.read("""
                {"type":"edit","id":"00000000000000fd","model":"m","model_version":"2","grid_id":"h",
                 "edit":{"method":"rome","problem":"error_injection","layer":3,"status":"ok","tracing_value":0.5,"rewrite_score":1}}""");
        StatsState state = new StatsState();
        assertTrue(state.add(with));
        assertTrue(state.add(without));
        for (StatsState.GroupView g : state.view()) {
            boolean essence = g.grid().equals("g");
            for (String metric : List.of("target", "essence", "fluency")) {
                assertEquals(essence, g.analysis().containsKey(metric), g.grid() + " " + metric);
            }
            assertTrue(g.analysis().containsKey("rewrite"));
        }
        assertEquals(2.0, state.view().stream().filter(g -> g.grid().equals("g")).findFirst().orElseThrow()
                .analysis().get("fluency").layers().stream().filter(l -> l.layer() == 3).findFirst().orElseThrow().meanScore(), 0);
        assertFalse(JSON.writeValueAsString(without.point()).contains("essence"), "absent, not 0, in the page's points");
    }

    /**
     * What the aggregator needs and no more: a newer worker's extra fields, and fields it does not use, may differ; a worker
     * from before versions sent no model_version, and its fingerprint is its version.
     */
    @Test
    void onlyWhatIsCountedIsNeeded() throws Exception {
        Observation o = Observation.read("""
                {"type":"edit","id":"00000000000000ff","model":"m","model_version":"2","grid_id":"g","colour":"blue",
                 "edit":{"method":"rome","problem":"fact_erasure","layer":3,"status":"ok","tracing_value":0.5,"rewrite_score":1}}""");
        assertEquals(new StatsState.GroupKey("m", "2", "g", "rome", "fact_erasure"), o.group());
        assertEquals(255, o.id());
        assertEquals(new StatsState.Point(3, 0.5, 1, 0, 0, 0), o.point());
        assertTrue(new StatsState().add(o));
        Observation old = Observation.read("""
                {"type":"skipped","id":"00000000000000ff","model":"m","model_fingerprint":"fedcba9876543210","grid_id":"g"}""");
        assertEquals(Observation.Kind.SKIPPED, old.kind());
        assertEquals(new StatsState.GroupKey("m", "fedcba9876543210", "g", "*", "*"), old.group());
    }

    /**
     * A trace-only fact's trace joins its model group's average once, however often it is delivered, and the average survives
     * a snapshot: the example's trace ("The Eiffel", subject [1, 2), p_corrupt 0.05) by hand.
     */
    @Test
    void traceOnlyAverageCountsOnceAndSurvivesASnapshot() throws Exception {
        String traceOnly = JSON.writeValueAsString(ResultEventJsonTest.examples().get(4));
        String skipped = JSON.writeValueAsString(ResultEventJsonTest.examples().get(5));
        StatsState state = new StatsState();
        assertTrue(state.add(Observation.read(traceOnly)));
        assertFalse(state.add(Observation.read(traceOnly)), "a redelivered trace counts once");
        assertTrue(state.add(Observation.read(skipped)));
        TraceAverage.Summary average = state.view().get(0).traceOnly();
        assertEquals(1, average.facts());
        assertEquals(1, average.notAnalysed());
        double[][] mlp = average.effect().get("mlp"); // restored mlp [[0.1, 0.2], [0.3, 0.4]]: the subject is token 1
        for (TokenGroup group : List.of(TokenGroup.FIRST_SUBJECT, TokenGroup.LAST_SUBJECT, TokenGroup.LAST)) {
            assertArrayEquals(new double[] {0.3 - 0.05, 0.4 - 0.05}, mlp[group.ordinal()], 1e-12, group.label());
        }
        for (TokenGroup group : List.of(TokenGroup.MIDDLE_SUBJECT, TokenGroup.FIRST_SUBSEQUENT, TokenGroup.FURTHER)) {
            assertNull(mlp[group.ordinal()], group.label());
        }
        assertArrayEquals(new long[] {0, 1}, average.peakLayers(), "localization [0.3, 0.6] peaks at layer 1");
        assertEquals(1.0, average.meanPeakLayer());

        StatsState restored = new StatsState();
        String snapshot = JSON.writeValueAsString(state.snapshots("a", Map.of(), "now").values().iterator().next());
        restored.restore(JSON.readValue(snapshot, StatsState.GroupSnapshot.class));
        assertFalse(restored.add(Observation.read(traceOnly)), "counted before the snapshot");
        assertEquals(JSON.writeValueAsString(state.view()), JSON.writeValueAsString(restored.view()));
    }

    /** A trace-only trace of other layers than its group's (no worker of one version writes one) is refused, changing nothing. */
    @Test
    void aTraceOnlyTraceOfOtherLayersIsRefusedBeforeItCounts() throws Exception {
        StatsState state = new StatsState();
        assertTrue(state.add(Observation.read(JSON.writeValueAsString(ResultEventJsonTest.examples().get(4)))));
        String before = JSON.writeValueAsString(state.view());
        Observation threeLayers = Observation.read("""
                {"type":"trace","trace_only":true,"id":"00000000000000ff","model":"testbed","model_version":"v1","grid_id":"%s",
                 "trace":{"tokens":["a"],"subject_start":0,"subject_end":1,"localization":[0.1,0.2,0.3],
                 "restored":{"hidden":[[0.1,0.2,0.3]],"mlp":[[0.1,0.2,0.3]],"attn":[[0.1,0.2,0.3]]}}}""".formatted(GRID));
        assertEquals("a trace of 3 layers among traces of 2", assertThrows(IllegalArgumentException.class, () -> state.add(threeLayers)).getMessage());
        assertEquals(before, JSON.writeValueAsString(state.view()));
        assertThrows(IllegalArgumentException.class, () -> state.add(threeLayers), "not counted, so refused again rather than a duplicate");
    }

    /** Two versions of one model, and two grids of one version, are four groups: never pooled. */
    @Test
    void versionsAndGridsAreNeverPooled() throws Exception {
        StatsState state = new StatsState();
        for (String version : List.of("1", "2")) {
            for (String grid : List.of("g1", "g2")) {
                assertTrue(state.add(Observation.read("""
                        {"type":"edit","id":"00000000000000ff","model":"m","model_version":"%s","grid_id":"%s",
                         "edit":{"method":"rome","problem":"fact_erasure","layer":3,"status":"ok","tracing_value":0.5,"rewrite_score":1}}"""
                        .formatted(version, grid))), "the same result id counts once per version and grid");
            }
        }
        assertEquals(List.of("1|g1", "1|g2", "2|g1", "2|g2"), state.view().stream().map(g -> g.version() + "|" + g.grid()).toList());
        state.view().forEach(g -> assertEquals(1, g.edits()));
    }

    @Test
    void unreadable() {
        String edit = "\"edit\":{\"method\":\"rome\",\"problem\":\"fact_erasure\",\"layer\":3,\"status\":\"ok\"}";
        for (String json : Arrays.asList(
                null,
                "not json",
                "{\"type\":\"edit\",\"id\":\"00000000000000ff\",\"model\":\"m\",\"model_version\":\"1\",\"grid_id\":\"g\"", // cut short
                "{\"type\":\"guess\",\"id\":\"00000000000000ff\",\"model\":\"m\",\"model_version\":\"1\",\"grid_id\":\"g\"}",
                "{\"id\":\"00000000000000ff\",\"model\":\"m\",\"model_version\":\"1\",\"grid_id\":\"g\"}",
                "{\"type\":\"trace\",\"id\":\"00000000000000ff\"}",
                "{\"type\":\"trace\",\"id\":\"00000000000000ff\",\"model\":\"\"}",
                "{\"type\":\"trace\",\"id\":\"00000000000000f\",\"model\":\"m\",\"model_version\":\"1\",\"grid_id\":\"g\"}",
                "{\"type\":\"trace\",\"id\":\"0000000000000xyz\",\"model\":\"m\",\"model_version\":\"1\",\"grid_id\":\"g\"}",
                "{\"type\":\"trace\",\"model\":\"m\",\"model_version\":\"1\",\"grid_id\":\"g\"}",
                "{\"type\":\"trace\",\"id\":\"00000000000000ff\",\"model\":\"m\",\"model_version\":\"1\"}", // no grid
                "{\"type\":\"trace\",\"id\":\"00000000000000ff\",\"model\":\"m\",\"grid_id\":\"g\"}", // no version, no fingerprint
                "{\"type\":\"edit\",\"id\":\"00000000000000ff\",\"model\":\"m\",\"model_version\":\"1\",\"grid_id\":\"g\"}",
                "{\"type\":\"edit\",\"id\":\"00000000000000ff\",\"model\":\"m\",\"model_version\":\"1\",\"grid_id\":\"g\"," + edit.replace("\"method\":\"rome\",", "") + "}",
                "{\"type\":\"edit\",\"id\":\"00000000000000ff\",\"model\":\"m\",\"model_version\":\"1\",\"grid_id\":\"g\"," + edit.replace("3", "-1") + "}",
                "{\"type\":\"trace\",\"trace_only\":true,\"id\":\"00000000000000ff\",\"model\":\"m\",\"model_version\":\"1\",\"grid_id\":\"g\"}", // no trace
                "{\"type\":\"trace\",\"trace_only\":true,\"id\":\"00000000000000ff\",\"model\":\"m\",\"model_version\":\"1\",\"grid_id\":\"g\","
                        + "\"trace\":{\"tokens\":[\"a\"],\"subject_start\":0,\"subject_end\":1,\"localization\":[0.5],"
                        + "\"restored\":{\"hidden\":[[0.1]],\"mlp\":[[0.1, 0.2]],\"attn\":[[0.1]]}}}", // a grid of other layers
                "[1, 2]")) {
            assertThrows(Observation.Unreadable.class, () -> Observation.read(json), json);
        }
    }
}
