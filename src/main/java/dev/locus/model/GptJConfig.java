package dev.locus.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;

/**
 * The architecture hyperparameters of a GPT-J checkpoint (Hugging Face model_type {@code gptj}), as
 * its config.json gives them; accessors are named as {@link LlamaConfig}'s.
 *
 * @param layers            n_layer
 * @param hiddenSize        n_embd
 * @param heads             n_head
 * @param rotaryDim         rotary_dim: the first dims of each head that are rotated, in interleaved pairs (2i, 2i+1)
 * @param intermediateSize  n_inner, or 4·n_embd where it is null
 * @param maxPositions      n_positions
 * @param activation        activation_function (gelu_new)
 * @param tiedEmbeddings    tie_word_embeddings: lm_head.weight is the token embeddings (lm_head.bias is stored either way)
 */
public record GptJConfig(int layers, int hiddenSize, int heads, int rotaryDim, int intermediateSize, int vocabSize,
                         int maxPositions, float layerNormEps, ModelConfig.Activation activation, boolean tiedEmbeddings) {

    /** GPT-J's rotary base, fixed in HF's create_sinusoidal_positions. */
    static final double ROTARY_BASE = 10000;

    public GptJConfig {
        if (layers <= 0 || hiddenSize <= 0 || heads <= 0 || intermediateSize <= 0 || vocabSize <= 0 || maxPositions <= 0) {
            throw new ModelLoadException("config: sizes must be positive, got n_layer=" + layers + " n_embd=" + hiddenSize
                    + " n_head=" + heads + " n_inner=" + intermediateSize + " vocab_size=" + vocabSize + " n_positions=" + maxPositions);
        }
        if (hiddenSize % heads != 0) {
            throw new ModelLoadException("config: n_embd " + hiddenSize + " is not divisible by n_head " + heads);
        }
        if (rotaryDim <= 0 || rotaryDim > hiddenSize / heads) {
            throw new ModelLoadException("config: rotary_dim " + rotaryDim + " must be between 1 and the head size "
                    + hiddenSize / heads + " (n_embd / n_head)");
        }
        if (rotaryDim % 2 != 0) {
            throw new ModelLoadException("config: rotary_dim " + rotaryDim + " is odd; rotary embeddings rotate pairs of dimensions");
        }
        if (!(layerNormEps > 0)) {
            throw new ModelLoadException("config: layer_norm_epsilon " + layerNormEps + " must be positive");
        }
    }

    public int headDim() {
        return hiddenSize / heads;
    }

    /** The rotary frequencies 10000^(-2i/rotary_dim) for i = 0 .. rotary_dim/2-1. */
    public float[] inverseFrequencies() {
        return Rotary.inverseFrequencies(ROTARY_BASE, rotaryDim);
    }

    /** Reads config.json, with the defaults of transformers' GPTJConfig. */
    public static GptJConfig read(Path file) {
        JsonNode n = Checkpoint.readConfig(file, "GptJ", "gptj");
        JsonNode rotary = n.path("rotary_dim");
        if (rotary.isNull()) {
            throw new ModelLoadException(file + ": rotary_dim null (rotary embeddings over whole heads) is not supported;"
                    + " give rotary_dim, the number of rotated dims of each head");
        }
        int hidden = Checkpoint.requiredInt(file, n, "n_embd");
        return new GptJConfig(
                Checkpoint.requiredInt(file, n, "n_layer"), hidden,
                Checkpoint.requiredInt(file, n, "n_head"),
                rotary.isMissingNode() ? 64 : Checkpoint.requiredInt(file, n, "rotary_dim"),
                n.path("n_inner").canConvertToInt() ? n.get("n_inner").asInt() : 4 * hidden,
                Checkpoint.requiredInt(file, n, "vocab_size"),
                n.path("n_positions").asInt(2048),
                (float) n.path("layer_norm_epsilon").asDouble(1e-5),
                ModelConfig.Activation.of(n.path("activation_function").asText("gelu_new")),
                n.path("tie_word_embeddings").asBoolean(false));
    }
}
