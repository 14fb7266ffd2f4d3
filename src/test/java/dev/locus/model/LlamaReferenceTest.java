package dev.locus.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.locus.SharedFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Llama-family forward pass against outputs of transformers' own modeling code on the same
 * weights (../shared/fixtures/README.md), and against llama2.c on a trained checkpoint.
 */
class LlamaReferenceTest {
    private static final double TOLERANCE = 1e-4;

    @ParameterizedTest
    @ValueSource(strings = {"llama-tiny", "llama3-tiny", "qwen2-tiny", "mistral-tiny"})
    void matchesTransformers(String fixture) throws IOException {
        Path dir = SharedFiles.require("fixtures/" + fixture);
        JsonNode ref = new ObjectMapper().readTree(dir.resolve("reference.json").toFile());
        try (Llama model = Llama.load(dir, Device.cpu())) {
            double logits = logitsError(model, ref.get("sequences"));
            double hidden = hiddenStatesError(model, ref.get("hidden_states"));
            double padded = paddedBatchError(model, ref.get("padded_batch"));
            System.out.printf("%s: largest difference from transformers: logits %.3g, hidden states %.3g, padded batch %.3g%n",
                    fixture, logits, hidden, padded);
            assertEquals(0, logits, TOLERANCE, "logits");
            assertEquals(0, hidden, TOLERANCE, "hidden states");
            assertEquals(0, padded, TOLERANCE, "padded batch");
        }
    }

    /** Trained weights: llama2.c's logits, HF's hidden states, and the greedy continuation all three implementations agree on. */
    @Test
    void stories260kMatchesLlama2cAndItsGreedyContinuation() throws IOException {
        Path dir = SharedFiles.require("fixtures/llama-stories260k");
        JsonNode ref = new ObjectMapper().readTree(dir.resolve("reference.json").toFile());
        try (Llama model = Llama.load(dir, Device.cpu())) {
            double logits = logitsError(model, ref.get("sequences"));
            double hidden = hiddenStatesError(model, ref.get("hidden_states"));
            JsonNode greedy = ref.get("greedy");
            List<Long> expected = ids(greedy.get("model_py"));
            assertEquals(expected, ids(greedy.get("hf")));
            assertEquals(expected, ids(greedy.get("run_c")));
            List<Long> got = greedy(model, ids(greedy.get("prompt")), expected.size());
            System.out.printf("llama-stories260k: largest difference: logits (llama2.c) %.3g, hidden states (transformers) %.3g;"
                    + " greedy %d tokens %s%n", logits, hidden, got.size() - 1, got.equals(expected) ? "identical" : "differ");
            assertEquals(0, logits, TOLERANCE, "logits");
            assertEquals(0, hidden, TOLERANCE, "hidden states");
            assertEquals(expected, got, "greedy continuation from BOS");
        }
    }

    /**
     * The pass split after 9 of 16 tokens: every block runs the suffix against the rotated keys
     * and values of the prefix (with Mistral's window of 5 reaching across the split) and must
     * give the reference logits of the suffix positions.
     */
    @ParameterizedTest
    @ValueSource(strings = {"llama-tiny", "mistral-tiny"})
    void suffixOverPastKeysAndValuesMatchesTheWholePass(String fixture) throws IOException {
        Path dir = SharedFiles.require("fixtures/" + fixture);
        JsonNode sequence = new ObjectMapper().readTree(dir.resolve("reference.json").toFile()).get("sequences").get(2);
        int split = 9;
        try (Llama model = Llama.load(dir, Device.cpu()); NDManager m = model.manager().newSubManager()) {
            NDArray tokens = row(m, sequence.get("input_ids"));
            NDArray prefix = model.embed(tokens.get(":, :" + split), Hooks.none());
            NDArray suffix = model.embed(tokens.get(":, " + split + ":"), Hooks.none());
            for (int layer = 0; layer < model.config().layers(); layer++) {
                NDArray[] past = model.keysAndValues(layer, prefix, null);
                suffix = model.block(layer, suffix, null, null, Hooks.none(), past[0], past[1]);
                prefix = model.block(layer, prefix, null, null, Hooks.none(), null, null);
            }
            ArrayNode expected = new ObjectMapper().createArrayNode();
            for (int t = split; t < sequence.get("logits").size(); t++) {
                expected.add(sequence.get("logits").get(t));
            }
            double worst = maxDifference(model.head(suffix).toFloatArray(), expected);
            System.out.printf("%s: suffix over past keys/values: largest logit difference %.3g%n", fixture, worst);
            assertEquals(0, worst, TOLERANCE);
        }
    }

    /** Each sequence alone (one row, no mask, positions 0..T-1): logits at every position. */
    private static double logitsError(Llama model, JsonNode sequences) {
        double worst = 0;
        for (JsonNode seq : sequences) {
            try (NDManager m = model.manager().newSubManager()) {
                float[] got = model.forward(row(m, seq.get("input_ids")), Hooks.none()).toFloatArray();
                worst = Math.max(worst, maxDifference(got, seq.get("logits")));
            }
        }
        return worst;
    }

    /**
     * HF's output_hidden_states: [0] the embedding output, [j] the output of layer j-1, and [L]
     * the last layer's output after the final norm, which is computed here from the captured
     * output (kept in {@code last_layer_output} too, where the fixture has it).
     */
    private static double hiddenStatesError(Llama model, JsonNode ref) {
        int layers = model.config().layers();
        JsonNode states = ref.get("states");
        assertEquals(layers + 1, states.size());
        try (NDManager m = model.manager().newSubManager()) {
            Hooks hooks = new Hooks();
            List<Intervention.Capture> captured = new ArrayList<>();
            captured.add(hooks.capture(HookPoint.embed()));
            for (int l = 0; l < layers; l++) {
                captured.add(hooks.capture(HookPoint.blockOut(l)));
            }
            model.forward(row(m, ref.get("input_ids")), hooks);
            double worst = 0;
            for (int j = 0; j < layers; j++) {
                worst = Math.max(worst, maxDifference(captured.get(j).value().toFloatArray(), states.get(j)));
            }
            float[] last = captured.get(layers).value().toFloatArray();
            if (ref.has("last_layer_output")) {
                worst = Math.max(worst, maxDifference(last, ref.get("last_layer_output")));
            }
            float[] norm = model.weights().get("model.norm.weight").toFloatArray();
            return Math.max(worst, maxDifference(rmsNorm(last, norm, model.config().rmsNormEps()), states.get(layers)));
        }
    }

    /** Three rows in one pass (len16; len7 right-padded; len7 left-padded) with HF's attention_mask and position_ids. */
    private static double paddedBatchError(Llama model, JsonNode ref) {
        JsonNode rows = ref.get("rows");
        int length = rows.get(0).get("input_ids").size();
        try (NDManager m = model.manager().newSubManager()) {
            NDArray logits = model.forward(batch(m, rows, "input_ids"), batch(m, rows, "position_ids"),
                    batch(m, rows, "attention_mask"), Hooks.none());
            float[] got = logits.toFloatArray();
            int vocab = model.config().vocabSize();
            double worst = 0;
            for (int r = 0; r < rows.size(); r++) {
                JsonNode valid = rows.get(r).get("valid_positions");
                assertTrue(valid.size() > 0);
                float[] atValid = new float[valid.size() * vocab];
                for (int k = 0; k < valid.size(); k++) {
                    System.arraycopy(got, (r * length + valid.get(k).asInt()) * vocab, atValid, k * vocab, vocab);
                }
                worst = Math.max(worst, maxDifference(atValid, rows.get(r).get("logits")));
            }
            return worst;
        }
    }

    /** Argmax of the last position, appended, until {@code total} ids; the full pass is recomputed each step. */
    private static List<Long> greedy(Llama model, List<Long> prompt, int total) {
        List<Long> ids = new ArrayList<>(prompt);
        while (ids.size() < total) {
            try (NDManager m = model.manager().newSubManager()) {
                long[] row = ids.stream().mapToLong(Long::longValue).toArray();
                NDArray logits = model.forward(m.create(row, new Shape(1, row.length)), Hooks.none());
                ids.add(logits.get(0, row.length - 1).argMax().getLong());
            }
        }
        return ids;
    }

    /** HF LlamaRMSNorm in double precision, row by row. */
    private static float[] rmsNorm(float[] x, float[] weight, double eps) {
        float[] out = new float[x.length];
        int d = weight.length;
        for (int start = 0; start < x.length; start += d) {
            double meanSquare = 0;
            for (int i = 0; i < d; i++) {
                meanSquare += (double) x[start + i] * x[start + i] / d;
            }
            double scale = 1 / Math.sqrt(meanSquare + eps);
            for (int i = 0; i < d; i++) {
                out[start + i] = (float) (x[start + i] * scale * weight[i]);
            }
        }
        return out;
    }

    /** The largest |got - expected| over a nested JSON array read in row-major order; fails on a size mismatch. */
    private static double maxDifference(float[] got, JsonNode expected) {
        List<Double> flat = new ArrayList<>();
        flatten(expected, flat);
        assertEquals(flat.size(), got.length, "element count");
        double worst = 0;
        for (int i = 0; i < got.length; i++) {
            worst = Math.max(worst, Math.abs(got[i] - flat.get(i)));
        }
        return worst;
    }

    private static void flatten(JsonNode node, List<Double> out) {
        if (node.isArray()) {
            node.forEach(child -> flatten(child, out));
        } else {
            out.add(node.asDouble());
        }
    }

    private static List<Long> ids(JsonNode array) {
        List<Long> ids = new ArrayList<>();
        array.forEach(n -> ids.add(n.asLong()));
        return ids;
    }

    private static NDArray row(NDManager m, JsonNode ids) {
        return m.create(ids(ids).stream().mapToLong(Long::longValue).toArray(), new Shape(1, ids.size()));
    }

    /** Field {@code field} of every row, as int64 [rows, tokens]. */
    private static NDArray batch(NDManager m, JsonNode rows, String field) {
        List<Long> all = new ArrayList<>();
        rows.forEach(r -> all.addAll(ids(r.get(field))));
        return m.create(all.stream().mapToLong(Long::longValue).toArray(), new Shape(rows.size(), all.size() / rows.size()));
    }
}
