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

    @Test
    void everyKindReadsIntoItsGroup() throws Exception {
        List<Observation> read = new ArrayList<>();
        for (ResultEvent event : ResultEventJsonTest.examples()) {
            read.add(Observation.read(JSON.writeValueAsString(event)));
        }
        assertEquals(List.of(Observation.Kind.TRACE, Observation.Kind.EDIT, Observation.Kind.FAILED_EDIT, Observation.Kind.SKIPPED),
                read.stream().map(Observation::kind).toList());
        assertEquals(new StatsState.GroupKey("testbed", "*", "*"), read.get(0).group());
        assertEquals(new StatsState.GroupKey("testbed", "rome", "error_injection"), read.get(1).group());
        assertEquals(new StatsState.GroupKey("testbed", "memit", "error_injection"), read.get(2).group());
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

    /** What the aggregator needs and no more: a newer worker's extra fields, and fields it does not use, may differ. */
    @Test
    void onlyWhatIsCountedIsNeeded() throws Exception {
        Observation o = Observation.read("""
                {"type":"edit","id":"00000000000000ff","model":"m","colour":"blue",
                 "edit":{"method":"rome","problem":"fact_erasure","layer":3,"status":"ok","tracing_value":0.5,"rewrite_score":1}}""");
        assertEquals(new StatsState.GroupKey("m", "rome", "fact_erasure"), o.group());
        assertEquals(255, o.id());
        assertEquals(new StatsState.Point(3, 0.5, 1, 0, 0, 0), o.point());
        assertEquals(Observation.Kind.SKIPPED, Observation.read("{\"type\":\"skipped\",\"id\":\"00000000000000ff\",\"model\":\"m\"}").kind());
    }

    @Test
    void unreadable() {
        String edit = "\"edit\":{\"method\":\"rome\",\"problem\":\"fact_erasure\",\"layer\":3,\"status\":\"ok\"}";
        for (String json : Arrays.asList(
                null,
                "not json",
                "{\"type\":\"edit\",\"id\":\"00000000000000ff\",\"model\":\"m\"", // cut short
                "{\"type\":\"guess\",\"id\":\"00000000000000ff\",\"model\":\"m\"}",
                "{\"id\":\"00000000000000ff\",\"model\":\"m\"}",
                "{\"type\":\"trace\",\"id\":\"00000000000000ff\"}",
                "{\"type\":\"trace\",\"id\":\"00000000000000ff\",\"model\":\"\"}",
                "{\"type\":\"trace\",\"id\":\"00000000000000f\",\"model\":\"m\"}",
                "{\"type\":\"trace\",\"id\":\"0000000000000xyz\",\"model\":\"m\"}",
                "{\"type\":\"trace\",\"model\":\"m\"}",
                "{\"type\":\"edit\",\"id\":\"00000000000000ff\",\"model\":\"m\"}",
                "{\"type\":\"edit\",\"id\":\"00000000000000ff\",\"model\":\"m\"," + edit.replace("\"method\":\"rome\",", "") + "}",
                "{\"type\":\"edit\",\"id\":\"00000000000000ff\",\"model\":\"m\"," + edit.replace("3", "-1") + "}",
                "[1, 2]")) {
            assertThrows(Observation.Unreadable.class, () -> Observation.read(json), json);
        }
    }
}
