package dev.locus.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;

/**
 * The architecture hyperparameters of a GPT-NeoX checkpoint (Hugging Face model_type {@code gpt_neox}:
 * Pythia, GPT-NeoX-20B), as its config.json gives them; accessors are named as {@link LlamaConfig}'s.
 *
 * @param rotaryPct         rotary_pct (HF also writes it as partial_rotary_factor): the share of each head that is rotated
 * @param rotaryBase        rotary_emb_base (also written as rope_theta)
 * @param activation        hidden_act: gelu is the exact (erf) GELU, gelu_new the tanh approximation
 * @param parallelResidual  use_parallel_residual: x + attn(ln1 x) + mlp(ln2 x); else x' = x + attn(ln1 x), x' + mlp(ln2 x')
 * @param attentionBias     attention_bias: query_key_value and dense have biases
 * @param tiedEmbeddings    tie_word_embeddings: embed_out.weight is gpt_neox.embed_in.weight
 */
public record GptNeoXConfig(int layers, int hiddenSize, int heads, int intermediateSize, int vocabSize, int maxPositions,
                            float layerNormEps, double rotaryPct, double rotaryBase, ModelConfig.Activation activation,
                            boolean parallelResidual, boolean attentionBias, boolean tiedEmbeddings) {

    public GptNeoXConfig {
        if (layers <= 0 || hiddenSize <= 0 || heads <= 0 || intermediateSize <= 0 || vocabSize <= 0 || maxPositions <= 0) {
            throw new ModelLoadException("config: sizes must be positive, got num_hidden_layers=" + layers + " hidden_size="
                    + hiddenSize + " num_attention_heads=" + heads + " intermediate_size=" + intermediateSize + " vocab_size="
                    + vocabSize + " max_position_embeddings=" + maxPositions);
        }
        if (hiddenSize % heads != 0) {
            throw new ModelLoadException("config: hidden_size " + hiddenSize + " is not divisible by num_attention_heads " + heads);
        }
        int head = hiddenSize / heads;
        int rotary = (int) (head * rotaryPct);
        if (!(rotaryPct > 0 && rotaryPct <= 1) || rotary == 0) {
            throw new ModelLoadException("config: rotary_pct " + rotaryPct + " must rotate between 1 and all of the head size "
                    + head + " dims (0 < rotary_pct <= 1), but rotates int(" + head + " * " + rotaryPct + ") = " + rotary);
        }
        if (rotary % 2 != 0) {
            throw new ModelLoadException("config: rotary_pct " + rotaryPct + " of head size " + head + " rotates " + rotary
                    + " dims, an odd number; rotary embeddings rotate pairs of dimensions");
        }
        if (!(layerNormEps > 0) || !(rotaryBase > 0)) {
            throw new ModelLoadException("config: layer_norm_eps " + layerNormEps + " and rotary_emb_base " + rotaryBase
                    + " must be positive");
        }
    }

    public int headDim() {
        return hiddenSize / heads;
    }

    /** HF's rotary_ndims, int(head_dim · rotary_pct): the first dims of each head that are rotated (rotate_half pairs). */
    public int rotaryDims() {
        return (int) (headDim() * rotaryPct);
    }

    /** The rotary frequencies base^(-2i/rotary_ndims) for i = 0 .. rotary_ndims/2-1. */
    public float[] inverseFrequencies() {
        return Rotary.inverseFrequencies(rotaryBase, rotaryDims());
    }

    /** Reads config.json, with the defaults of transformers' GPTNeoXConfig. */
    public static GptNeoXConfig read(Path file) {
        JsonNode n = Checkpoint.readConfig(file, "GptNeoX", "gpt_neox");
        JsonNode scaling = n.path("rope_scaling");
        if (!scaling.isMissingNode() && !scaling.isNull()
                && !scaling.path("rope_type").asText(scaling.path("type").asText("")).equals("default")) {
            throw new ModelLoadException(file + ": rope_scaling " + scaling + " is not supported (only plain rotary);"
                    + " remove it only if the checkpoint was trained without it");
        }
        String act = n.path("hidden_act").asText("gelu");
        ModelConfig.Activation activation;
        try {
            activation = ModelConfig.Activation.of(act);
        } catch (ModelLoadException e) {
            throw new ModelLoadException(file + ": hidden_act '" + act + "' is not supported (gelu, gelu_new, relu and"
                    + " the tanh GELUs are)", e);
        }
        return new GptNeoXConfig(
                Checkpoint.requiredInt(file, n, "num_hidden_layers"),
                Checkpoint.requiredInt(file, n, "hidden_size"),
                Checkpoint.requiredInt(file, n, "num_attention_heads"),
                Checkpoint.requiredInt(file, n, "intermediate_size"),
                Checkpoint.requiredInt(file, n, "vocab_size"),
                n.path("max_position_embeddings").asInt(2048),
                (float) n.path("layer_norm_eps").asDouble(1e-5),
                // HF writes both spellings; rotary_pct and rotary_emb_base win, as in GPTNeoXConfig.__init__.
                n.path("rotary_pct").asDouble(n.path("partial_rotary_factor").asDouble(0.25)),
                n.path("rotary_emb_base").asDouble(n.path("rope_theta").asDouble(10000)),
                activation,
                n.path("use_parallel_residual").asBoolean(true),
                n.path("attention_bias").asBoolean(true),
                n.path("tie_word_embeddings").asBoolean(false));
    }
}
