package dev.locus.study;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.locus.editing.EditResult;
import dev.locus.editing.Editor;
import dev.locus.editing.EditingConfig;
import dev.locus.editing.EditingMethod;
import dev.locus.editing.EditingProblem;
import dev.locus.editing.FineTuneEditor;
import dev.locus.editing.FineTuneSettings;
import dev.locus.editing.KeyStatistics;
import dev.locus.editing.MemitEditor;
import dev.locus.editing.MemitSettings;
import dev.locus.editing.RomeEditor;
import dev.locus.editing.RomeSettings;
import dev.locus.editing.ValueSettings;
import dev.locus.facts.Fact;
import dev.locus.model.LanguageModel;
import dev.locus.testbed.Testbed;
import dev.locus.tracing.FastTracer;
import dev.locus.tracing.TracingSettings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The batched protocol (every layer's v* and z of a fact's method and problem optimised together, its fine-tunings
 * tuned together) against every edit
 * one at a time, the reference: every probability within 1e-5 and every score within 1e-5 of it as the probabilities
 * bound it ({@link #smallestGap}), over facts × every method × every problem ×
 * layers at the bottom, middle and top (where MEMIT's windows share their last layer), with the whole batch and with a
 * row budget that splits it; weights bit-identical afterwards, also after batches whose every edit fails.
 */
class BatchedStudyTest {
    private static final double TOLERANCE = 1e-5;
    private static final int[] LAYERS = {0, 5, 10, 11};

    @Test
    void batchedScoresEqualOneAtATime() {
        try (LanguageModel lm = Testbed.GPT2.load()) {
            float[][] loaded = weights(lm);
            KeyStatistics statistics = Testbed.GPT2.keyStatistics(lm, Path.of("target", "locus-cache"), s -> {});
            EditingConfig config = EditingConfig.named("testbed");
            List<String> prefixes = config.prefixes(lm, 0);
            FastTracer tracer = new FastTracer(lm, TracingSettings.defaults(), 0.2);
            int twoGroups = 2 * (prefixes.size() + 1);
            List<EditingMethod> methods = EditingMethod.all();
            List<EditingProblem> problems = Arrays.asList(EditingProblem.values());
            List<Fact> facts = Testbed.GPT2.facts().subList(100, 102);
            List<EditResult> reference = new ArrayList<>();
            List<EditResult> batched = new ArrayList<>();
            List<EditResult> split = new ArrayList<>();
            for (Fact f : facts) {
                new EditingStudy(lm, config, statistics, prefixes, tracer, 0).run(f, methods, problems, LAYERS, reference::add);
                new EditingStudy(lm, config, statistics, prefixes, tracer, EditingStudy.DEFAULT_BATCH_ROWS).run(f, methods, problems, LAYERS, batched::add);
                new EditingStudy(lm, config, statistics, prefixes, tracer, twoGroups).run(f, methods, problems, LAYERS, split::add);
            }
            assertEquals(facts.size() * methods.size() * problems.size() * LAYERS.length, reference.size());
            double worst = Math.max(compare(reference, batched), compare(reference, split));
            System.out.printf("batched vs one at a time: %d edits, largest difference %.2g (scores times their room)%n", reference.size(), worst);
            assertTrue(reference.stream().filter(r -> r.status().equals("ok")).count() > reference.size() / 2, "mostly successful edits");
            assertUnchanged(lm, loaded);
        }
    }

    @Test
    void batchesThatFailLeaveTheWeightsAsLoaded() {
        try (LanguageModel lm = Testbed.GPT2.load()) {
            float[][] loaded = weights(lm);
            KeyStatistics statistics = Testbed.GPT2.keyStatistics(lm, Path.of("target", "locus-cache"), s -> {});
            EditingConfig config = EditingConfig.named("testbed");
            List<String> prefixes = config.prefixes(lm, 0);
            ValueSettings diverging = new ValueSettings(4, Double.NaN, 0.0625, 0.5, 4, 5e-2); // δ turns NaN at the first step
            ValueSettings quick = new ValueSettings(3, 0.5, 0.0625, 0.5, 4, 5e-2);
            List<Editor> editors = List.of(new RomeEditor(lm, statistics, prefixes, new RomeSettings(diverging, 1, RomeSettings.Anchor.PROMPT_KEY)),
                    // z is found, then the update is rejected midway through the window
                    new MemitEditor(lm, statistics, prefixes, new MemitSettings(3, quick, Double.NaN, 0)),
                    // a NaN learning rate: the weights turn NaN at the first step, the loss at the second
                    new FineTuneEditor(lm, new FineTuneSettings(3, 3, Double.NaN, 1e-2, 1e-2, 5)));
            Fact fact = Testbed.GPT2.facts().get(100);
            dev.locus.editing.EditEvaluator evaluator = new dev.locus.editing.EditEvaluator(lm, 0.2, 1);
            for (Editor editor : editors) {
                var setup = evaluator.setup(fact, EditingProblem.ERROR_INJECTION);
                Map<Integer, String> alone = new HashMap<>();
                for (int layer : LAYERS) {
                    alone.put(layer, evaluator.evaluate(setup, editor, layer, 0).error());
                }
                try (Editor.Batch batch = editor.batch(setup.task(), LAYERS, 512)) {
                    for (int layer : LAYERS) {
                        EditResult r = evaluator.evaluate(setup, editor.name(), batch, layer, 0);
                        assertEquals("failed", r.status(), editor.name() + " at " + layer);
                        assertEquals(alone.get(layer), r.error(), "the same failure as one at a time");
                    }
                }
            }
            assertUnchanged(lm, loaded);
        }
    }

    /** The largest absolute difference of any score or probability; fails beyond the tolerance or on any other difference. */
    private static double compare(List<EditResult> reference, List<EditResult> other) {
        assertEquals(reference.size(), other.size());
        double worst = 0;
        for (int i = 0; i < reference.size(); i++) {
            EditResult a = reference.get(i);
            EditResult b = other.get(i);
            String what = a.factId() + " " + a.method() + " " + a.problem() + " layer " + a.layer();
            assertEquals(a.factId() + a.method() + a.problem() + a.layer() + a.status() + a.target(),
                    b.factId() + b.method() + b.problem() + b.layer() + b.status() + b.target(), what);
            assertArrayEquals(a.editedLayers(), b.editedLayers(), what);
            List<Double> x = numbers(a);
            List<Double> y = numbers(b);
            assertEquals(x.size(), y.size(), what);
            double scoreTolerance = TOLERANCE / smallestGap(a);
            for (int j = 0; j < x.size(); j++) {
                double d = Math.abs(x.get(j) - y.get(j));
                if (!(Double.isNaN(x.get(j)) && Double.isNaN(y.get(j)))) {
                    worst = Math.max(worst, SCORES.contains(j) ? d * smallestGap(a) : d);
                    assertTrue(d <= (SCORES.contains(j) ? scoreTolerance : TOLERANCE), what + ": figure " + j + " " + x.get(j) + " vs " + y.get(j));
                }
            }
        }
        return worst;
    }

    /** Where {@link #numbers} has the rewrite, paraphrase and overall scores. */
    private static final List<Integer> SCORES = List.of(2, 3, 5);

    /**
     * The smallest room a rewrite or paraphrase score divides by, 1 − p_pre when raising and p_pre when lowering (at most
     * 1): a probability's float noise ε moves such a score by ε / room, so the scores are checked within 1e-5 / room
     * (the probabilities themselves within 1e-5). Amplifying a fact the model already gives 0.986 divides by 0.014.
     */
    private static double smallestGap(EditResult r) {
        boolean raise = EditingProblem.parse(r.problem()).raises();
        List<Double> pre = new ArrayList<>(r.paraphrasePre());
        pre.add(r.rewritePre());
        return Math.min(1, pre.stream().mapToDouble(p -> raise ? 1 - p : p).filter(g -> g > 0).min().orElse(1));
    }

    private static List<Double> numbers(EditResult r) {
        List<Double> out = new ArrayList<>(List.of(r.rewritePre(), r.rewritePost(), r.rewriteScore(), r.paraphraseScore(),
                r.neighborhoodScore(), r.overallScore(), r.tracingValue()));
        out.addAll(r.paraphrasePre());
        out.addAll(r.paraphrasePost());
        out.addAll(r.neighborhoodPre());
        out.addAll(r.neighborhoodPost());
        return out;
    }

    private static float[][] weights(LanguageModel lm) {
        return lm.model().weights().asMap().values().stream().map(w -> w.toFloatArray()).toArray(float[][]::new);
    }

    private static void assertUnchanged(LanguageModel lm, float[][] loaded) {
        float[][] now = weights(lm);
        for (int i = 0; i < loaded.length; i++) {
            for (int j = 0; j < loaded[i].length; j++) {
                assertEquals(Float.floatToRawIntBits(loaded[i][j]), Float.floatToRawIntBits(now[i][j]), "weight " + i + " element " + j);
            }
        }
    }
}
