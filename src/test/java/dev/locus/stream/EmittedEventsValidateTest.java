package dev.locus.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.app.EmbeddedKafkaResource;
import dev.locus.app.KafkaTestSupport;
import dev.locus.facts.Fact;
import dev.locus.facts.FactIntake;
import dev.locus.testbed.Testbed;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * What the running service actually emits validates against the schemas: every record on
 * {@code locus.results}, {@code locus.facts.dlq} and {@code locus.stats}, and every fact on
 * {@code locus.facts} that a worker accepted, after facts came in over HTTP and a malformed
 * message went straight onto the topic.
 */
@QuarkusTest
@Tag("service")
@QuarkusTestResource(EmbeddedKafkaResource.class)
class EmittedEventsValidateTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final String BAD_KEY = "schemas-malformed";

    @TestHTTPResource("/")
    URI base;

    @Test
    void everyEmittedRecordValidatesAgainstItsSchema() throws Exception {
        List<Fact> good = List.of(Testbed.GPT2.facts().get(60), Testbed.GPT2.facts().get(61));
        HttpResponse<String> accepted = HTTP.send(HttpRequest.newBuilder(base.resolve("api/facts"))
                .header("Content-Type", "application/x-ndjson").header("X-API-Key", "test-key")
                .POST(HttpRequest.BodyPublishers.ofString(good.stream().map(FactIntake::json).collect(Collectors.joining("\n"))))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(202, accepted.statusCode(), accepted.body());
        KafkaTestSupport.send("locus.facts", BAD_KEY, "{\"id\":\"schemas-bad\",\"subject\":5}".getBytes(StandardCharsets.UTF_8));
        // A ROME known fact straight onto the topic, in known_1000's form: trace-only.
        Fact knownFact = Testbed.GPT2.facts().get(62);
        String known = JSON.createObjectNode().put("known_id", 700_062).put("subject", knownFact.subject())
                .put("attribute", knownFact.targetTrue()).put("template", knownFact.prompt().replace(knownFact.subject(), "{}"))
                .put("prompt", knownFact.prompt()).toString();
        KafkaTestSupport.send("locus.facts", "known-700062", known.getBytes(StandardCharsets.UTF_8));

        // Wait for the facts' results (a trace or skipped event, then the test grid's three edits each; the known fact's trace only),
        // the malformed message's dead letter, and a snapshot that covers all of the results.
        Set<String> goodIds = new HashSet<>(good.stream().map(Fact::id).toList());
        goodIds.add("known-700062");
        List<ConsumerRecord<String, String>> results = KafkaTestSupport.readUntil("locus.results", Duration.ofSeconds(600),
                got -> complete(got, goodIds));
        assertTrue(complete(results, goodIds), "every fact has all its results");
        List<ConsumerRecord<String, String>> letters = KafkaTestSupport.readUntil("locus.facts.dlq", Duration.ofSeconds(120),
                got -> got.stream().anyMatch(r -> BAD_KEY.equals(r.key())));
        assertTrue(letters.stream().anyMatch(r -> BAD_KEY.equals(r.key())), "the malformed message is dead-lettered");
        Map<Integer, Long> covered = new HashMap<>();
        for (ConsumerRecord<String, String> r : results) {
            if (goodIds.contains(json(r).path("fact_id").asText())) {
                covered.merge(r.partition(), r.offset() + 1, Math::max);
            }
        }
        List<ConsumerRecord<String, String>> stats = KafkaTestSupport.readUntil("locus.stats", Duration.ofSeconds(120),
                got -> got.stream().anyMatch(r -> covers(r, covered)));
        assertTrue(stats.stream().anyMatch(r -> covers(r, covered)), "a snapshot covers every result: " + covered);

        // Results: valid, each against the schema of its type, and keyed by model.
        Set<String> types = new HashSet<>();
        Set<String> resultFacts = new HashSet<>();
        for (ConsumerRecord<String, String> r : results) {
            EventSchemas.requireValid(EventSchemas.RESULTS, r.value());
            JsonNode event = json(r);
            assertEquals(event.get("model").asText(), r.key());
            types.add(event.get("type").asText());
            resultFacts.add(event.get("fact_id").asText());
        }
        assertTrue(types.contains("edit"), "edits among the results: " + types);

        // Dead letters, ours among them, with the reason the malformed message deserves.
        Set<String> deadLettered = new HashSet<>();
        for (ConsumerRecord<String, String> r : letters) {
            EventSchemas.requireValid(EventSchemas.DEAD_LETTER, r.value());
            JsonNode letter = json(r);
            deadLettered.add(letter.get("source_topic").asText() + "|" + letter.get("source_partition").asInt() + "|"
                    + letter.get("source_offset").asLong());
            if (BAD_KEY.equals(r.key())) {
                assertEquals("schema", letter.get("reason").asText(), r.value());
            }
        }

        // Snapshots: valid, and keyed aggregator|model|version|grid|method|problem.
        for (ConsumerRecord<String, String> r : stats) {
            EventSchemas.requireValid(EventSchemas.STATS_SNAPSHOT, r.value());
            JsonNode s = json(r);
            assertEquals(String.join("|", s.get("aggregator").asText(), s.get("model").asText(), s.get("model_version").asText(),
                    s.get("grid_id").asText(), s.get("method").asText(), s.get("problem").asText()), r.key());
        }

        // Facts a worker accepted (it published results for them) are valid in the form they arrived in.
        FactIntake intake = new FactIntake(FactIntake.Limits.defaults());
        List<ConsumerRecord<String, String>> facts = KafkaTestSupport.readUntil("locus.facts", Duration.ofSeconds(10),
                got -> got.stream().anyMatch(r -> BAD_KEY.equals(r.key())));
        Set<String> validated = new HashSet<>();
        for (ConsumerRecord<String, String> r : facts) {
            if (r.value() == null) {
                continue; // a tombstone is no fact
            }
            if (deadLettered.contains(r.topic() + "|" + r.partition() + "|" + r.offset())) {
                assertFalse(goodIds.contains(r.key()), "a good fact was dead-lettered: " + r.value());
                continue;
            }
            if (intake.accept(r.value().getBytes(StandardCharsets.UTF_8)) instanceof FactIntake.Accepted a
                    && resultFacts.contains(a.fact().id())) {
                EventSchemas.requireValid(EventSchemas.forFactFormat(a.format()), r.value());
                validated.add(a.fact().id());
            }
        }
        assertTrue(validated.containsAll(goodIds), "the submitted facts were checked: " + validated);
    }

    private static boolean complete(List<ConsumerRecord<String, String>> got, Set<String> factIds) {
        Map<String, Integer> perFact = new HashMap<>();
        for (ConsumerRecord<String, String> r : got) {
            JsonNode e = json(r);
            boolean last = e.path("type").asText().equals("skipped") || e.path("trace_only").asBoolean(); // nothing follows it
            perFact.merge(e.path("fact_id").asText(), last ? 4 : 1, Integer::sum);
        }
        return factIds.stream().allMatch(id -> perFact.getOrDefault(id, 0) >= 4);
    }

    /** A snapshot of an edit group whose offsets are past every result in {@code offsets}. */
    private static boolean covers(ConsumerRecord<String, String> snapshot, Map<Integer, Long> offsets) {
        JsonNode s = json(snapshot);
        if (s.path("method").asText("*").equals("*")) {
            return false;
        }
        JsonNode at = s.path("results_offsets");
        return offsets.entrySet().stream().allMatch(e -> at.path(e.getKey().toString()).asLong(-1) >= e.getValue());
    }

    private static JsonNode json(ConsumerRecord<String, String> r) {
        try {
            return JSON.readTree(r.value());
        } catch (Exception e) {
            throw new IllegalStateException("not JSON on " + r.topic() + ": " + r.value(), e);
        }
    }
}
