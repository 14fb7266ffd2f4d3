package dev.locus.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.SharedFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * A {@code ../shared/fixtures/<arch>-tiny} checkpoint with the outputs transformers' own modeling
 * code gives on it ({@code reference.json}, see ../shared/fixtures/README.md), and the comparisons
 * of a {@link Transformer} of any family against them.
 */
record TransformersReference(String fixture, Path dir, JsonNode reference) {
    static final double TOLERANCE = 1e-4;

    /** The fixture folder {@code fixtures/<fixture>} (skipped locally, failed under CI when absent). */
    static TransformersReference of(String fixture) throws IOException {
        Path dir = SharedFiles.require("fixtures/" + fixture);
        return new TransformersReference(fixture, dir, new ObjectMapper().readTree(dir.resolve("reference.json").toFile()));
    }

    /**
     * Every check, each printed with its largest difference and held to {@link #TOLERANCE}. {@code finalNorm}
     * is the model's final norm on rows of the last layer's output (HF's last hidden state is after it),
     * computed independently in the test.
     */
    void assertMatches(Transformer model, UnaryOperator<float[]> finalNorm) {
        double logits = logitsError(model);
        double hidden = hiddenStatesError(model, finalNorm);
        double padded = paddedBatchError(model);
        double suffix = suffixError(model, 9);
        double editSite = editSiteError(model);
        System.out.printf("%s: largest difference from transformers: logits %.3g, hidden states %.3g, padded batch %.3g,"
                + " suffix over past keys/values %.3g; edit sites from the MLP outputs %.3g%n", fixture, logits, hidden, padded, suffix,
                editSite);
        assertEquals(0, logits, TOLERANCE, "logits");
        assertEquals(0, hidden, TOLERANCE, "hidden states");
        assertEquals(0, padded, TOLERANCE, "padded batch");
        assertEquals(0, suffix, TOLERANCE, "suffix over past keys/values");
        assertEquals(0, editSite, TOLERANCE, "edit site against the MLP output");
    }

    /** Each sequence alone (one row, no mask, positions 0..T-1): logits at every position. */
    double logitsError(Transformer model) {
        double worst = 0;
        for (JsonNode seq : reference.get("sequences")) {
            try (NDManager m = model.manager().newSubManager()) {
                float[] got = model.forward(row(m, seq.get("input_ids")), Hooks.none()).toFloatArray();
                worst = Math.max(worst, maxDifference(got, seq.get("logits")));
            }
        }
        return worst;
    }

    /**
     * HF's output_hidden_states: [0] the embedding output, [j] the output of layer j-1, and [L] the
     * last layer's output after the final norm, computed by the test from the captured output, which is
     * checked against {@code last_layer_output} too where the fixture has it.
     */
    double hiddenStatesError(Transformer model, UnaryOperator<float[]> finalNorm) {
        JsonNode ref = reference.get("hidden_states");
        int layers = model.dimensions().layers();
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
            return Math.max(worst, maxDifference(finalNorm.apply(last), states.get(layers)));
        }
    }

    /** Three rows in one pass (len16; len7 right-padded; len7 left-padded) with HF's attention_mask and position_ids. */
    double paddedBatchError(Transformer model) {
        JsonNode rows = reference.get("padded_batch").get("rows");
        int length = rows.get(0).get("input_ids").size();
        try (NDManager m = model.manager().newSubManager()) {
            NDArray logits = model.forward(batch(m, rows, "input_ids"), batch(m, rows, "position_ids"),
                    batch(m, rows, "attention_mask"), Hooks.none());
            float[] got = logits.toFloatArray();
            int vocab = (int) logits.getShape().get(2);
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

    /**
     * The longest sequence split after {@code split} tokens: every block runs the suffix against the
     * rotated keys and values of the prefix; the head's logits must be the reference ones of the suffix positions.
     */
    double suffixError(Transformer model, int split) {
        JsonNode sequence = reference.get("sequences").get(reference.get("sequences").size() - 1);
        try (NDManager m = model.manager().newSubManager()) {
            NDArray tokens = row(m, sequence.get("input_ids"));
            assertTrue(split < tokens.getShape().get(1));
            NDArray prefix = model.embed(tokens.get(":, :" + split), Hooks.none());
            NDArray suffix = model.embed(tokens.get(":, " + split + ":"), Hooks.none());
            for (int layer = 0; layer < model.dimensions().layers(); layer++) {
                NDArray[] past = model.keysAndValues(layer, prefix);
                suffix = model.block(layer, suffix, Hooks.none(), past[0], past[1]);
                prefix = model.block(layer, prefix, Hooks.none(), null, null);
            }
            List<JsonNode> expected = new ArrayList<>();
            sequence.get("logits").forEach(expected::add);
            return maxDifference(model.head(suffix).toFloatArray(),
                    new ObjectMapper().valueToTree(expected.subList(split, expected.size())));
        }
    }

    /**
     * Every layer's {@link EditSite} applied to the key the pass captured at its last token, against the
     * MLP output captured there: the edit site is the projection the pass runs, with its weight and bias.
     */
    double editSiteError(Transformer model) {
        JsonNode sequence = reference.get("sequences").get(reference.get("sequences").size() - 1);
        int layers = model.dimensions().layers();
        try (NDManager m = model.manager().newSubManager()) {
            Hooks hooks = new Hooks();
            List<Intervention.Capture> keys = new ArrayList<>();
            List<Intervention.Capture> outputs = new ArrayList<>();
            for (int l = 0; l < layers; l++) {
                EditSite site = model.editSite(l);
                keys.add(hooks.capture(site.key()));
                outputs.add(hooks.capture(site.value()));
            }
            NDArray tokens = row(m, sequence.get("input_ids"));
            model.forward(tokens, hooks);
            int last = (int) tokens.getShape().get(1) - 1;
            double worst = 0;
            for (int l = 0; l < layers; l++) {
                float[] got = model.editSite(l).apply(keys.get(l).value().get(0, last)).toFloatArray();
                float[] want = outputs.get(l).value().get(0, last).toFloatArray();
                for (int i = 0; i < want.length; i++) {
                    worst = Math.max(worst, Math.abs(got[i] - want[i]));
                }
            }
            return worst;
        }
    }

    /** nn.LayerNorm over rows of {@code weight.length}, in double precision (biased variance, as torch). */
    static float[] layerNorm(float[] x, NDArray weightArray, NDArray biasArray, double eps) {
        float[] weight = weightArray.toFloatArray();
        float[] bias = biasArray.toFloatArray();
        float[] out = new float[x.length];
        int d = weight.length;
        for (int start = 0; start < x.length; start += d) {
            double mean = 0;
            for (int i = 0; i < d; i++) {
                mean += (double) x[start + i] / d;
            }
            double variance = 0;
            for (int i = 0; i < d; i++) {
                variance += (x[start + i] - mean) * (x[start + i] - mean) / d;
            }
            double scale = 1 / Math.sqrt(variance + eps);
            for (int i = 0; i < d; i++) {
                out[start + i] = (float) ((x[start + i] - mean) * scale * weight[i] + bias[i]);
            }
        }
        return out;
    }

    /** HF LlamaRMSNorm over rows of {@code weight.length}, x / sqrt(mean(x²) + eps) · w, in double precision. */
    static float[] rmsNorm(float[] x, NDArray weightArray, double eps) {
        float[] weight = weightArray.toFloatArray();
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
    static double maxDifference(float[] got, JsonNode expected) {
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

    /** int64 [1, tokens] of a JSON array of ids. */
    static NDArray row(NDManager m, JsonNode ids) {
        long[] values = new long[ids.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = ids.get(i).asLong();
        }
        return m.create(values, new Shape(1, values.length));
    }

    /** Field {@code field} of every row, as int64 [rows, tokens]. */
    static NDArray batch(NDManager m, JsonNode rows, String field) {
        int length = rows.get(0).get(field).size();
        long[] values = new long[rows.size() * length];
        for (int r = 0; r < rows.size(); r++) {
            for (int t = 0; t < length; t++) {
                values[r * length + t] = rows.get(r).get(field).get(t).asLong();
            }
        }
        return m.create(values, new Shape(rows.size(), length));
    }
}
