package dev.locus.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Llama-family config.json and checkpoint checks: what is read, and the messages for broken ones. */
class LlamaCheckpointTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** A valid 2-layer Llama config with GQA, as save_pretrained writes it. */
    private static ObjectNode llamaConfig() {
        ObjectNode n = JSON.createObjectNode();
        n.put("model_type", "llama").put("hidden_act", "silu").put("num_hidden_layers", 2).put("hidden_size", 16)
                .put("num_attention_heads", 4).put("num_key_value_heads", 2).put("intermediate_size", 24)
                .put("vocab_size", 32).put("max_position_embeddings", 64).put("rms_norm_eps", 1e-5).put("rope_theta", 10000.0)
                .put("tie_word_embeddings", false).put("attention_bias", false).put("mlp_bias", false).putNull("rope_scaling");
        return n;
    }

    private LlamaConfig read(ObjectNode config) throws IOException {
        return LlamaConfig.read(TestCheckpoints.writeConfig(tmp, config));
    }

    private void assertRejected(Consumer<ObjectNode> change, String message) throws IOException {
        ObjectNode config = llamaConfig();
        change.accept(config);
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> read(config));
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    @Test
    void readsTheFamilyDifferences() throws IOException {
        LlamaConfig llama = read(llamaConfig());
        assertEquals(4, llama.headDim());
        assertEquals(2, llama.queriesPerKvHead());
        assertFalse(llama.qkvBias() || llama.outputBias() || llama.mlpBias());
        assertEquals(null, llama.slidingWindow());

        LlamaConfig qwen2 = read(llamaConfig().put("model_type", "qwen2").put("sliding_window", 4096).put("use_sliding_window", false));
        assertTrue(qwen2.qkvBias());
        assertFalse(qwen2.outputBias());
        assertEquals(null, qwen2.slidingWindow(), "qwen2 ignores sliding_window unless use_sliding_window");

        LlamaConfig mistral = read(llamaConfig().put("model_type", "mistral").put("sliding_window", 5).put("head_dim", 8));
        assertEquals(5, mistral.slidingWindow());
        assertEquals(8, mistral.headDim(), "an explicit head_dim wins over hidden_size / heads");

        ObjectNode biased = llamaConfig().put("attention_bias", true).put("mlp_bias", true);
        biased.remove("num_key_value_heads");
        LlamaConfig llamaWithBiases = read(biased);
        assertTrue(llamaWithBiases.qkvBias() && llamaWithBiases.outputBias() && llamaWithBiases.mlpBias());
        assertEquals(4, llamaWithBiases.kvHeads(), "no num_key_value_heads means one per query head");
    }

    /** Llama 3.1's rescaling of head_dim 16, theta 5e5, original context 64, values from HF _compute_llama3_parameters' formula. */
    @Test
    void llama3ScalingKeepsHighFrequenciesDividesLowOnesAndSmoothsBetween() throws IOException {
        ObjectNode config = llamaConfig().put("hidden_size", 64).put("rope_theta", 500000.0);
        config.putObject("rope_scaling").put("rope_type", "llama3").put("factor", 8.0).put("low_freq_factor", 1.0)
                .put("high_freq_factor", 4.0).put("original_max_position_embeddings", 64);
        float[] scaled = read(config).inverseFrequencies();
        double plain1 = Math.pow(500000, -2.0 / 16);
        double smooth = (64 / (2 * Math.PI / plain1) - 1) / (4 - 1); // wavelength 32.5 lies between 16 and 64
        assertEquals(1.0, scaled[0], 1e-7, "wavelength 2π < 16: kept");
        assertEquals((1 - smooth) * plain1 / 8 + smooth * plain1, scaled[1], 1e-7);
        assertEquals(Math.pow(500000, -4.0 / 16) / 8, scaled[2], 1e-9, "wavelength 167 > 64: divided by the factor");
    }

    @Test
    void badConfigsSayWhatIsWrong() throws IOException {
        assertRejected(c -> c.put("num_attention_heads", 5), "hidden_size 16 is not divisible by num_attention_heads 5");
        assertRejected(c -> c.put("num_key_value_heads", 3), "num_attention_heads 4 is not divisible by num_key_value_heads 3");
        assertRejected(c -> c.put("model_type", "gpt2"), "model_type 'gpt2'");
        assertRejected(c -> c.remove("intermediate_size"), "missing or non-integer field 'intermediate_size'");
        assertRejected(c -> c.put("hidden_act", "gelu"), "hidden_act 'gelu' is not supported");
        assertRejected(c -> c.put("head_dim", 5), "head_dim 5 is odd");
        assertRejected(c -> c.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 4.0),
                "rope_scaling type 'yarn' is not supported");
        assertRejected(c -> c.putObject("rope_scaling").put("type", "llama3").put("factor", 8.0),
                "rope_scaling llama3 needs");
        assertRejected(c -> c.put("model_type", "qwen2").put("use_sliding_window", true).put("sliding_window", 8),
                "use_sliding_window true is not supported");
    }

    @Test
    void loadsTiedHeadAndIgnoresStoredCopiesAndRotaryBuffers() throws IOException {
        ObjectNode config = llamaConfig().put("tie_word_embeddings", true);
        Map<String, Shape> tensors = new LinkedHashMap<>(Llama.expectedShapes(read(config)));
        assertFalse(tensors.containsKey("lm_head.weight"));
        tensors.put("lm_head.weight", new Shape(32, 16));
        tensors.put("model.layers.0.self_attn.rotary_emb.inv_freq", new Shape(2));
        TestCheckpoints.write(tmp, config, tensors);
        try (Llama model = Llama.load(tmp, Device.cpu()); NDManager m = model.manager().newSubManager()) {
            assertFalse(model.weights().names().contains("lm_head.weight"));
            NDArray logits = model.forward(m.create(new long[] {1, 5, 9}, new Shape(1, 3)), Hooks.none());
            assertEquals(new Shape(1, 3, 32), logits.getShape());
        }
    }

    @Test
    void missingUnexpectedAndMisshapenTensorsAreNamed() throws IOException {
        ObjectNode config = llamaConfig();
        Map<String, Shape> expected = Llama.expectedShapes(read(config));

        Map<String, Shape> missing = new LinkedHashMap<>(expected);
        missing.remove("model.layers.1.mlp.up_proj.weight");
        TestCheckpoints.write(tmp, config, missing);
        assertLoadFails("missing tensors [model.layers.1.mlp.up_proj.weight] for a llama model with 2 layers");

        Map<String, Shape> extra = new LinkedHashMap<>(expected);
        extra.put("model.layers.2.mlp.up_proj.weight", new Shape(24, 16));
        TestCheckpoints.write(tmp, config, extra);
        assertLoadFails("unexpected tensor 'model.layers.2.mlp.up_proj.weight' for a llama model with 2 layers");

        Map<String, Shape> misshapen = new LinkedHashMap<>(expected);
        misshapen.put("model.layers.0.self_attn.k_proj.weight", new Shape(16, 16));
        TestCheckpoints.write(tmp, config, misshapen);
        assertLoadFails("tensor 'model.layers.0.self_attn.k_proj.weight' has shape (16, 16) but config.json implies (8, 16)");
    }

    private void assertLoadFails(String message) {
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> Llama.load(tmp, Device.cpu()).close());
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }
}
