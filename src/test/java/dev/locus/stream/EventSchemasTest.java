package dev.locus.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.locus.editing.EditingConfig;
import dev.locus.editing.EditingProblem;
import dev.locus.editing.Essence;
import dev.locus.editing.FineTuneSettings;
import dev.locus.facts.Fact;
import dev.locus.facts.FactIntake;
import dev.locus.study.FactStudyRunner;
import dev.locus.study.StudySettings;
import dev.locus.testbed.Testbed;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every kind of event the library produces, made for real (results from {@link FactStudyRunner} on
 * the testbed model, dead letters as {@link DeadLetters} builds them, snapshots of a
 * {@link StatsState} fed those results), validates against its schema; broken records do not.
 */
class EventSchemasTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> METHODS = List.of("rome", "memit", "ft-1", "ft-5");
    private static final List<String> PROBLEMS = List.of("error_injection", "tracing_reversal", "fact_erasure",
            "fact_amplification", "fact_forcing");
    private static final Path CACHE = Path.of("target", "locus-cache");

    /** Results as the worker publishes them: ResultPublisher writes each event with a plain ObjectMapper. */
    private static final List<String> RESULTS = new ArrayList<>();

    @BeforeAll
    static void produceResults() throws Exception {
        List<Fact> facts = Testbed.GPT2.facts();
        Fact known = facts.get(0);
        // The same prompt with another relation's object: the model does not know it, so it is skipped.
        String otherObject = facts.stream().filter(f -> !f.relationId().equals(known.relationId())).findFirst().orElseThrow().targetTrue();
        Fact unknown = new Fact("schemas-unknown", known.subject(), known.prompt(), otherObject, known.targetNew(),
                known.paraphrasePrompts(), known.neighborhoodPrompts(), known.relationId());
        StudySettings.Tracing tracing = new StudySettings.Tracing(3, 1, Map.of(), Double.NaN, null, 0.02);
        StudySettings all = new StudySettings(StudySettings.Model.testbed(), new StudySettings.Edits(METHODS, PROBLEMS, new int[] {2}),
                tracing, new StudySettings.Editing("testbed", null, CACHE));
        // Trace-only: the known fact traced, the unknown one skipped, neither edited.
        Fact knownTraceOnly = new Fact("schemas-trace-only", known.subject(), known.prompt(), known.targetTrue(), null, null, null,
                known.relationId());
        Fact unknownTraceOnly = new Fact("schemas-trace-only-unknown", known.subject(), known.prompt(), otherObject, null, null, null, null);
        try (FactStudyRunner runner = FactStudyRunner.open(all, msg -> {})) {
            for (Fact fact : List.of(known, unknown, knownTraceOnly, unknownTraceOnly)) { // one known fact covers every method × problem
                runner.run(fact, event -> RESULTS.add(write(event)));
            }
        }
        // Edits with the essence metrics (target_score, essence, fluency) and their grid: plain and with the subject noised.
        StudySettings essence = new StudySettings(StudySettings.Model.testbed(),
                new StudySettings.Edits(List.of("rome"), List.of("error_injection", "fact_forcing"), new int[] {2}), tracing,
                new StudySettings.Editing("testbed", null, CACHE, 128, new StudySettings.EssenceSet(true, null, null, null)));
        try (FactStudyRunner runner = FactStudyRunner.open(essence, msg -> {})) {
            runner.run(known, event -> RESULTS.add(write(event)));
        }
        // A failed edit, provoked cheaply: FT-1 with a learning rate and a ball so large that the loss overflows.
        EditingConfig testbed = EditingConfig.testbed();
        Map<EditingProblem, FineTuneSettings> diverging = new EnumMap<>(EditingProblem.class);
        for (EditingProblem p : EditingProblem.values()) {
            diverging.put(p, new FineTuneSettings(1, 5, 1e30, 1e30, 0, 5));
        }
        Path config = CACHE.resolve("schemas-test-diverging-ft.json");
        Files.createDirectories(CACHE);
        JSON.writeValue(config.toFile(), new EditingConfig(testbed.rome(), testbed.memit(), diverging, testbed.ft5(), testbed.contextPrefixes()));
        // Under a published protocol's scaled structure, so that its grid (protocol, fact filter) is validated too.
        StudySettings failing = new StudySettings(StudySettings.Model.testbed(), "paper-gpt-j-scaled",
                new StudySettings.Edits(List.of("ft-1"), List.of("error_injection"), new int[] {2}), tracing,
                new StudySettings.Editing(config.toString(), null, CACHE));
        try (FactStudyRunner runner = FactStudyRunner.open(failing, msg -> {})) {
            runner.run(facts.get(2), event -> RESULTS.add(write(event)));
        }
    }

    @Test
    void everyResultValidatesAndAllKindsAreCovered() throws Exception {
        Set<String> kinds = new TreeSet<>();
        Set<String> methods = new TreeSet<>();
        Set<String> problems = new TreeSet<>();
        for (String result : RESULTS) {
            assertEquals(List.of(), EventSchemas.errors(EventSchemas.RESULTS, result), result);
            JsonNode event = JSON.readTree(result);
            String type = event.get("type").asText();
            // Each kind is also valid against its own schema, and only against that one.
            for (Map.Entry<String, String> kind : EventSchemas.RESULT_TYPES.entrySet()) {
                assertEquals(kind.getKey().equals(type), EventSchemas.errors(kind.getValue(), result).isEmpty(), kind + ": " + result);
            }
            if (type.equals("edit")) {
                JsonNode edit = event.get("edit");
                kinds.add("edit-" + edit.get("status").asText());
                methods.add(edit.get("method").asText());
                problems.add(edit.get("problem").asText());
            } else {
                kinds.add(type + (event.has("trace_only") ? "-trace-only" : ""));
            }
        }
        assertEquals(Set.of("trace", "skipped", "trace-trace-only", "skipped-trace-only", "edit-ok", "edit-failed"), kinds);
        assertEquals(new TreeSet<>(METHODS), methods);
        assertEquals(new TreeSet<>(PROBLEMS), problems);
        assertTrue(RESULTS.stream().anyMatch(r -> r.contains("\"rewrite_score\":\"NaN\"")), "a failed edit's scores are written as \"NaN\"");
        assertEquals(2, RESULTS.stream().filter(r -> r.contains("\"essence_score\":") && r.contains("\"essence\":{")).count(),
                "edits with the essence metrics, and their grid");
        assertTrue(RESULTS.stream().anyMatch(r -> r.contains("\"status\":\"ok\"") && !r.contains("target_score")), "and edits without");
    }

    @Test
    void factsValidate() {
        for (Fact fact : Testbed.GPT2.facts().subList(0, 50)) {
            EventSchemas.requireValid(EventSchemas.FACT, FactIntake.json(fact));
            EventSchemas.requireValid(EventSchemas.FACT, FactIntake.json(fact, List.of("testbed")));
            EventSchemas.requireValid(EventSchemas.FACT, FactIntake.json(new Fact(fact.id(), fact.subject(), fact.prompt(), fact.targetTrue(),
                    null, null, null, null)));
        }
    }

    @Test
    void deadLettersValidate() throws Exception {
        Fact fact = Testbed.GPT2.facts().get(0);
        FactIntake intake = new FactIntake(FactIntake.Limits.defaults());
        List<byte[]> bad = List.of(
                "this is not json".getBytes(StandardCharsets.UTF_8),
                new byte[] {'{', '"', 'i', 'd', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'},
                "{\"id\":\"x1\",\"subject\":\"A\",\"prompt\":\"A is\"}".getBytes(StandardCharsets.UTF_8),
                "[1, 2]".getBytes(StandardCharsets.UTF_8),
                FactIntake.json(new Fact("x2", "Nobody", fact.prompt(), fact.targetTrue(), "x", List.of(), List.of(), null))
                        .getBytes(StandardCharsets.UTF_8),
                new byte[0]);
        List<String> letters = new ArrayList<>();
        long offset = 0;
        for (byte[] message : bad) {
            FactIntake.Rejected rejected = assertInstanceOf(FactIntake.Rejected.class, intake.accept(message));
            String key = offset % 2 == 0 ? "key-" + offset : null; // absent keys too
            letters.add(write(DeadLetters.letter("intake", rejected.reason(), rejected.message(),
                    new ConsumerRecord<>("locus.facts", 0, offset++, key, message), "testbed")));
        }
        letters.add(write(DeadLetters.letter("intake", "unknown_model", "unknown model(s) [gpt-9]; known: [testbed]",
                new ConsumerRecord<>("locus.facts", 1, 7L, "k", FactIntake.json(fact, List.of("gpt-9")).getBytes(StandardCharsets.UTF_8)),
                "testbed")));
        // A tombstone, and an exception without a message at the worker stage.
        letters.add(write(DeadLetters.letter("worker", "invalid_for_model", null,
                new ConsumerRecord<String, byte[]>("locus.facts", 2, 9L, "k", null), "testbed")));
        letters.add(write(DeadLetters.letter("worker", "processing_failed", "IllegalStateException: boom",
                new ConsumerRecord<>("locus.facts", 0, 10L, null, FactIntake.json(fact).getBytes(StandardCharsets.UTF_8)), "testbed")));
        for (String letter : letters) {
            assertEquals(List.of(), EventSchemas.errors(EventSchemas.DEAD_LETTER, letter), letter);
        }
    }

    @Test
    void statsSnapshotsValidate() throws Exception {
        StatsState state = new StatsState();
        for (String result : RESULTS) {
            state.add(Observation.read(result));
        }
        Map<String, StatsState.GroupSnapshot> snapshots = state.snapshots("default", Map.of(0, (long) RESULTS.size(), 1, 0L),
                Instant.now().toString());
        // One group per method × problem, and the model's group for traces and skipped facts; the failing FT-1 run has a grid
        // of its own (another editing config), so its edit group and its traces' group are two more: grids are never pooled.
        // So has the run with the essence metrics: two edit groups and its traces' group.
        assertEquals(METHODS.size() * PROBLEMS.size() + 1 + 2 + 3, snapshots.size());
        long withEssence = snapshots.values().stream().filter(g -> g.analysis() != null && g.analysis().containsKey("essence")
                && g.analysis().containsKey("target") && g.analysis().containsKey("fluency")).count();
        assertEquals(2, withEssence, "the essence groups analyse target, essence and fluency, and only they");
        boolean sawNaN = false;
        for (Map.Entry<String, StatsState.GroupSnapshot> e : snapshots.entrySet()) {
            String snapshot = write(e.getValue());
            assertEquals(List.of(), EventSchemas.errors(EventSchemas.STATS_SNAPSHOT, snapshot), snapshot);
            sawNaN |= snapshot.contains("\"NaN\"");
        }
        assertTrue(sawNaN, "two observations at one layer leave correlations and empty layers' means undefined");
        assertTrue(snapshots.values().stream().anyMatch(g -> g.traceOnly() != null && g.traceOnly().facts() == 1
                && g.traceOnly().notAnalysed() == 1), "the trace-only facts' average is in the model's group");
        // A state restored from the snapshots writes valid snapshots again.
        StatsState restored = new StatsState();
        snapshots.values().forEach(restored::restore);
        for (StatsState.GroupSnapshot s : restored.snapshots("default", Map.of(), "2024-01-01T00:00:00Z").values()) {
            EventSchemas.requireValid(EventSchemas.STATS_SNAPSHOT, write(s));
        }
    }

    @Test
    void brokenRecordsFailWithAMessage() throws Exception {
        String edit = RESULTS.stream().filter(r -> r.contains("\"status\":\"ok\"")).findFirst().orElseThrow();

        ObjectNode missing = (ObjectNode) JSON.readTree(edit);
        missing.remove("grid_id");
        assertMentions(EventSchemas.errors(EventSchemas.RESULTS, missing.toString()), "grid_id");

        ObjectNode missingInside = (ObjectNode) JSON.readTree(edit);
        ((ObjectNode) missingInside.get("edit")).remove("tracing_value");
        assertMentions(EventSchemas.errors(EventSchemas.RESULTS, missingInside.toString()), "tracing_value");

        ObjectNode wrongType = (ObjectNode) JSON.readTree(edit);
        ((ObjectNode) wrongType.get("edit")).put("layer", "two");
        assertMentions(EventSchemas.errors(EventSchemas.RESULTS, wrongType.toString()), "/edit/layer");

        ObjectNode unknownField = (ObjectNode) JSON.readTree(edit);
        unknownField.put("colour", "blue");
        assertMentions(EventSchemas.errors(EventSchemas.RESULTS, unknownField.toString()), "colour");

        ObjectNode badEnum = (ObjectNode) JSON.readTree(edit);
        ((ObjectNode) badEnum.get("edit")).put("method", "lora");
        assertMentions(EventSchemas.errors(EventSchemas.RESULTS, badEnum.toString()), "/edit/method");

        ObjectNode badGrid = (ObjectNode) JSON.readTree(edit);
        ((ObjectNode) badGrid.get("grid")).remove("seed");
        assertMentions(EventSchemas.errors(EventSchemas.RESULTS, badGrid.toString()), "seed");

        // An ok edit has finite scores; NaN belongs to failed ones.
        ObjectNode nanScore = (ObjectNode) JSON.readTree(edit);
        ((ObjectNode) nanScore.get("edit")).put("rewrite_score", "NaN");
        assertMentions(EventSchemas.errors(EventSchemas.RESULTS, nanScore.toString()), "rewrite_score");

        // The essence metrics come together, only in successful edits.
        String withEssence = RESULTS.stream().filter(r -> r.contains("\"essence_score\":")).findFirst().orElseThrow();
        ObjectNode partial = (ObjectNode) JSON.readTree(withEssence);
        ((ObjectNode) partial.get("edit")).remove("fluency_post");
        assertMentions(EventSchemas.errors(EventSchemas.RESULTS, partial.toString()), "fluency_post");
        String failedEdit = RESULTS.stream().filter(r -> r.contains("\"status\":\"failed\"")).findFirst().orElseThrow();
        ObjectNode failedWithScore = (ObjectNode) JSON.readTree(failedEdit);
        ((ObjectNode) failedWithScore.get("edit")).put("target_score", 0.5);
        assertFalse(EventSchemas.errors(EventSchemas.RESULTS, failedWithScore.toString()).isEmpty(), "a failed edit has no target_score");
        ObjectNode badGridEssence = (ObjectNode) JSON.readTree(withEssence);
        ((ObjectNode) badGridEssence.get("grid").get("essence")).remove("top_k");
        assertMentions(EventSchemas.errors(EventSchemas.RESULTS, badGridEssence.toString()), "top_k");

        ObjectNode unknownType = (ObjectNode) JSON.readTree(edit);
        unknownType.put("type", "guess");
        assertMentions(EventSchemas.errors(EventSchemas.RESULTS, unknownType.toString()), "type");

        assertMentions(EventSchemas.errors(EventSchemas.RESULTS, "{\"type\":\"edit\""), "not JSON");
        assertMentions(EventSchemas.errors(EventSchemas.RESULTS, "{\"type\":\"edit\",\"type\":\"trace\"}"), "not JSON");

        DeadLetter letter = DeadLetters.letter("intake", "not_json", "no", new ConsumerRecord<>("locus.facts", 0, 0L, "k", new byte[] {1}),
                "testbed");
        ObjectNode wrongStage = (ObjectNode) JSON.readTree(write(letter));
        wrongStage.put("stage", "worker"); // not_json is an intake reason
        assertMentions(EventSchemas.errors(EventSchemas.DEAD_LETTER, wrongStage.toString()), "reason");
        ObjectNode noMessage = (ObjectNode) JSON.readTree(write(letter));
        noMessage.remove("message");
        assertMentions(EventSchemas.errors(EventSchemas.DEAD_LETTER, noMessage.toString()), "message");
        ObjectNode badTime = (ObjectNode) JSON.readTree(write(letter));
        badTime.put("received_at", "yesterday");
        assertMentions(EventSchemas.errors(EventSchemas.DEAD_LETTER, badTime.toString()), "received_at");

        StatsState state = new StatsState();
        for (String result : RESULTS) {
            state.add(Observation.read(result));
        }
        String snapshot = write(state.snapshots("default", Map.of(0, 1L), Instant.now().toString()).values().stream()
                .filter(s -> s.method().equals("rome")).findFirst().orElseThrow());
        ObjectNode wrongCount = (ObjectNode) JSON.readTree(snapshot);
        wrongCount.put("edits", 2.5);
        assertMentions(EventSchemas.errors(EventSchemas.STATS_SNAPSHOT, wrongCount.toString()), "edits");
        ObjectNode unknownMetric = (ObjectNode) JSON.readTree(snapshot);
        ((ObjectNode) unknownMetric.get("analysis")).set("speed", unknownMetric.get("analysis").get("rewrite"));
        assertMentions(EventSchemas.errors(EventSchemas.STATS_SNAPSHOT, unknownMetric.toString()), "speed");

        IllegalArgumentException thrown = assertThrows(IllegalArgumentException.class,
                () -> EventSchemas.requireValid(EventSchemas.RESULTS, missing.toString()));
        assertTrue(thrown.getMessage().contains(EventSchemas.EDIT_RESULT) && thrown.getMessage().contains("grid_id"), thrown.getMessage());
        assertThrows(IllegalArgumentException.class, () -> EventSchemas.errors("nonsense.schema.json", "{}"));
    }

    private static void assertMentions(List<String> errors, String what) {
        assertFalse(errors.isEmpty(), "expected an error about " + what);
        assertTrue(errors.stream().anyMatch(e -> e.contains(what)), "no error mentions " + what + ": " + errors);
        errors.forEach(e -> assertFalse(e.isBlank(), "an error without a message: " + errors));
    }

    private static String write(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
