package dev.locus.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.study.ResultEvent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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
        assertEquals(List.of(Observation.Kind.TRACE, Observation.Kind.EDIT, Observation.Kind.FAILED_EDIT, Observation.Kind.SKIPPED),
                read.stream().map(Observation::kind).toList());
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
                "[1, 2]")) {
            assertThrows(Observation.Unreadable.class, () -> Observation.read(json), json);
        }
    }
}
