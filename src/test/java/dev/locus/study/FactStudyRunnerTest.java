package dev.locus.study;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.locus.SharedFiles;
import dev.locus.facts.Fact;
import dev.locus.facts.FactFiles;
import dev.locus.testbed.Testbed;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The service's study runs on the Llama testbed named as locus.model.dir names it, with its own facts' σ and corpus. */
class FactStudyRunnerTest {

    @Test
    void theLlamaTestbedByName() {
        StudySettings settings = new StudySettings(new StudySettings.Model(Path.of("testbed-llama"), null, "v1", "cpu"),
                new StudySettings.Edits(List.of("rome", "ft-1"), List.of("error_injection"), new int[] {1}),
                new StudySettings.Tracing(3, 1, Map.of(), Double.NaN, null, 0.02),
                new StudySettings.Editing("testbed", null, Path.of("target", "locus-cache")));
        List<ResultEvent> events = new ArrayList<>();
        try (FactStudyRunner runner = FactStudyRunner.open(settings, message -> {})) {
            assertEquals("testbed-llama", runner.modelName());
            assertEquals("llama", runner.model().dimensions().family());
            runner.run(Testbed.LLAMA.facts().get(100), events::add);
        }
        assertEquals(3, events.size(), "a trace and two edits");
        assertInstanceOf(ResultEvent.Trace.class, events.get(0));
        for (ResultEvent e : events) {
            assertEquals("testbed-llama", e.model());
            assertEquals("v1", e.modelVersion());
        }
        for (ResultEvent e : events.subList(1, 3)) {
            assertEquals("ok", ((ResultEvent.Edit) e).edit().status());
        }
    }

    @Test
    void aPublishedProtocolInOneSettingScaledToTheTestbedWithItsFactFilter() {
        StudySettings settings = new StudySettings(new StudySettings.Model(null, null, null, "cpu"), "paper-gpt-j-scaled",
                new StudySettings.Edits(List.of("ft-5"), null, new int[] {3}),
                // p_clean's check off, so that the counterfactual below meets the continuation's
                new StudySettings.Tracing(null, 1, Map.of(), Double.NaN, null, 0.0),
                new StudySettings.Editing(null, null, Path.of("target", "locus-cache"), EditingStudy.DEFAULT_BATCH_ROWS,
                        new StudySettings.EssenceSet(null, 2, 12, null)));
        List<ResultEvent> events = new ArrayList<>();
        try (FactStudyRunner runner = FactStudyRunner.open(settings, message -> {})) {
            Grid grid = runner.grid();
            assertEquals("paper-gpt-j-scaled", grid.protocol());
            assertEquals(List.of("ft-5"), grid.methods(), "set: overrides the protocol");
            assertEquals(dev.locus.editing.EditingProblem.labels(), grid.problems(), "the protocol's");
            assertEquals(36, grid.knownContinuation());
            assertEquals(0.0, grid.minPClean(), "set: the protocol's is 0.02");
            assertEquals(true, grid.highDenominator());
            assertEquals(Map.of("hidden", 1, "mlp", 2, "attn", 2), grid.windows(), "the published 5 scaled to 12 of 28 layers");
            assertEquals("testbed", grid.editingConfig());
            assertEquals(new Grid.Essence(2, 12, 5), grid.essence(), "the protocol's essence metrics, shorter as set");
            runner.run(Testbed.GPT2.facts().get(100), events::add);
            Fact unknown = Testbed.GPT2.facts().get(101);
            Fact asIfTrue = new Fact(unknown.id(), unknown.subject(), unknown.prompt(), unknown.targetNew(), unknown.targetTrue(),
                    unknown.paraphrasePrompts(), unknown.neighborhoodPrompts(), unknown.relationId());
            runner.run(asIfTrue, events::add);
        }
        assertInstanceOf(ResultEvent.Trace.class, events.get(0));
        List<ResultEvent.Edit> edits = events.stream().filter(ResultEvent.Edit.class::isInstance).map(ResultEvent.Edit.class::cast).toList();
        assertEquals(5, edits.size(), "ft-5 at layer 3 for each problem");
        for (ResultEvent.Edit e : edits) {
            assertArrayEquals(new int[] {2, 3}, e.edit().editedLayers(), "window 2 (5 × 12 / 28) at layer 3");
            assertEquals("ft-5", e.edit().method(), "the condition's name, not its scaled window's");
        }
        ResultEvent.Skipped skipped = assertInstanceOf(ResultEvent.Skipped.class, events.get(events.size() - 1));
        assertTrue(skipped.reason().contains("is not in the model's greedy 36-token continuation"), skipped.reason());
    }

    @Test
    void aPublishedProtocolRefusesAModelOfAnotherDepth() {
        StudySettings settings = new StudySettings(new StudySettings.Model(null, null, null, "cpu"), "paper-gpt2-xl",
                new StudySettings.Edits(null, null, null), new StudySettings.Tracing(null, 1, Map.of(), Double.NaN, null, null),
                new StudySettings.Editing(null, null, Path.of("target", "locus-cache")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FactStudyRunner.open(settings, message -> {}));
        assertEquals("protocol paper-gpt2-xl is the published run on a 48-layer model; this model has 12 layers: use "
                + "paper-gpt2-xl-scaled for its structure scaled to 12 layers", e.getMessage());
    }

    /**
     * A trace-only fact (a ROME known fact's form: no counterfactual) is traced, with the same not-analysed rule, and never
     * edited, though the grid has edits: one marked trace, or one marked skipped event, with ids as deterministic as others'.
     */
    @Test
    void aTraceOnlyFactIsTracedAndNotEdited() {
        StudySettings settings = new StudySettings(new StudySettings.Model(Path.of("testbed"), null, "v1", "cpu"),
                new StudySettings.Edits(List.of("ft-1"), List.of("error_injection"), new int[] {0, 1}),
                new StudySettings.Tracing(3, 1, Map.of(), Double.NaN, null, 0.02),
                new StudySettings.Editing("testbed", null, Path.of("target", "locus-cache")));
        Fact known = traceOnly(Testbed.GPT2.facts().get(100), null);
        Fact unknown = traceOnly(Testbed.GPT2.facts().get(100), Testbed.GPT2.facts().get(101).targetTrue());
        List<ResultEvent> events = new ArrayList<>();
        List<ResultEvent> again = new ArrayList<>();
        List<ResultEvent> skipped = new ArrayList<>();
        try (FactStudyRunner runner = FactStudyRunner.open(settings, message -> {})) {
            runner.run(known, events::add);
            runner.run(known, again::add);
            runner.run(unknown, skipped::add);
        }
        assertEquals(1, events.size(), "only the trace: " + events);
        ResultEvent.Trace trace = assertInstanceOf(ResultEvent.Trace.class, events.get(0));
        assertEquals(Boolean.TRUE, trace.traceOnly());
        assertEquals(known.id(), trace.factId());
        assertTrue(trace.trace().pClean() >= 0.02, "the testbed knows its own fact: " + trace.trace().pClean());
        assertEquals(trace.id(), again.get(0).id(), "a redelivered fact's result has the same id");

        assertEquals(1, skipped.size(), "only the skipped event: " + skipped);
        ResultEvent.Skipped s = assertInstanceOf(ResultEvent.Skipped.class, skipped.get(0));
        assertEquals(Boolean.TRUE, s.traceOnly());
        assertNotEquals(trace.id(), s.id());
    }

    /**
     * Real known_1000 records through the study on the testbed: its invented world does not know them, so each is one
     * trace-only skipped event, with no error and no edit.
     */
    @Test
    void romeKnownFactsOnTheTestbedAreNotAnalysed() throws Exception {
        List<Fact> known = FactFiles.read(SharedFiles.require("data/known_1000.json")).subList(0, 3);
        StudySettings settings = new StudySettings(new StudySettings.Model(Path.of("testbed"), null, "v1", "cpu"),
                new StudySettings.Edits(List.of("ft-1"), List.of("error_injection"), new int[] {0}),
                new StudySettings.Tracing(3, 1, Map.of(), Double.NaN, null, 0.02),
                new StudySettings.Editing("testbed", null, Path.of("target", "locus-cache")));
        try (FactStudyRunner runner = FactStudyRunner.open(settings, message -> {})) {
            for (Fact fact : known) {
                List<ResultEvent> events = new ArrayList<>();
                runner.run(fact, events::add);
                assertEquals(1, events.size(), fact.id() + ": " + events);
                ResultEvent.Skipped skipped = assertInstanceOf(ResultEvent.Skipped.class, events.get(0), fact.id());
                assertEquals(Boolean.TRUE, skipped.traceOnly());
                assertEquals(fact.id(), skipped.factId());
            }
        }
    }

    /** {@code fact} without its counterfactual and neighbours, with {@code targetTrue} instead of its own if given. */
    private static Fact traceOnly(Fact fact, String targetTrue) {
        return new Fact(fact.id() + (targetTrue == null ? "" : "-wrong"), fact.subject(), fact.prompt(),
                targetTrue == null ? fact.targetTrue() : targetTrue, null, null, null, fact.relationId());
    }
}
