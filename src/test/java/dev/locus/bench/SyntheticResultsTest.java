package dev.locus.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.stream.Observation;
import dev.locus.stream.StatsState;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The benchmark's synthetic results are real result events: the aggregator's state counts them as generated. */
class SyntheticResultsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void eventsFoldAsGeneratedAndAreDeterministic() throws Exception {
        SyntheticResults.Events events = SyntheticResults.generate(6000, 0.05, 7);
        assertEquals(events.json(), SyntheticResults.generate(6000, 0.05, 7).json(), "seeded");
        assertTrue(events.duplicates() > 200 && events.duplicates() < 400, "about 5 % duplicates: " + events.duplicates());

        StatsState state = new StatsState();
        long counted = 0;
        Set<String> models = new HashSet<>();
        for (String json : events.json()) {
            JsonNode event = JSON.readTree(json);
            assertEquals("edit", event.get("type").asText());
            assertTrue(event.get("id").asText().matches("[0-9a-f]{32}"), json);
            models.add(event.get("model").asText());
            counted += state.add(Observation.read(json)) ? 1 : 0;
        }
        assertEquals(events.unique(6000), counted);
        assertEquals(6000 - events.duplicates(), counted);
        assertEquals(SyntheticResults.MODELS.size(), models.size());
        // Every (model, method, problem) group, 12 layers in each, and a few failed edits among them.
        assertEquals(SyntheticResults.MODELS.size() * 4 * 5, state.view().size());
        long failed = state.view().stream().mapToLong(StatsState.GroupView::failedEdits).sum();
        assertTrue(failed > 0 && failed < 100, "failed edits: " + failed);
        state.view().forEach(g -> assertEquals(12, g.analysis().get("rewrite").layers().size(), g.toString()));
        assertEquals(events.unique(1000), 1000 - events.duplicatesBefore()[1000]);
    }
}
