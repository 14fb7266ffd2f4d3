package dev.locus.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A fact id submitted again with other content: its second content's results are refused (the first stands), a
 * redelivery of the first content is still a plain duplicate, other versions are not affected, and the refusal
 * survives a snapshot and restore.
 */
class ConflictingFactTest {

    @Test
    void theFirstContentOfAFactIdStands() throws Exception {
        StatsState state = new StatsState();
        Observation trace = read("trace", "1000000000000001", "1", "f", null);
        Observation edit = read("edit", "1000000000000002", "1", "f", 3);
        assertNull(state.conflict(trace));
        assertTrue(state.add(trace));
        assertNull(state.conflict(edit));
        assertTrue(state.add(edit));

        assertNull(state.conflict(trace), "a redelivered result is a duplicate, not a conflict");
        Observation otherTrace = read("trace", "2000000000000001", "1", "f", null);
        Observation otherEdit = read("edit", "2000000000000002", "1", "f", 3);
        assertNotNull(state.conflict(otherTrace));
        assertTrue(state.conflict(otherTrace).contains("fact f was counted before with other content"), state.conflict(otherTrace));
        assertNotNull(state.conflict(otherEdit), "the other content's edits follow its trace");
        assertNull(state.conflict(edit), "the first content's edit redelivered: a duplicate");
        assertNull(state.conflict(read("trace", "3000000000000001", "2", "f", null)), "another version studies the fact afresh");
        assertNull(state.conflict(read("edit", "4000000000000002", "1", "g", 3)), "another fact");

        StatsState restored = new StatsState();
        state.snapshots("a", Map.of(), "now").values().forEach(restored::restore);
        assertNotNull(restored.conflict(otherEdit), "remembered in the snapshots");
        assertEquals(state.view().stream().map(StatsState.GroupView::edits).toList(),
                restored.view().stream().map(StatsState.GroupView::edits).toList());
    }

    private static Observation read(String type, String id, String version, String fact, Integer layer) throws Exception {
        String edit = layer == null ? "" : ",\"edit\":{\"method\":\"rome\",\"problem\":\"error_injection\",\"layer\":" + layer
                + ",\"status\":\"ok\",\"tracing_value\":0.5,\"rewrite_score\":1}";
        String trace = layer == null ? ",\"trace\":{\"p_clean\":0.9}" : "";
        return Observation.read("{\"type\":\"" + type + "\",\"id\":\"" + id + "\",\"model\":\"m\",\"model_version\":\"" + version
                + "\",\"grid_id\":\"g\",\"fact_id\":\"" + fact + "\"" + edit + trace + "}");
    }
}
