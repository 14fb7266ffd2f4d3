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
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** GPT-J and GPT-NeoX config.json and checkpoint checks: what is read, and the messages for broken ones. */
class GptJNeoXCheckpointTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** A valid 2-layer GPT-J config (head size 16, 8 rotated dims), as save_pretrained writes it. */
    private static ObjectNode gptjConfig() {
        ObjectNode n = JSON.createObjectNode();
        n.put("model_type", "gptj").put("activation_function", "gelu_new").put("n_layer", 2).put("n_embd", 32).put("n_head", 2)
                .put("rotary_dim", 8).putNull("n_inner").put("n_positions", 64).put("vocab_size", 40).put("layer_norm_epsilon", 1e-5)
                .put("tie_word_embeddings", false);
        return n;
    }

    /** A valid 2-layer GPT-NeoX config (head size 24, rotary_pct 0.25: 6 rotated dims), as save_pretrained writes it. */
    private static ObjectNode neoxConfig() {
        ObjectNode n = JSON.createObjectNode();
        n.put("model_type", "gpt_neox").put("hidden_act", "gelu").put("num_hidden_layers", 2).put("hidden_size", 48)
                .put("num_attention_heads", 2).put("intermediate_size", 64).put("max_position_embeddings", 64).put("vocab_size", 40)
                .put("layer_norm_eps", 1e-5).put("rotary_pct", 0.25).put("rotary_emb_base", 10000).put("use_parallel_residual", true)
                .put("attention_bias", true).put("tie_word_embeddings", false).putNull("rope_scaling");
        return n;
    }

    private GptJConfig gptj(ObjectNode config) throws IOException {
        return GptJConfig.read(TestCheckpoints.writeConfig(tmp, config));
    }

    private GptNeoXConfig neox(ObjectNode config) throws IOException {
        return GptNeoXConfig.read(TestCheckpoints.writeConfig(tmp, config));
    }

    private void assertRejected(ObjectNode config, Consumer<ObjectNode> change, Function<Path, ?> read, String message)
            throws IOException {
        change.accept(config);
        Path file = TestCheckpoints.writeConfig(tmp, config);
        assertFails(() -> read.apply(file), message);
    }

    private static void assertFails(Executable load, String message) {
        ModelLoadException e = assertThrows(ModelLoadException.class, load);
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    @Test
    void readsGptJWithTransformersDefaults() throws IOException {
        GptJConfig c = gptj(gptjConfig());
        assertEquals(16, c.headDim());
        assertEquals(8, c.rotaryDim());
        assertEquals(128, c.intermediateSize(), "n_inner null means 4·n_embd");
        assertEquals(ModelConfig.Activation.GELU_TANH, c.activation());
        assertEquals(4, c.inverseFrequencies().length);
        assertEquals(Math.pow(10000, -2.0 / 8), c.inverseFrequencies()[1], 1e-7, "float32");

        ObjectNode wide = gptjConfig().put("n_embd", 128).put("n_inner", 100);
        wide.remove("rotary_dim");
        wide.remove("activation_function");
        GptJConfig defaults = gptj(wide);
        assertEquals(64, defaults.rotaryDim(), "GPTJConfig's default rotary_dim");
        assertEquals(100, defaults.intermediateSize());
        assertEquals(ModelConfig.Activation.GELU_TANH, defaults.activation(), "GPTJConfig's default gelu_new");
    }

    @Test
    void readsGptNeoXWithTransformersDefaults() throws IOException {
        GptNeoXConfig c = neox(neoxConfig());
        assertEquals(24, c.headDim());
        assertEquals(6, c.rotaryDims(), "int(24 · 0.25)");
        assertEquals(ModelConfig.Activation.GELU_ERF, c.activation(), "hidden_act gelu is the exact GELU");
        assertTrue(c.parallelResidual() && c.attentionBias());
        assertEquals(Math.pow(10000, -2.0 / 6), c.inverseFrequencies()[1], 1e-7, "float32");

        ObjectNode other = neoxConfig().put("partial_rotary_factor", 0.5).put("rope_theta", 500.0).put("hidden_act", "gelu_new");
        other.remove("rotary_pct");
        other.remove("rotary_emb_base");
        other.remove("use_parallel_residual");
        GptNeoXConfig spelled = neox(other);
        assertEquals(12, spelled.rotaryDims(), "partial_rotary_factor read where rotary_pct is absent");
        assertEquals(500.0, spelled.rotaryBase(), "rope_theta read where rotary_emb_base is absent");
        assertEquals(ModelConfig.Activation.GELU_TANH, spelled.activation());
        assertTrue(spelled.parallelResidual(), "GPTNeoXConfig's default use_parallel_residual");
        assertFalse(neox(neoxConfig().put("use_parallel_residual", false)).parallelResidual());
        assertEquals(6, neox(neoxConfig().put("partial_rotary_factor", 0.5)).rotaryDims(), "rotary_pct wins over partial_rotary_factor");
    }

    @Test
    void badGptJConfigsSayWhatIsWrong() throws IOException {
        Function<Path, ?> read = GptJConfig::read;
        assertRejected(gptjConfig(), c -> c.put("n_head", 5), read, "n_embd 32 is not divisible by n_head 5");
        assertRejected(gptjConfig(), c -> c.put("rotary_dim", 24), read, "rotary_dim 24 must be between 1 and the head size 16");
        assertRejected(gptjConfig(), c -> c.put("rotary_dim", 7), read, "rotary_dim 7 is odd");
        assertRejected(gptjConfig(), c -> c.putNull("rotary_dim"), read, "rotary_dim null");
        assertRejected(gptjConfig(), c -> c.put("model_type", "gpt_neox"), read, "model_type 'gpt_neox'");
        assertRejected(gptjConfig(), c -> c.put("activation_function", "swish"), read, "unknown activation_function 'swish'");
        assertRejected(gptjConfig(), c -> c.remove("n_layer"), read, "missing or non-integer field 'n_layer'");
    }

    @Test
    void badGptNeoXConfigsSayWhatIsWrong() throws IOException {
        Function<Path, ?> read = GptNeoXConfig::read;
        assertRejected(neoxConfig(), c -> c.put("num_attention_heads", 5), read, "hidden_size 48 is not divisible by num_attention_heads 5");
        assertRejected(neoxConfig(), c -> c.put("rotary_pct", 1.5), read, "rotary_pct 1.5 must rotate between 1 and all of the head size 24");
        assertRejected(neoxConfig(), c -> c.put("rotary_pct", 0.125), read, "rotates 3 dims, an odd number");
        assertRejected(neoxConfig(), c -> c.put("model_type", "gptj"), read, "model_type 'gptj'");
        assertRejected(neoxConfig(), c -> c.putObject("rope_scaling").put("rope_type", "linear").put("factor", 2.0), read,
                "rope_scaling {\"rope_type\":\"linear\",\"factor\":2.0} is not supported");
        assertRejected(neoxConfig(), c -> c.put("hidden_act", "swish"), read, "hidden_act 'swish' is not supported");
        assertRejected(neoxConfig(), c -> c.remove("intermediate_size"), read, "missing or non-integer field 'intermediate_size'");
    }

    @Test
    void gptjLoadsTiedHeadWithItsBiasAndIgnoresBuffers() throws IOException {
        ObjectNode config = gptjConfig().put("tie_word_embeddings", true);
        Map<String, Shape> tensors = new LinkedHashMap<>(GptJ.expectedShapes(gptj(config)));
        assertFalse(tensors.containsKey("lm_head.weight"));
        assertTrue(tensors.containsKey("lm_head.bias"), "a tied GPT-J head keeps its own bias");
        tensors.put("lm_head.weight", new Shape(40, 32));
        tensors.put("transformer.h.0.attn.bias", new Shape(1, 1, 64, 64));
        tensors.put("transformer.h.0.attn.masked_bias", new Shape());
        tensors.put("transformer.h.1.attn.embed_positions", new Shape(64, 8));
        TestCheckpoints.write(tmp, config, tensors);
        try (GptJ model = GptJ.load(tmp, Device.cpu()); NDManager m = model.manager().newSubManager()) {
            assertFalse(model.weights().names().contains("lm_head.weight"));
            assertFalse(model.weights().names().contains("transformer.h.0.attn.bias"));
            NDArray logits = model.forward(m.create(new long[] {1, 5, 9}, new Shape(1, 3)), Hooks.none());
            assertEquals(new Shape(1, 3, 40), logits.getShape());
        }
    }

    @Test
    void gptNeoXLoadsTiedHeadWithoutAttentionBiasesAndIgnoresBuffers() throws IOException {
        ObjectNode config = neoxConfig().put("tie_word_embeddings", true).put("attention_bias", false);
        Map<String, Shape> tensors = new LinkedHashMap<>(GptNeoX.expectedShapes(neox(config)));
        assertFalse(tensors.containsKey("embed_out.weight"));
        assertFalse(tensors.containsKey("gpt_neox.layers.0.attention.query_key_value.bias"));
        assertTrue(tensors.containsKey("gpt_neox.layers.0.mlp.dense_4h_to_h.bias"));
        tensors.put("embed_out.weight", new Shape(40, 48));
        tensors.put("gpt_neox.layers.0.attention.bias", new Shape(1, 1, 64, 64));
        tensors.put("gpt_neox.layers.0.attention.masked_bias", new Shape());
        tensors.put("gpt_neox.layers.1.attention.rotary_emb.inv_freq", new Shape(3));
        TestCheckpoints.write(tmp, config, tensors);
        try (GptNeoX model = GptNeoX.load(tmp, Device.cpu()); NDManager m = model.manager().newSubManager()) {
            assertFalse(model.weights().names().contains("embed_out.weight"));
            NDArray logits = model.forward(m.create(new long[] {1, 5, 9}, new Shape(1, 3)), Hooks.none());
            assertEquals(new Shape(1, 3, 40), logits.getShape());
        }
    }

    @Test
    void missingUnexpectedAndMisshapenTensorsAreNamed() throws IOException {
        ObjectNode gptj = gptjConfig();
        Map<String, Shape> gptjShapes = new LinkedHashMap<>(GptJ.expectedShapes(gptj(gptj)));
        gptjShapes.remove("lm_head.bias");
        TestCheckpoints.write(tmp, gptj, gptjShapes);
        assertFails(() -> GptJ.load(tmp, Device.cpu()).close(), "missing tensors [lm_head.bias] for a gptj model with 2 layers");

        ObjectNode neox = neoxConfig();
        Map<String, Shape> neoxShapes = new LinkedHashMap<>(GptNeoX.expectedShapes(neox(neox)));
        neoxShapes.put("gpt_neox.layers.2.mlp.dense_h_to_4h.weight", new Shape(64, 48));
        TestCheckpoints.write(tmp, neox, neoxShapes);
        assertFails(() -> GptNeoX.load(tmp, Device.cpu()).close(),
                "unexpected tensor 'gpt_neox.layers.2.mlp.dense_h_to_4h.weight' for a gpt_neox model with 2 layers");

        neoxShapes = new LinkedHashMap<>(GptNeoX.expectedShapes(neox(neox)));
        neoxShapes.put("gpt_neox.layers.0.attention.query_key_value.weight", new Shape(48, 48));
        TestCheckpoints.write(tmp, neox, neoxShapes);
        assertFails(() -> GptNeoX.load(tmp, Device.cpu()).close(),
                "tensor 'gpt_neox.layers.0.attention.query_key_value.weight' has shape (48, 48) but config.json implies (144, 48)");
    }
}
