package dev.locus.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.locus.app.EmbeddedKafkaResource;
import dev.locus.app.KafkaTestSupport;
import dev.locus.deploy.MonitoringMetrics;
import dev.locus.editing.EditResult;
import dev.locus.facts.Fact;
import dev.locus.facts.FactIntake;
import dev.locus.stats.PairedBootstrap;
import dev.locus.stream.AggregatorProcess;
import dev.locus.stream.EventSchemas;
import dev.locus.stream.ResultsAggregator;
import dev.locus.stream.VersionComparisons;
import dev.locus.study.KnowledgeDiff;
import dev.locus.study.ResultEvent;
import dev.locus.study.VersionComparison;
import dev.locus.testbed.RewrittenTestbed;
import dev.locus.testbed.Testbed;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Continuous evaluation of model versions on the real in-process broker, workers in announced mode: two versions of the
 * testbed announced over HTTP (the second with a fact rewritten by ROME) are evaluated on the same facts, each in its own
 * consumer group; /api/compare equals the batch comparison of the results on the topic (1e-9) and names the rewritten
 * fact in its knowledge diff; an aggregator killed (SIGKILL) while results arrive and restarted ends with identical
 * figures; results of a withdrawn version, with weights not their version's or of a fact id resubmitted with other
 * content are dead letters; the page draws the
 * comparison; the locus_version_* gauges are exported.
 */
@QuarkusTest
@Tag("versions") // another test profile: a JVM of its own (see the pom)
@TestProfile(VersionEvaluationTest.AnnouncedVersions.class)
@QuarkusTestResource(EmbeddedKafkaResource.class)
class VersionEvaluationTest {
    private static final ObjectMapper JSON = new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private static final String REWRITTEN = "tb-0001";
    private static final int FACTS = 4;

    public static class AnnouncedVersions implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            // Two facts per turn, so the worker switches between the versions while they are evaluated.
            return Map.of("locus.worker.versions", "announced", "locus.worker.version-slice-facts", "2",
                    "mp.messaging.incoming.facts.enabled", "false", "locus.aggregator.compare-interval", "1s");
        }
    }

    @TestHTTPResource("/")
    URI base;

    @Test
    void twoVersionsAreEvaluatedOnTheSameFactsAndCompared() throws Exception {
        Path v2 = RewrittenTestbed.write(Testbed.GPT2, List.of(REWRITTEN), Files.createTempDirectory("locus-testbed-v2-").resolve("v2"),
                Path.of("target", "locus-cache"), System.err::println);
        assertEquals(202, post("api/models", "{\"name\":\"testbed\",\"version\":\"1\",\"checkpoint\":\"testbed\"}").statusCode());
        HttpResponse<String> second = post("api/models", "{\"name\":\"testbed\",\"version\":\"2\",\"checkpoint\":\"" + v2 + "\"}");
        assertEquals(202, second.statusCode(), second.body());
        assertEquals("1", JSON.readTree(second.body()).get("baseline").asText());

        // An aggregator in its own JVM counts the results as they come, and is killed midway.
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), AggregatorProcess.class.getName(), KafkaTestSupport.bootstrap(), "locus.results",
                "locus.stats", "crash-compare").redirectErrorStream(true).start();
        AtomicLong childCounted = new AtomicLong();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    if (line.startsWith("counted ")) {
                        childCounted.set(Long.parseLong(line.substring(8).trim()));
                    }
                }
            } catch (Exception ignored) {
                // killed
            }
        });
        reader.start();

        List<Fact> facts = Testbed.GPT2.facts().subList(0, FACTS);
        assertTrue(facts.stream().anyMatch(f -> f.id().equals(REWRITTEN)));
        HttpResponse<String> accepted = post("api/facts", facts.stream().map(FactIntake::json).collect(Collectors.joining("\n")));
        assertEquals(202, accepted.statusCode(), accepted.body());

        try {
            awaitTrue(() -> childCounted.get() >= 6, Duration.ofSeconds(300), "the child aggregator to count some results");
        } finally {
            child.destroyForcibly(); // SIGKILL, between snapshots or not
            child.waitFor();
        }
        long killedAt = childCounted.get();

        JsonNode versions = awaitJson("api/models", list -> statuses(list).equals(Map.of("1", "done", "2", "done")), Duration.ofSeconds(600),
                "both versions evaluated");
        for (JsonNode v : versions) {
            assertEquals(FACTS, v.get("facts_done").asLong(), v.toString());
            assertEquals(FACTS, v.get("facts_total").asLong(), v.toString());
            assertTrue(v.get("fingerprint").asText().matches("[0-9a-f]{16}"), v.toString());
        }
        assertTrue(!versions.get(0).get("fingerprint").equals(versions.get(1).get("fingerprint")), "a rewritten fact is other weights");

        // Progress comes from Kafka (the facts topic, each version's group), whatever process serves it.
        JsonNode progress = awaitJson("api/stats", st -> st.get("progress").get("completed").asLong() == FACTS, Duration.ofSeconds(30),
                "progress from the groups' offsets").get("progress");
        assertEquals(FACTS, progress.get("received").asLong(), progress.toString());
        for (String version : List.of("1", "2")) {
            assertEquals(FACTS, progress.get("groups").get("locus-version-testbed|" + version).get("completed").asLong(), progress.toString());
        }

        // The batch computation over the results on the topic, which the live comparison must equal.
        List<ResultEvent> results = new ArrayList<>();
        for (ConsumerRecord<String, String> r : KafkaTestSupport.readUntil("locus.results", Duration.ofSeconds(10), got -> false)) {
            EventSchemas.requireValid(EventSchemas.RESULTS, r.value());
            results.add(JSON.readValue(r.value(), ResultEvent.class));
        }
        Map<String, List<ResultEvent>> byVersion = results.stream().collect(Collectors.groupingBy(ResultEvent::modelVersion));
        for (String version : List.of("1", "2")) {
            assertEquals(facts.stream().map(Fact::id).sorted().toList(), byVersion.get(version).stream()
                    .filter(e -> !(e instanceof ResultEvent.Edit)).map(ResultEvent::factId).distinct().sorted().toList(),
                    "version " + version + " evaluated on every fact");
        }
        List<VersionComparison> batch = VersionComparison.compare(edits(byVersion.get("1")), edits(byVersion.get("2")),
                PairedBootstrap.DEFAULT_REPLICATES);
        KnowledgeDiff batchKnowledge = KnowledgeDiff.of(knowledge(byVersion.get("1")), knowledge(byVersion.get("2")),
                VersionComparisons.Settings.DEFAULT.knowledgeThreshold(), VersionComparisons.Settings.DEFAULT.exemplars());
        long editEvents = results.stream().filter(e -> e instanceof ResultEvent.Edit).count();
        awaitJson("api/stats", s -> {
            long edits = 0;
            for (JsonNode g : s.get("groups")) {
                edits += g.get("edits").asLong();
            }
            return edits == editEvents;
        }, Duration.ofSeconds(60), "the aggregator to count every edit");

        String compared = get("api/compare?model=testbed&candidate=2");
        EventSchemas.requireValid(EventSchemas.COMPARISON, compared);
        JsonNode live = JSON.readTree(compared);
        assertEquals("1", live.get("baseline").asText(), "the announced baseline");
        assertSameComparisons(batch, live.get("comparisons"));
        assertEquals(JSON.readTree(JSON.writeValueAsString(batchKnowledge)), live.get("knowledge"));
        Fact rewritten = facts.stream().filter(f -> f.id().equals(REWRITTEN)).findFirst().orElseThrow();
        JsonNode change = null;
        for (JsonNode e : live.get("knowledge").get("exemplars")) {
            if (e.get("fact_id").asText().equals(REWRITTEN)) {
                change = e;
            }
        }
        assertNotNull(change, "the rewritten fact is among the knowledge diff's exemplars: " + live.get("knowledge"));
        assertEquals(rewritten.targetTrue(), change.get("baseline_answer").asText(), change.toString());
        assertEquals(rewritten.targetNew(), change.get("candidate_answer").asText(), change.toString());
        assertTrue(change.get("candidate_p_true").asDouble() < change.get("baseline_p_true").asDouble() - 0.2, change.toString());

        // Per relation: the same comparison over the facts of one relation only.
        String relation = rewritten.relationId();
        long ofRelation = facts.stream().filter(f -> relation.equals(f.relationId())).count();
        assertEquals(ofRelation, live.get("relations").get(relation).asLong(), live.get("relations").toString());
        JsonNode byRelation = JSON.readTree(get("api/compare?model=testbed&candidate=2&relation=" + relation));
        EventSchemas.requireValid(EventSchemas.COMPARISON, JSON.writeValueAsString(byRelation));
        java.util.Set<String> relationFacts = facts.stream().filter(f -> relation.equals(f.relationId())).map(Fact::id).collect(Collectors.toSet());
        assertSameComparisons(VersionComparison.compare(
                edits(byVersion.get("1")).stream().filter(e -> relationFacts.contains(e.factId())).toList(),
                edits(byVersion.get("2")).stream().filter(e -> relationFacts.contains(e.factId())).toList(),
                PairedBootstrap.DEFAULT_REPLICATES), byRelation.get("comparisons"));
        assertEquals(ofRelation, byRelation.get("knowledge").get("facts").asLong());

        // The aggregator killed midway, restarted: the same figures exactly.
        try (ResultsAggregator restarted = new ResultsAggregator(Map.of("bootstrap.servers", KafkaTestSupport.bootstrap()), "locus.results",
                "locus.stats", "crash-compare", Duration.ofSeconds(1), v -> {}).start()) {
            awaitTrue(() -> restarted.state().edits("testbed", "1", live.get("baseline_grid").asText()).size()
                    + restarted.state().edits("testbed", "2", live.get("candidate_grid").asText()).size() == editEvents,
                    Duration.ofSeconds(60), "the restarted aggregator to catch up");
            VersionComparisons again = VersionComparisons.compute(restarted.state(), "testbed", "1", "2", null, null,
                    VersionComparisons.Settings.DEFAULT).orElseThrow();
            ObjectNode expected = live.deepCopy();
            ObjectNode actual = (ObjectNode) JSON.readTree(JSON.writeValueAsString(again));
            expected.remove("revision");
            actual.remove("revision");
            assertEquals(expected, actual, "identical figures after a SIGKILL at " + killedAt + " results counted");
            assertTrue(restarted.counted() < results.size(), "resumed from its snapshot (" + restarted.counted() + " read again)");
        }

        assertVersionMetrics(live);
        assertRefusedResultsAreDeadLetters(results);
        assertPageShowsComparison(live);
    }

    private static void assertSameComparisons(List<VersionComparison> batch, JsonNode live) {
        assertEquals(batch.size(), live.size());
        for (int i = 0; i < batch.size(); i++) {
            VersionComparison b = batch.get(i);
            JsonNode l = live.get(i);
            String what = b.method() + "/" + b.problem() + "/" + b.metric();
            assertEquals(b.method() + b.problem() + b.metric(), l.get("method").asText() + l.get("problem").asText() + l.get("metric").asText());
            assertEquals(b.layers().size(), l.get("layers").size(), what);
            for (int k = 0; k < b.layers().size(); k++) {
                VersionComparison.Layer bl = b.layers().get(k);
                JsonNode ll = l.get("layers").get(k);
                assertEquals(bl.layer(), ll.get("layer").asInt());
                assertClose(bl.baseline(), ll.get("baseline"), what);
                assertClose(bl.candidate(), ll.get("candidate"), what);
                assertInterval(bl.difference(), ll.get("difference"), what + " layer " + bl.layer());
            }
            assertInterval(b.overall(), l.get("overall"), what);
            assertEquals(b.verdict().label(), l.get("verdict").asText(), what);
            assertEquals(b.baselineBestLayer(), l.get("baseline_best_layer").asInt());
            assertEquals(b.candidateBestLayer(), l.get("candidate_best_layer").asInt());
            assertEquals(b.baselineTracingPeak(), l.get("baseline_tracing_peak").asInt());
            assertEquals(b.candidateTracingPeak(), l.get("candidate_tracing_peak").asInt());
            for (String side : List.of("baseline", "candidate")) {
                VersionComparison.Fit f = side.equals("baseline") ? b.baselineFit() : b.candidateFit();
                JsonNode fit = l.get(side + "_fit");
                assertInterval(f.layerR2(), fit.get("layer_r2"), what + " " + side + " R² layer");
                assertInterval(f.tracingR2(), fit.get("tracing_r2"), what);
                assertInterval(f.bothR2(), fit.get("both_r2"), what);
                assertInterval(f.gain(), fit.get("gain"), what);
            }
        }
    }

    private static void assertInterval(PairedBootstrap.Interval expected, JsonNode actual, String what) {
        assertEquals(expected.facts(), actual.get("facts").asLong(), what);
        assertClose(expected.mean(), actual.get("mean"), what);
        assertClose(expected.low(), actual.get("low"), what);
        assertClose(expected.high(), actual.get("high"), what);
    }

    private static void assertClose(double expected, JsonNode actual, String what) {
        double a = actual.isTextual() ? Double.parseDouble(actual.asText()) : actual.asDouble();
        if (Double.isNaN(expected)) {
            assertTrue(Double.isNaN(a), what + ": " + actual);
        } else {
            assertEquals(expected, a, 1e-9, what);
        }
    }

    private void assertVersionMetrics(JsonNode live) throws Exception {
        String difference = live.get("comparisons").get(0).get("overall").get("mean").asText();
        String metrics = awaitText("q/metrics", m -> m.contains("locus_version_verdict{") && m.contains("locus_version_difference{"),
                Duration.ofSeconds(30), "the locus_version_* gauges");
        String line = metrics.lines().filter(l -> l.startsWith("locus_version_difference{") && l.contains("candidate=\"2\"")
                && l.contains("metric=\"rewrite\"")).findFirst().orElseThrow(() -> new AssertionError(metrics));
        assertTrue(line.contains("baseline=\"1\"") && line.contains("model=\"testbed\""), line);
        assertEquals(Double.parseDouble(difference), Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)), 1e-12, line);
        // What the dashboard's version row and the regression alert read is what this service exports.
        java.util.Set<String> exported = MonitoringMetrics.exported(metrics);
        List<String> missing = MonitoringMetrics.used().stream().filter(n -> n.startsWith(MonitoringMetrics.VERSION_COMPARISON_PREFIX))
                .filter(n -> !exported.contains(n)).toList();
        assertTrue(missing.isEmpty(), "the dashboard or alerts use " + missing + ", which the service does not export");
        assertTrue(MonitoringMetrics.used().contains("locus_version_verdict"), "the regression alert reads the verdict");
    }

    /** A result made with other weights than its version's, and one of a withdrawn version: dead letters, not counted. */
    private void assertRefusedResultsAreDeadLetters(List<ResultEvent> results) throws Exception {
        assertEquals(202, post("api/models", "{\"name\":\"withdrawn-test\",\"version\":\"1\",\"checkpoint\":\"/no/such/checkpoint\"}").statusCode());
        JsonNode failed = awaitJson("api/models", l -> "failed".equals(statuses(l, "withdrawn-test").get("1")), Duration.ofSeconds(120),
                "the unloadable version to be marked failed");
        for (JsonNode v : failed) {
            if (v.get("announcement").get("name").asText().equals("withdrawn-test")) {
                assertTrue(v.get("reason").asText().contains("/no/such/checkpoint"), v.toString());
            }
        }
        KafkaTestSupport.send("locus.models", "withdrawn-test|1", null); // a tombstone withdraws it
        awaitJson("api/models", l -> !statuses(l, "withdrawn-test").containsKey("1"), Duration.ofSeconds(30), "the withdrawal");

        ObjectNode mismatched = (ObjectNode) JSON.readTree(JSON.writeValueAsString(results.stream().filter(e -> e instanceof ResultEvent.Edit && e.modelVersion().equals("2"))
                .findFirst().orElseThrow()));
        mismatched.put("id", "ab".repeat(16)).put("model_fingerprint", "0000000000000000");
        ObjectNode stale = mismatched.deepCopy().put("id", "cd".repeat(16)).put("model", "withdrawn-test").put("model_version", "1");
        String statsBefore = get("api/stats");
        KafkaTestSupport.send("locus.results", "testbed", JSON.writeValueAsBytes(mismatched));
        KafkaTestSupport.send("locus.results", "withdrawn-test", JSON.writeValueAsBytes(stale));
        List<ConsumerRecord<String, String>> letters = KafkaTestSupport.readUntil("locus.facts.dlq", Duration.ofSeconds(60),
                got -> got.stream().filter(r -> r.value().contains("\"stage\":\"aggregator\"")).count() >= 2);
        Map<String, JsonNode> byReason = new TreeMap<>();
        for (ConsumerRecord<String, String> r : letters) {
            EventSchemas.requireValid(EventSchemas.DEAD_LETTER, r.value());
            JsonNode letter = JSON.readTree(r.value());
            if (letter.get("stage").asText().equals("aggregator")) {
                byReason.put(letter.get("reason").asText(), letter);
            }
        }
        assertEquals(List.of("fingerprint_mismatch", "withdrawn_version"), List.copyOf(byReason.keySet()));
        assertEquals(mismatched, JSON.readTree(Base64.getDecoder().decode(byReason.get("fingerprint_mismatch").get("original_base64").asText())));
        assertTrue(byReason.get("fingerprint_mismatch").get("message").asText().contains("0000000000000000"));
        assertEquals(JSON.readTree(statsBefore).get("groups"), JSON.readTree(get("api/stats")).get("groups"), "neither was counted");

        // A fact id submitted again with other content: both versions study it (their groups see every record), and
        // the aggregator refuses every result of the second content (trace and edits), counting nothing of it.
        // (Not the rewritten fact: version 2 no longer knows it, so it would be a skipped event without edits there.)
        Fact first = Testbed.GPT2.facts().subList(0, FACTS).stream().filter(f -> !f.id().equals(REWRITTEN)).findFirst().orElseThrow();
        ObjectNode changed = (ObjectNode) JSON.readTree(FactIntake.json(first));
        changed.put("target_new", first.targetNew() + "ia");
        assertEquals(202, post("api/facts", JSON.writeValueAsString(changed)).statusCode());
        List<ConsumerRecord<String, String>> conflicts = KafkaTestSupport.readUntil("locus.facts.dlq", Duration.ofSeconds(300),
                got -> got.stream().filter(r -> r.value().contains("\"reason\":\"conflicting_fact\"")).count() >= 2 * (1 + 3));
        List<JsonNode> refused = new ArrayList<>();
        for (ConsumerRecord<String, String> r : conflicts) {
            JsonNode letter = JSON.readTree(r.value());
            if (letter.get("reason").asText().equals("conflicting_fact")) {
                EventSchemas.requireValid(EventSchemas.DEAD_LETTER, r.value());
                refused.add(letter);
            }
        }
        assertEquals(2 * (1 + 3), refused.size(), "each version's trace and 3 edits of the second content");
        assertTrue(refused.get(0).get("message").asText().contains("fact " + first.id() + " was counted before with other content"));
        awaitJson("api/models", l -> statuses(l).equals(Map.of("1", "done", "2", "done")), Duration.ofSeconds(60), "the resubmission studied");
        assertEquals(JSON.readTree(statsBefore).get("groups"), JSON.readTree(get("api/stats")).get("groups"), "nothing of it counted");
        JsonNode rejected = awaitJson("api/stats", st -> st.get("progress").get("rejected_by_reason").path("conflicting_fact").asLong() == 2 * (1 + 3),
                Duration.ofSeconds(30), "the dead letters counted by reason").get("progress");
        assertEquals(1, rejected.get("rejected_by_reason").get("fingerprint_mismatch").asLong(), rejected.toString());
        assertEquals(1, rejected.get("rejected_by_reason").get("withdrawn_version").asLong(), rejected.toString());
        assertEquals(FACTS + 1, rejected.get("received").asLong(), "the resubmission is a fact on the topic too");
    }

    private void assertPageShowsComparison(JsonNode live) throws Exception {
        Browser.require();
        try (Browser browser = Browser.start()) {
            browser.open(base.resolve("/#model=testbed&version=2&method=rome&problem=error_injection&metric=rewrite").toString());
            browser.await("return +document.querySelector('[data-chart=comparison]').dataset.points >= 3"
                    + " && document.querySelector('#knowledge tr[data-fact=\"" + REWRITTEN + "\"]') !== null", Duration.ofSeconds(60),
                    "the page to draw the comparison and list the rewritten fact");
            assertEquals("1", browser.script("return document.getElementById('baseline').value").asText(), "the announced baseline");
            assertEquals("2", browser.script("return document.getElementById('candidate').value").asText());
            for (JsonNode c : live.get("comparisons")) {
                String metric = c.get("metric").asText();
                String row = "#verdicts tr[data-metric=" + metric + "] ";
                assertEquals(c.get("verdict").asText(), browser.script("return document.querySelector('" + row + "td[data-stat=verdict]').textContent").asText());
                double shown = Double.parseDouble(browser.script("return document.querySelector('" + row + "td[data-stat=difference]').textContent")
                        .asText().replace('\u2212', '-'));
                assertEquals(c.get("overall").get("mean").asDouble(), shown, 0.0005 + 1e-12, metric);
            }
            assertEquals(live.get("comparisons").get(0).get("layers").size(),
                    browser.script("return document.querySelectorAll('[data-chart=comparison] [data-series=candidate] circle').length").asInt());
        }
    }

    private static List<EditResult> edits(List<ResultEvent> events) {
        return events.stream().filter(e -> e instanceof ResultEvent.Edit).map(e -> ((ResultEvent.Edit) e).edit()).toList();
    }

    private static Map<String, KnowledgeDiff.Knowledge> knowledge(List<ResultEvent> events) {
        Map<String, KnowledgeDiff.Knowledge> out = new TreeMap<>();
        for (ResultEvent e : events) {
            if (e instanceof ResultEvent.Trace t) {
                out.put(t.factId(), new KnowledgeDiff.Knowledge(t.trace().pClean(), t.answer(), t.relationId()));
            } else if (e instanceof ResultEvent.Skipped s) {
                out.put(s.factId(), new KnowledgeDiff.Knowledge(s.pClean(), s.answer(), s.relationId()));
            }
        }
        return out;
    }

    private static Map<String, String> statuses(JsonNode list) {
        return statuses(list, "testbed");
    }

    private static Map<String, String> statuses(JsonNode list, String model) {
        Map<String, String> out = new TreeMap<>();
        for (JsonNode v : list) {
            if (v.get("announcement").get("name").asText().equals(model)) {
                out.put(v.get("announcement").get("version").asText(), v.get("status").asText());
            }
        }
        return out;
    }

    private JsonNode awaitJson(String path, Predicate<JsonNode> condition, Duration timeout, String what) throws Exception {
        return JSON.readTree(awaitText(path, body -> {
            try {
                return condition.test(JSON.readTree(body));
            } catch (Exception e) {
                return false;
            }
        }, timeout, what));
    }

    private String awaitText(String path, Predicate<String> condition, Duration timeout, String what) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = null;
        while (System.nanoTime() < deadline) {
            last = get(path);
            if (condition.test(last)) {
                return last;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for " + what + "; " + path + ": " + last);
    }

    private static void awaitTrue(java.util.function.BooleanSupplier condition, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for " + what);
            }
            Thread.sleep(100);
        }
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(base.resolve(path)).header("Content-Type", path.equals("api/facts") ? "application/x-ndjson"
                : "application/json").header("X-API-Key", "test-key").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private String get(String path) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), path + ": " + r.body());
        return r.body();
    }
}
