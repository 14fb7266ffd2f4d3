package dev.locus.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;

/** The architecture hyperparameters of a GPT-2 checkpoint, as its Hugging Face config.json gives them. */
public record ModelConfig(int nLayer, int nEmbd, int nHead, int nPositions, int vocabSize,
                          int nInner, float layerNormEpsilon, String activation) {

    public ModelConfig {
        if (nLayer <= 0 || nEmbd <= 0 || nInner <= 0 || nHead <= 0 || nPositions <= 0 || vocabSize <= 0) {
            throw new ModelLoadException("config: sizes must be positive, got n_layer=" + nLayer + " n_embd="
                    + nEmbd + " n_head=" + nHead + " n_positions=" + nPositions + " vocab_size=" + vocabSize);
        }
        if (nEmbd % nHead != 0) {
            throw new ModelLoadException("config: n_embd " + nEmbd + " is not divisible by n_head " + nHead);
        }
        Activation.of(activation); // fails early on an unknown activation
    }

    public int headDim() {
        return nEmbd / nHead;
    }

    /** Reads config.json; rejects architectures other than GPT-2 with a message naming what it found. */
    public static ModelConfig read(Path file) {
        JsonNode n = Checkpoint.readJson(file);
        String type = n.path("model_type").asText("");
        boolean gpt2 = type.equals("gpt2");
        for (JsonNode a : n.path("architectures")) {
            gpt2 |= a.asText().startsWith("GPT2");
        }
        if (!gpt2) {
            throw new ModelLoadException(file + ": unsupported architecture (model_type '" + type
                    + "', architectures " + n.path("architectures") + "); Locus runs GPT-2 checkpoints");
        }
        return new ModelConfig(
                Checkpoint.requiredInt(file, n, "n_layer"), Checkpoint.requiredInt(file, n, "n_embd"), Checkpoint.requiredInt(file, n, "n_head"),
                n.has("n_positions") ? n.get("n_positions").asInt() : Checkpoint.requiredInt(file, n, "n_ctx"),
                Checkpoint.requiredInt(file, n, "vocab_size"),
                n.path("n_inner").canConvertToInt() ? n.get("n_inner").asInt() : 4 * Checkpoint.requiredInt(file, n, "n_embd"),
                (float) n.path("layer_norm_epsilon").asDouble(1e-5),
                n.path("activation_function").asText("gelu_new"));
    }

    public void write(Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode n = json.createObjectNode();
        n.put("model_type", "gpt2");
        n.putArray("architectures").add("GPT2LMHeadModel");
        n.put("n_layer", nLayer).put("n_embd", nEmbd).put("n_head", nHead).put("n_positions", nPositions)
                .put("n_ctx", nPositions).put("vocab_size", vocabSize).put("n_inner", nInner).put("layer_norm_epsilon", layerNormEpsilon)
                .put("activation_function", activation);
        json.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), n);
    }

    /** The MLP nonlinearities GPT-2 configs name. */
    public enum Activation {
        GELU_TANH, GELU_ERF, RELU;

        public static Activation of(String name) {
            return switch (name) {
                case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> GELU_TANH;
                case "gelu" -> GELU_ERF;
                case "relu" -> RELU;
                default -> throw new ModelLoadException("config: unknown activation_function '" + name + "'");
            };
        }
    }
}
