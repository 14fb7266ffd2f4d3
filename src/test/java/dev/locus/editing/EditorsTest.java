package dev.locus.editing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.locus.facts.Fact;
import dev.locus.model.LanguageModel;
import dev.locus.testbed.Testbed;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** MEMIT and constrained fine-tuning on the testbed: what they change, and that they move the target. */
class EditorsTest {
    private static LanguageModel lm;
    private static Fact fact;

    @BeforeAll
    static void load() {
        lm = Testbed.GPT2.load();
        fact = Testbed.GPT2.facts().get(1);
    }

    @AfterAll
    static void close() {
        lm.close();
    }

    private static double pNew() {
        return lm.targetProbs(List.of(fact.prompt()), List.of(fact.targetNew()))[0];
    }

    @Test
    void fineTuningStaysInsideTheEpsilonBallOfEveryLayerOfItsWindow() {
        double epsilon = 1e-3;
        FineTuneEditor ft5 = new FineTuneEditor(lm, FineTuneSettings.of(5, 10, epsilon));
        double before = pNew();
        float[][] originals = new float[lm.dimensions().layers()][];
        for (int l = 0; l < originals.length; l++) {
            originals[l] = lm.model().weights().get(lm.model().editSite(l).weightName()).toFloatArray();
        }
        try (Editor.Applied edit = ft5.apply(EditTask.raise(fact.prompt(), fact.subject(), fact.targetNew()), 0)) {
            assertArrayEquals(new int[] {0, 1, 2}, edit.layers(), "window 5 around layer 0, clipped");
            for (int l = 0; l < originals.length; l++) {
                float[] now = lm.model().weights().get(lm.model().editSite(l).weightName()).toFloatArray();
                double moved = 0;
                for (int i = 0; i < now.length; i++) {
                    moved = Math.max(moved, Math.abs(now[i] - originals[l][i]));
                }
                if (l <= 2) {
                    assertTrue(moved > 0 && moved <= epsilon * 1.0001, "layer " + l + " moved " + moved);
                } else {
                    assertEquals(0, moved, "layer " + l + " is outside the window");
                }
            }
            assertTrue(pNew() > before, "fine-tuning raises p(target_new)");
        }
    }

    @Test
    void fineTuningForFactForcingSumsItsLossOverNoiseDrawsTheFirstOfWhichIsTheEditsOwn() {
        SubjectNoise noise = new SubjectNoise(7, 0.2, 8, lm.dimensions().width());
        EditTask forcing = new EditTask(fact.prompt(), fact.subject(), fact.targetTrue(), true, noise);
        // Fixed steps (no skipping): the same start, so the loss of one draw is the first copy's part of the summed loss.
        FineTuneSettings one = new FineTuneSettings(1, 3, 5e-4, 1e-2, 0, 5);
        double single;
        double summed;
        try (Editor.Applied edit = new FineTuneEditor(lm, one).apply(forcing, 2)) {
            single = edit.loss();
        }
        try (Editor.Applied edit = new FineTuneEditor(lm, one.withNoiseSamples(3)).apply(forcing, 2)) {
            summed = edit.loss();
        }
        assertTrue(summed > single * 1.5 && Double.isFinite(summed), "three copies' losses summed: " + summed + " vs " + single);
        float[] three = dev.locus.model.NoiseSource.gaussian(7).draw(3, 8, lm.dimensions().width(), 0.2);
        float[] first = dev.locus.model.NoiseSource.gaussian(7).draw(1, 8, lm.dimensions().width(), 0.2);
        assertArrayEquals(first, java.util.Arrays.copyOf(three, first.length), "copy 0 is the edit's own draw");
        assertEquals(1, one.copies(), "unset: one draw");
    }

    @Test
    void scoresOfTheFirstPromptsOnlyAsTheAuthorsCodeScoresThem() {
        FineTuneEditor ft = new FineTuneEditor(lm, FineTuneSettings.of(1, 5, 1e-3));
        EditEvaluator first = new EditEvaluator(lm, 0.2, 1, Essence.Settings.off(), 1, null);
        EditResult r = first.evaluate(first.setup(fact, EditingProblem.ERROR_INJECTION), ft, 2, 0);
        assertTrue(r.paraphrasePost().size() > 1 && r.neighborhoodPost().size() > 1, "every prompt measured");
        assertEquals(EditingProblem.ERROR_INJECTION.rewriteScore(r.paraphrasePre().get(0), r.paraphrasePost().get(0)), r.paraphraseScore(), 1e-15);
        assertEquals(EditingProblem.neighbourhoodScore(r.neighborhoodPre().get(0), r.neighborhoodPost().get(0)), r.neighborhoodScore(), 1e-15);
        EditEvaluator all = new EditEvaluator(lm, 0.2, 1);
        EditResult every = all.evaluate(all.setup(fact, EditingProblem.ERROR_INJECTION), ft, 2, 0);
        assertEquals(r.paraphrasePost(), every.paraphrasePost(), "the same edit");
        double mean = 0;
        for (int i = 0; i < every.neighborhoodPost().size(); i++) {
            mean += EditingProblem.neighbourhoodScore(every.neighborhoodPre().get(i), every.neighborhoodPost().get(i)) / every.neighborhoodPost().size();
        }
        assertEquals(mean, every.neighborhoodScore(), 1e-15);
        // Erasing by fine-tuning towards the counterfactual's opposite: the authors floor a raising score at 2e-8.
        EditEvaluator floored = new EditEvaluator(lm, 0.2, 1, Essence.Settings.off(), null, 2e-8);
        EditEvaluator.Setup amplify = floored.setup(fact, EditingProblem.FACT_AMPLIFICATION);
        EditTask lower = new EditTask(fact.prompt(), fact.subject(), fact.targetTrue(), false, null);
        EditResult down = floored.evaluate(amplify, "ft-1", ft.oneAtATime(lower), 2, 0);
        assertTrue(down.rewritePost() < down.rewritePre(), "the edit lowered p(true)");
        assertEquals(2e-8, down.rewriteScore(), "floored, not " + EditingProblem.FACT_AMPLIFICATION.rewriteScore(down.rewritePre(), down.rewritePost()));
    }

    @Test
    void memitsOwnContextTemplatesAreItsFiveOpeningsGrownTo10TokensSeeded() {
        List<String> templates = ContextPrefixes.memit(lm, 3);
        assertEquals(6, templates.size(), "\"\" and one per opening word, as memit_main.py makes them");
        assertEquals("", templates.get(0));
        for (String t : templates.subList(1, 6)) {
            assertTrue(t.endsWith(". ") && t.length() > 2, t);
        }
        assertEquals(templates, ContextPrefixes.memit(lm, 3), "seeded");
        EditingConfig paper = EditingConfig.paperGptJ();
        List<String> rome = paper.prefixes(lm, 3);
        assertEquals(templates, paper.memitPrefixes(lm, 3, rome));
        assertEquals(rome, EditingConfig.testbed().memitPrefixes(lm, 3, rome), "the other presets: ROME's prefixes");
    }

    @Test
    void memitSpreadsTheEditOverItsWindowAndRaisesTheTarget() {
        MemitEditor memit = new MemitEditor(lm, TestbedEditing.statistics(lm), ContextPrefixes.sample(lm, 0, 3, 5),
                EditingConfig.testbed().memit().get(EditingProblem.ERROR_INJECTION));
        double before = pNew();
        float[] untouched = lm.model().weights().get(lm.model().editSite(8).weightName()).toFloatArray();
        try (Editor.Applied edit = memit.apply(EditTask.raise(fact.prompt(), fact.subject(), fact.targetNew()), 4)) {
            assertArrayEquals(new int[] {2, 3, 4, 5, 6}, edit.layers());
            assertArrayEquals(untouched, lm.model().weights().get(lm.model().editSite(8).weightName()).toFloatArray());
            assertTrue(pNew() > before, "MEMIT raises p(target_new): " + before + " -> " + pNew());
        }
    }

    /** PyTorch's grad mode is per thread: a service edits on a pool thread that never loaded the engine. */
    @Test
    void editsWorkOnAThreadThatDidNotLoadTheEngine() throws Exception {
        java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        double[] moved = new double[2];
        Thread worker = new Thread(() -> {
            try {
                moved[0] = pNew();
                Editor rome = EditingConfig.testbed().editor(EditingMethod.ROME, EditingProblem.ERROR_INJECTION, lm,
                        TestbedEditing.statistics(lm), ContextPrefixes.sample(lm, 0, 3, 5));
                try (Editor.Applied edit = rome.apply(EditTask.raise(fact.prompt(), fact.subject(), fact.targetNew()), 3)) {
                    moved[1] = pNew();
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        worker.start();
        worker.join();
        if (failure.get() != null) {
            throw new AssertionError("editing on a fresh thread failed", failure.get());
        }
        assertTrue(moved[1] > moved[0], "the edit on the fresh thread raised p(target_new)");
    }
}
