package dev.locus.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.locus.app.EmbeddedKafkaResource;
import dev.locus.app.KafkaTestSupport;
import dev.locus.facts.Fact;
import dev.locus.facts.FactIntake;
import dev.locus.stats.LayerRegression;
import dev.locus.testbed.Testbed;
import dev.locus.web.OidcTestKeys;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The whole service on a real in-process broker: good facts in over HTTP, malformed ones straight
 * onto the topic; a result for every good fact, a dead letter (original bytes, reason) for every
 * bad one, metrics updated, and the live figures equal to a batch computation over the results.
 */
@QuarkusTest
@Tag("service")
@QuarkusTestResource(EmbeddedKafkaResource.class)
@QuarkusTestResource(OidcTestKeys.class)
class ServiceEndToEndTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TestHTTPResource("/")
    URI base;

    @Test
    void factsInResultsOutBadInputDeadLettered() throws Exception {
        List<Fact> good = Testbed.GPT2.facts().subList(20, 24);
        Fact template = good.get(0); // malformed variants of a good fact go first, so they do not queue behind model work
        Map<String, byte[]> bad = new LinkedHashMap<>();
        bad.put("not_json", "this is not json".getBytes(StandardCharsets.UTF_8));
        bad.put("invalid_utf8", new byte[] {'{', '"', 'i', 'd', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'});
        bad.put("schema", "{\"id\":\"x1\",\"subject\":\"A\",\"prompt\":\"A is\"}".getBytes(StandardCharsets.UTF_8));
        bad.put("subject_not_in_prompt", FactIntake.json(copy(template, "x2", "Nobody Atall", template.prompt(), "x")).getBytes(StandardCharsets.UTF_8));
        bad.put("empty_target", FactIntake.json(copy(template, "x3", template.subject(), template.prompt(), "   ")).getBytes(StandardCharsets.UTF_8));
        bad.put("prompt_too_long", FactIntake.json(copy(template, "x4", template.subject(), template.prompt() + " and".repeat(600), "x"))
                .getBytes(StandardCharsets.UTF_8));
        bad.put("message_too_large", ("{\"id\":\"" + "y".repeat(70_000) + "\"}").getBytes(StandardCharsets.UTF_8));
        bad.put("unknown_model", FactIntake.json(copy(template, "x5", template.subject(), template.prompt(), "x"), List.of("gpt-9"))
                .getBytes(StandardCharsets.UTF_8));
        Map<String, Double> rejectedBefore = rejectedByReason(); // other test classes share the application
        for (Map.Entry<String, byte[]> e : bad.entrySet()) {
            KafkaTestSupport.send("locus.facts", "bad-" + e.getKey(), e.getValue());
        }
        String batch = good.stream().map(FactIntake::json).collect(Collectors.joining("\n"));
        HttpResponse<String> accepted = post(batch, "test-key");
        assertEquals(202, accepted.statusCode(), accepted.body());

        // Dead letters: one per bad message, with its reason and exactly the bytes that were sent.
        List<ConsumerRecord<String, String>> letters = KafkaTestSupport.readUntil("locus.facts.dlq", Duration.ofSeconds(600),
                got -> got.stream().filter(r -> r.key() != null && r.key().startsWith("bad-")).count() >= bad.size());
        Map<String, JsonNode> byKey = new HashMap<>();
        for (ConsumerRecord<String, String> r : letters) {
            byKey.put(r.key(), JSON.readTree(r.value()));
        }
        for (Map.Entry<String, byte[]> e : bad.entrySet()) {
            JsonNode letter = byKey.get("bad-" + e.getKey());
            assertTrue(letter != null, "a dead letter for " + e.getKey());
            assertEquals(e.getKey(), letter.get("reason").asText(), letter.toString());
            assertEquals(Base64.getEncoder().encodeToString(e.getValue()), letter.get("original_base64").asText());
            assertEquals("intake", letter.get("stage").asText());
        }

        // Results: per good fact a trace (or a skipped event), then one edit per layer of the test grid (0, 4, 8).
        Set<String> goodIds = good.stream().map(Fact::id).collect(Collectors.toSet());
        List<ConsumerRecord<String, String>> results = KafkaTestSupport.readUntil("locus.results", Duration.ofSeconds(600),
                got -> complete(got, goodIds));
        assertTrue(complete(results, goodIds), "every good fact has all its results");
        List<JsonNode> edits = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        for (ConsumerRecord<String, String> r : results) {
            JsonNode event = JSON.readTree(r.value());
            assertEquals("testbed", r.key(), "results are keyed by model");
            assertTrue(ids.add(event.get("id").asText()), "result ids are unique");
            assertEquals(event.get("grid").get("layers").toString(), "[0,4,8]");
            if (event.get("type").asText().equals("edit")) {
                edits.add(event);
            }
        }

        // The live figures equal a batch least-squares fit of the same results.
        List<LayerRegression.Observation> observations = edits.stream()
                .filter(e -> e.get("edit").get("status").asText().equals("ok"))
                .map(e -> new LayerRegression.Observation(e.get("edit").get("layer").asInt(), e.get("edit").get("tracing_value").asDouble(),
                        e.get("edit").get("rewrite_score").asDouble())).toList();
        LayerRegression.Fit batchFit = LayerRegression.fit(observations, 12);
        JsonNode rewrite = awaitStats(observations.size());
        assertEquals(batchFit.layerR2(), rewrite.get("layer_r2").asDouble(), 1e-9);
        assertEquals(batchFit.tracingR2(), rewrite.get("tracing_r2").asDouble(), 1e-9);
        assertEquals(batchFit.bothR2(), rewrite.get("both_r2").asDouble(), 1e-9);

        String metrics = get("q/metrics").body();
        Map<String, Double> rejectedAfter = rejectedByReason();
        for (String reason : bad.keySet()) {
            assertEquals(1.0, rejectedAfter.getOrDefault(reason, 0.0) - rejectedBefore.getOrDefault(reason, 0.0), "rejected " + reason);
        }
        // Labelled with the version (by default the weights' fingerprint) and the grid, which are never pooled.
        String version = edits.get(0).get("model_version").asText();
        assertEquals(edits.get(0).get("model_fingerprint").asText(), version);
        assertTrue(metrics.contains("locus_r2{grid=\"" + edits.get(0).get("grid_id").asText() + "\",method=\"rome\",metric=\"rewrite\","
                + "model=\"testbed\",predictors=\"both\",problem=\"error_injection\",version=\"" + version + "\"}"), metrics);
        assertTrue(metrics.contains("locus_facts_completed_total{model=\"testbed\"}"));
        assertTrue(metrics.contains("kafka_consumer_"), "Kafka client metrics are exported too");
    }

    /**
     * A ROME known fact (known_1000's form, about a testbed fact the model knows) posted over HTTP is traced and not edited,
     * and its trace is in the model group's trace-only average on /api/stats and in the metrics.
     */
    @Test
    void aRomeKnownFactIsTracedNotEditedAndAveraged() throws Exception {
        Fact fact = Testbed.GPT2.facts().get(20);
        ObjectNode known = JSON.createObjectNode().put("known_id", 900_020).put("subject", fact.subject()).put("attribute", fact.targetTrue())
                .put("template", fact.prompt().replace(fact.subject(), "{}")).put("prediction", " " + fact.targetTrue())
                .put("prompt", fact.prompt()).put("relation_id", fact.relationId());
        HttpResponse<String> accepted = post(known.toString(), "test-key");
        assertEquals(202, accepted.statusCode(), accepted.body());
        assertEquals("known-900020", JSON.readTree(accepted.body()).get("ids").get(0).asText());

        JsonNode trace = traceOnlyResults(Duration.ofSeconds(600), got -> !got.isEmpty()).get(0);
        assertEquals("trace", trace.get("type").asText(), trace.toString());
        assertTrue(trace.get("trace_only").asBoolean());

        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        JsonNode average = null;
        while (average == null) {
            for (JsonNode g : JSON.readTree(get("api/stats").body()).get("groups")) {
                if (g.get("method").asText().equals("*") && g.get("model_version").asText().equals(trace.get("model_version").asText())
                        && g.get("grid_id").asText().equals(trace.get("grid_id").asText()) && g.path("trace_only").path("facts").asInt() >= 1) {
                    average = g.get("trace_only");
                }
            }
            assertTrue(average != null || System.nanoTime() < deadline, "the trace-only average on /api/stats");
            Thread.sleep(200);
        }
        assertEquals(6, average.get("token_groups").size());
        assertEquals(6, average.get("effect").get("mlp").size());
        assertEquals(12, average.get("layers").asInt());
        assertEquals(12, average.get("peak_layers").size());
        assertTrue(get("q/metrics").body().contains("locus_trace_only_facts{grid=\"" + trace.get("grid_id").asText() + "\",model=\"testbed\""));
        // By now, after the stats, an edit would have followed the trace (that none ever does, FactStudyRunnerTest shows).
        List<JsonNode> again = traceOnlyResults(Duration.ofSeconds(5), got -> false); // all there is after 5 s
        assertEquals(List.of("trace"), again.stream().map(e -> e.get("type").asText()).toList(), "a trace and no edit");
    }

    /** Results of the known fact posted above, once {@code done} holds for them or the timeout passes. */
    private static List<JsonNode> traceOnlyResults(Duration timeout, java.util.function.Predicate<List<JsonNode>> done) {
        java.util.function.Function<List<ConsumerRecord<String, String>>, List<JsonNode>> mine = got -> got.stream()
                .map(r -> {
                    try {
                        return JSON.readTree(r.value());
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                })
                .filter(e -> e.path("fact_id").asText().equals("known-900020")).toList();
        return mine.apply(KafkaTestSupport.readUntil("locus.results", timeout, got -> done.test(mine.apply(got))));
    }

    @Test
    void submissionsNeedAValidKeyAndBadBatchesAreRefusedWithReasons() throws Exception {
        String fact = FactIntake.json(Testbed.GPT2.facts().get(30));
        assertEquals(401, post(fact, null).statusCode());
        assertEquals(403, post(fact, "wrong").statusCode());
        assertEquals(401, postWithToken(fact, OidcTestKeys.forgedToken()).statusCode(), "a token signed by another key");
        assertEquals(403, postWithToken(fact, OidcTestKeys.token("reader")).statusCode(), "a token without the submit role");
        assertEquals(202, postWithToken(fact, OidcTestKeys.token("locus-submit")).statusCode(), "a valid OIDC token");
        HttpResponse<String> refused = post(fact + "\n{\"id\": 3}\nnot json", "test-key");
        assertEquals(400, refused.statusCode());
        JsonNode body = JSON.readTree(refused.body());
        assertEquals(2, body.get("lines").size(), refused.body());
        assertEquals("schema", body.get("lines").get(0).get("reason").asText());
        assertEquals("not_json", body.get("lines").get(1).get("reason").asText());
        assertEquals(200, get("q/health/live").statusCode());
        HttpResponse<String> ready = get("q/health/ready");
        for (int i = 0; i < 1500 && ready.statusCode() != 200; i++) { // ready once the worker's model is loaded (minutes on a loaded machine)
            Thread.sleep(200);
            ready = get("q/health/ready");
        }
        assertEquals(200, ready.statusCode(), ready.body());
    }

    /** locus_facts_rejected_total of the intake stage by reason, as /q/metrics has it now. */
    private Map<String, Double> rejectedByReason() throws Exception {
        Map<String, Double> out = new HashMap<>();
        java.util.regex.Matcher m = java.util.regex.Pattern
                .compile("locus_facts_rejected_total\\{model=\"testbed\",reason=\"([a-z_0-9]+)\",stage=\"intake\"\\} ([0-9.]+)")
                .matcher(get("q/metrics").body());
        while (m.find()) {
            out.put(m.group(1), Double.parseDouble(m.group(2)));
        }
        return out;
    }

    private static boolean complete(List<ConsumerRecord<String, String>> got, Set<String> factIds) {
        Map<String, Integer> perFact = new HashMap<>();
        for (ConsumerRecord<String, String> r : got) {
            try {
                JsonNode e = JSON.readTree(r.value());
                String type = e.get("type").asText();
                perFact.merge(e.get("fact_id").asText(), type.equals("skipped") ? 4 : 1, Integer::sum);
            } catch (Exception ex) {
                throw new IllegalStateException(ex);
            }
        }
        return factIds.stream().allMatch(id -> perFact.getOrDefault(id, 0) >= 4);
    }

    private JsonNode awaitStats(int observations) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            JsonNode stats = JSON.readTree(get("api/stats").body());
            for (JsonNode g : stats.get("groups")) {
                JsonNode rewrite = g.path("analysis").path("rewrite");
                if (g.get("method").asText().equals("rome") && rewrite.path("observations").asInt() == observations) {
                    return rewrite;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the aggregator did not reach " + observations + " observations: " + stats);
            }
            Thread.sleep(200);
        }
    }

    private static Fact copy(Fact f, String id, String subject, String prompt, String targetNew) {
        return new Fact(id, subject, prompt, f.targetTrue(), targetNew, f.paraphrasePrompts(), f.neighborhoodPrompts(), f.relationId());
    }

    private HttpResponse<String> post(String body, String key) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve("api/facts")).header("Content-Type", "application/x-ndjson")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) {
            request.header("X-API-Key", key);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> postWithToken(String body, String token) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(base.resolve("api/facts")).header("Content-Type", "application/x-ndjson")
                .header("Authorization", "Bearer " + token).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(base.resolve(path)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
