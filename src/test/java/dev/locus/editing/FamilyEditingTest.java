package dev.locus.editing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.SharedFiles;
import dev.locus.WordFixtures;
import dev.locus.facts.Fact;
import dev.locus.model.EditSite;
import dev.locus.model.Hooks;
import dev.locus.model.Intervention;
import dev.locus.model.LanguageModel;
import dev.locus.model.Selection;
import dev.locus.model.TextTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * ROME, MEMIT and constrained fine-tuning on every family, through its edit site: the properties
 * that hold for any weights (the tiny fixtures are random), so each family's layout and bias are
 * exercised. Each fixture gets a word-level tokenizer with a word for every id of its vocabulary
 * ("w000", "w001", …; a random model's greedy answer must decode to something) and a corpus of
 * sentences of the first 60 words for the key statistics.
 */
class FamilyEditingTest {
    private static final ValueSettings QUICK = new ValueSettings(5, 0.5, 0.0625, 0.5, 4, 5e-2);
    private static final Fact FACT = new Fact("family-0", "w001 w002", "w001 w002 w003 w004", "w005", "w006",
            List.of("w007 w001 w002 w003 w004"), List.of(new Fact.Neighbor("w008 w009 w003 w004", "w005")), "P0");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny-trace", "llama-tiny", "qwen2-tiny", "mistral-tiny", "gptj-tiny", "gpt-neox-tiny"})
    void romeMapsItsKeyToItsValueAndLeavesOrthogonalKeysAlone(String fixture) throws IOException {
        try (LanguageModel lm = withWords(fixture)) {
            KeyStatistics statistics = statistics(lm);
            RomeEditor rome = new RomeEditor(lm, statistics, ContextPrefixes.sample(lm, 0, 2, 5),
                    new RomeSettings(QUICK, 0, RomeSettings.Anchor.MEAN_KEY));
            EditTask task = EditTask.raise(FACT.prompt(), FACT.subject(), FACT.targetNew());
            int layer = 1;
            float[] keyStar = rome.keyStar(task, layer);
            float[] valueStar = rome.valueStar(task, layer);
            float[] orthogonal = orthogonalTo(statistics.inverseCovariance(layer, 0), keyStar, lm);
            float[] orthogonalBefore = mlpOutput(lm, layer, orthogonal);
            try (Editor.Applied edit = rome.apply(task, layer)) {
                assertTrue(relativeError(mlpOutput(lm, layer, keyStar), valueStar) < 1e-3, fixture + ": k* maps to v*");
                assertTrue(relativeError(mlpOutput(lm, layer, orthogonal), orthogonalBefore) < 1e-4, fixture + ": keys orthogonal to C⁻¹k* keep their value");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny-trace", "llama-tiny", "qwen2-tiny", "mistral-tiny", "gptj-tiny", "gpt-neox-tiny"})
    void fineTuningMovesExactlyItsWindowsParametersWithinEpsilon(String fixture) throws IOException {
        try (LanguageModel lm = withWords(fixture)) {
            double epsilon = 1e-3;
            Map<String, float[]> loaded = snapshot(lm);
            try (Editor.Applied edit = new FineTuneEditor(lm, FineTuneSettings.of(5, 5, epsilon))
                    .apply(EditTask.raise(FACT.prompt(), FACT.subject(), FACT.targetNew()), 0)) {
                assertArrayEquals(new int[] {0, 1, 2}, edit.layers(), "window 5 around layer 0, clipped");
                List<String> tuned = new ArrayList<>();
                for (int l : edit.layers()) {
                    tuned.addAll(lm.model().editSite(l).parameterNames());
                }
                for (Map.Entry<String, float[]> e : loaded.entrySet()) {
                    float[] now = lm.model().weights().get(e.getKey()).toFloatArray();
                    double moved = 0;
                    for (int i = 0; i < now.length; i++) {
                        moved = Math.max(moved, Math.abs(now[i] - e.getValue()[i]));
                    }
                    if (tuned.contains(e.getKey())) {
                        assertTrue(moved > 0 && moved <= epsilon * 1.0001, fixture + " " + e.getKey() + " moved " + moved);
                    } else {
                        assertEquals(0, moved, fixture + " " + e.getKey() + " is not tuned");
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny-trace", "llama-tiny", "qwen2-tiny", "mistral-tiny", "gptj-tiny", "gpt-neox-tiny"})
    void mixedEditsSomeFailingLeaveEveryWeightBitIdentical(String fixture) throws IOException {
        try (LanguageModel lm = withWords(fixture)) {
            Map<String, float[]> loaded = snapshot(lm);
            KeyStatistics statistics = statistics(lm);
            List<String> prefixes = ContextPrefixes.sample(lm, 0, 2, 5);
            List<Editor> editors = List.of(
                    new RomeEditor(lm, statistics, prefixes, new RomeSettings(QUICK, 0, RomeSettings.Anchor.PROMPT_KEY)),
                    new MemitEditor(lm, statistics, prefixes, new MemitSettings(3, QUICK, 10, 0)),
                    new FineTuneEditor(lm, FineTuneSettings.of(1, 3, 1e-2)),
                    new FineTuneEditor(lm, FineTuneSettings.of(5, 3, 1e-3)),
                    new FineTuneEditor(lm, new FineTuneSettings(3, 3, Double.NaN, 1e-2, 1e-2, 5)), // fails midway
                    new MemitEditor(lm, statistics, prefixes, new MemitSettings(3, QUICK, Double.NaN, 0))); // fails midway
            EditEvaluator evaluator = new EditEvaluator(lm, 0.2, 1);
            int failed = 0;
            for (int i = 0; i < 12; i++) {
                EditingProblem problem = EditingProblem.values()[i % EditingProblem.values().length];
                EditResult r = evaluator.evaluate(evaluator.setup(FACT, problem), editors.get(i % editors.size()),
                        i % lm.dimensions().layers(), 0);
                failed += r.status().equals("failed") ? 1 : 0;
            }
            assertTrue(failed >= 4, fixture + ": the failing editors failed: " + failed);
            for (Map.Entry<String, float[]> e : loaded.entrySet()) {
                float[] now = lm.model().weights().get(e.getKey()).toFloatArray();
                for (int j = 0; j < now.length; j++) {
                    assertEquals(Float.floatToRawIntBits(e.getValue()[j]), Float.floatToRawIntBits(now[j]), fixture + " " + e.getKey());
                }
            }
        }
    }

    /**
     * The batched edits (every layer's v* and z together, over the live columns with the earlier ones' keys and values as
     * a right-aligned past; the fine-tunings as row groups with their own weights; the keys from one pass; each edit's
     * prompts scored in one padded pass from its lowest layer) against one edit at a time on every family: rotary
     * positions, grouped query heads and Mistral's sliding window of 5 tokens, which the 5-token context prefixes exceed.
     * Every probability within 1e-5 (these random models' probabilities are small, so the scores' rooms are near 1).
     */
    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny-trace", "llama-tiny", "qwen2-tiny", "mistral-tiny", "gptj-tiny", "gpt-neox-tiny"})
    void batchedEditsEqualOneAtATime(String fixture) throws IOException {
        try (LanguageModel lm = withWords(fixture)) {
            KeyStatistics statistics = statistics(lm);
            List<String> prefixes = ContextPrefixes.sample(lm, 0, 2, 2, 5);
            List<Editor> editors = List.of(new RomeEditor(lm, statistics, prefixes, new RomeSettings(QUICK, 0, RomeSettings.Anchor.PROMPT_KEY)),
                    new MemitEditor(lm, statistics, prefixes, new MemitSettings(3, QUICK, 10, 0)),
                    new FineTuneEditor(lm, FineTuneSettings.of(1, 5, 1e-2)),
                    new FineTuneEditor(lm, FineTuneSettings.of(3, 5, 1e-2).withNoiseSamples(2)));
            int[] layers = java.util.stream.IntStream.range(0, lm.dimensions().layers()).toArray();
            EditEvaluator evaluator = new EditEvaluator(lm, 0.2, 1);
            int compared = 0;
            for (EditingProblem problem : List.of(EditingProblem.ERROR_INJECTION, EditingProblem.FACT_ERASURE, EditingProblem.FACT_FORCING)) {
                EditEvaluator.Setup setup = evaluator.setup(FACT, problem);
                for (Editor editor : editors) {
                    try (Editor.Batch batch = editor.batch(setup.task(), layers, 1024); EditEvaluator.Prepared prepared = evaluator.prepare(setup)) {
                        for (int layer : layers) {
                            EditResult alone = evaluator.evaluate(setup, editor, layer, 0);
                            EditResult batched = evaluator.evaluate(setup, editor.name(), batch, layer, 0, prepared);
                            String what = fixture + " " + editor.name() + " " + problem.label() + " layer " + layer;
                            assertEquals(alone.status(), batched.status(), what);
                            assertEquals(alone.steps(), batched.steps(), what);
                            List<Double> a = probabilities(alone);
                            List<Double> b = probabilities(batched);
                            assertEquals(a.size(), b.size(), what);
                            for (int i = 0; i < a.size(); i++) {
                                assertEquals(a.get(i), b.get(i), 1e-5, what + ": probability " + i);
                            }
                            assertEquals(alone.overallScore(), batched.overallScore(), 1e-4, what);
                            compared += alone.status().equals("ok") ? 1 : 0;
                        }
                    }
                }
            }
            assertTrue(compared >= layers.length * 8, fixture + ": most edits succeeded: " + compared);
        }
    }

    private static List<Double> probabilities(EditResult r) {
        List<Double> out = new ArrayList<>(List.of(r.rewritePost()));
        out.addAll(r.paraphrasePost());
        out.addAll(r.neighborhoodPost());
        return out;
    }

    /** The fixture's config and weights beside a word-level tokenizer with a word for every id but the two special tokens'. */
    private LanguageModel withWords(String fixture) throws IOException {
        Path source = SharedFiles.require("fixtures/" + fixture);
        Path dir = Files.createDirectories(tmp.resolve(fixture));
        for (String file : List.of("config.json", "model.safetensors")) {
            Files.copy(source.resolve(file), dir.resolve(file));
        }
        WordFixtures.writeTokenizer(dir.resolve("tokenizer.json"),
                new ObjectMapper().readTree(source.resolve("config.json").toFile()).get("vocab_size").asInt());
        return LanguageModel.load(dir);
    }

    /** Key statistics over 300 random sentences of 4–8 of the first words, cached under target/ by the weights' fingerprint. */
    private static KeyStatistics statistics(LanguageModel lm) {
        return new KeyStatistics(lm, WordFixtures.corpus(), Path.of("target", "locus-cache"), message -> {});
    }

    private static Map<String, float[]> snapshot(LanguageModel lm) {
        Map<String, float[]> out = new HashMap<>();
        lm.model().weights().asMap().forEach((name, w) -> out.put(name, w.toFloatArray()));
        return out;
    }

    /**
     * The MLP output of {@code layer} for a key, from the model's own forward pass: the key patched in at
     * the MLP's hook point (whatever the family computes there), the output captured after its projection.
     */
    private static float[] mlpOutput(LanguageModel lm, int layer, float[] key) {
        EditSite site = lm.model().editSite(layer);
        TextTokenizer.Tokens tokens = lm.tokenize(FACT.prompt());
        try (NDManager m = lm.manager().newSubManager()) {
            Hooks hooks = Hooks.none().add(site.key(), Intervention.patch(Selection.positions(0), m.create(key)));
            Intervention.Capture out = hooks.capture(site.value());
            lm.model().forward(m.create(tokens.ids(), new Shape(1, tokens.length())), hooks);
            return out.value().get("0, 0").toFloatArray();
        }
    }

    /** A random key k with (C⁻¹k*)ᵀk = 0. */
    private static float[] orthogonalTo(NDArray inverseCovariance, float[] keyStar, LanguageModel lm) {
        try (NDManager m = lm.manager().newSubManager()) {
            NDArray u = inverseCovariance.matMul(m.create(keyStar).toType(ai.djl.ndarray.types.DataType.FLOAT64, false));
            NDArray k = m.randomNormal(new Shape(lm.dimensions().mlpWidth())).toType(ai.djl.ndarray.types.DataType.FLOAT64, false);
            return k.sub(u.mul(k.dot(u).div(u.dot(u)))).toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
        }
    }

    private static double relativeError(float[] got, float[] want) {
        double err = 0;
        double norm = 0;
        for (int i = 0; i < want.length; i++) {
            err += Math.pow(got[i] - want[i], 2);
            norm += Math.pow(want[i], 2);
        }
        return Math.sqrt(err / norm);
    }
}
