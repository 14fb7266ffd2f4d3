package dev.locus.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The architecture hyperparameters of a Llama-family checkpoint (Hugging Face model_type
 * {@code llama}, {@code mistral} or {@code qwen2}), as its config.json gives them. The three
 * differ only in which projections carry biases and whether attention has a sliding window.
 *
 * @param headDim        config field {@code head_dim}, else hidden_size / num_attention_heads
 * @param ropeScaling    null for plain rotary frequencies
 * @param qkvBias        q/k/v projections have biases (qwen2 always; llama with {@code attention_bias})
 * @param outputBias     o_proj has a bias (llama with {@code attention_bias}; never qwen2)
 * @param slidingWindow  null for none; else a query at position i sees keys at i-W+1 .. i (Mistral)
 */
public record LlamaConfig(String modelType, int layers, int hiddenSize, int heads, int kvHeads, int headDim,
                          int intermediateSize, int vocabSize, int maxPositions, float rmsNormEps, double ropeTheta,
                          Llama3Scaling ropeScaling, boolean tiedEmbeddings, boolean qkvBias, boolean outputBias,
                          boolean mlpBias, Integer slidingWindow) {

    public LlamaConfig {
        if (layers <= 0 || hiddenSize <= 0 || heads <= 0 || kvHeads <= 0 || headDim <= 0 || intermediateSize <= 0
                || vocabSize <= 0 || maxPositions <= 0) {
            throw new ModelLoadException("config: sizes must be positive, got num_hidden_layers=" + layers
                    + " hidden_size=" + hiddenSize + " num_attention_heads=" + heads + " num_key_value_heads=" + kvHeads
                    + " head_dim=" + headDim + " intermediate_size=" + intermediateSize + " vocab_size=" + vocabSize
                    + " max_position_embeddings=" + maxPositions);
        }
        if (heads % kvHeads != 0) {
            throw new ModelLoadException("config: num_attention_heads " + heads + " is not divisible by num_key_value_heads "
                    + kvHeads + " (each key/value head serves the same number of query heads)");
        }
        if (headDim % 2 != 0) {
            throw new ModelLoadException("config: head_dim " + headDim + " is odd; rotary embeddings rotate pairs of dimensions");
        }
        if (!(rmsNormEps > 0) || !(ropeTheta > 0)) {
            throw new ModelLoadException("config: rms_norm_eps " + rmsNormEps + " and rope_theta " + ropeTheta + " must be positive");
        }
        if (slidingWindow != null && slidingWindow <= 0) {
            throw new ModelLoadException("config: sliding_window " + slidingWindow + " must be positive, or null for none");
        }
    }

    /** How many query heads share one key/value head (grouped-query attention). */
    public int queriesPerKvHead() {
        return heads / kvHeads;
    }

    /**
     * The rotary frequencies theta^(-2i/d) for i = 0 .. d/2-1 (HF {@code _compute_default_rope_parameters}),
     * rescaled as {@code _compute_llama3_parameters} does when the config asks for it.
     */
    public float[] inverseFrequencies() {
        return ropeScaling == null ? Rotary.inverseFrequencies(ropeTheta, headDim)
                : Rotary.inverseFrequencies(ropeTheta, headDim, ropeScaling::rescale);
    }

    /**
     * Llama 3.1's frequency rescaling: wavelengths shorter than the original context / high_freq_factor
     * are kept, those longer than original / low_freq_factor are divided by factor, and those between
     * are interpolated smoothly.
     */
    public record Llama3Scaling(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {

        public Llama3Scaling {
            if (!(factor > 0) || !(lowFreqFactor > 0) || !(highFreqFactor > lowFreqFactor) || originalMaxPositions <= 0) {
                throw new ModelLoadException("config: rope_scaling llama3 needs factor > 0, 0 < low_freq_factor < high_freq_factor"
                        + " and original_max_position_embeddings > 0; got factor " + factor + ", low_freq_factor " + lowFreqFactor
                        + ", high_freq_factor " + highFreqFactor + ", original_max_position_embeddings " + originalMaxPositions);
            }
        }

        double rescale(double inverseFrequency) {
            double wavelength = 2 * Math.PI / inverseFrequency;
            if (wavelength < originalMaxPositions / highFreqFactor) {
                return inverseFrequency;
            }
            if (wavelength > originalMaxPositions / lowFreqFactor) {
                return inverseFrequency / factor;
            }
            double smooth = (originalMaxPositions / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
            return (1 - smooth) * inverseFrequency / factor + smooth * inverseFrequency;
        }
    }

    /** Reads config.json, with the defaults of transformers' LlamaConfig, MistralConfig and Qwen2Config. */
    public static LlamaConfig read(Path file) {
        JsonNode n = Checkpoint.readConfig(file, "Llama", "llama", "mistral", "qwen2");
        String type = n.get("model_type").asText();
        String act = n.path("hidden_act").asText("silu");
        if (!act.equals("silu")) {
            throw new ModelLoadException(file + ": hidden_act '" + act + "' is not supported; the Llama family's MLP uses silu");
        }
        int hidden = Checkpoint.requiredInt(file, n, "hidden_size");
        int heads = Checkpoint.requiredInt(file, n, "num_attention_heads");
        boolean explicitHeadDim = n.path("head_dim").canConvertToInt();
        if (!explicitHeadDim && heads > 0 && hidden % heads != 0) {
            throw new ModelLoadException(file + ": hidden_size " + hidden + " is not divisible by num_attention_heads " + heads
                    + "; give head_dim explicitly or fix the head count");
        }
        int headDim = explicitHeadDim ? n.get("head_dim").asInt() : heads > 0 ? hidden / heads : 0;
        boolean llama = type.equals("llama");
        boolean attentionBias = llama && n.path("attention_bias").asBoolean(false);
        return new LlamaConfig(type,
                Checkpoint.requiredInt(file, n, "num_hidden_layers"), hidden, heads,
                n.path("num_key_value_heads").canConvertToInt() ? n.get("num_key_value_heads").asInt() : heads, // HF: None → MHA
                headDim,
                Checkpoint.requiredInt(file, n, "intermediate_size"),
                Checkpoint.requiredInt(file, n, "vocab_size"),
                Checkpoint.requiredInt(file, n, "max_position_embeddings"),
                (float) n.path("rms_norm_eps").asDouble(1e-6),
                n.path("rope_theta").asDouble(10000),
                ropeScaling(file, n.path("rope_scaling")),
                n.path("tie_word_embeddings").asBoolean(false),
                attentionBias || type.equals("qwen2"), attentionBias,
                llama && n.path("mlp_bias").asBoolean(false),
                slidingWindow(file, type, n));
    }

    /**
     * A plain Llama (no biases, no window, no rope scaling, tied head), as the Llama testbed is:
     * head_dim = hidden / heads.
     */
    public static LlamaConfig plain(int layers, int hidden, int heads, int kvHeads, int intermediate, int vocabulary,
                                    int positions, float rmsNormEps, double ropeTheta) {
        if (heads <= 0 || hidden % heads != 0) {
            throw new ModelLoadException("hidden size " + hidden + " is not divisible by " + heads + " heads");
        }
        return new LlamaConfig("llama", layers, hidden, heads, kvHeads, hidden / heads, intermediate, vocabulary, positions,
                rmsNormEps, ropeTheta, null, true, false, false, false, null);
    }

    /** Writes config.json as transformers' LlamaConfig reads it: model_type llama without biases or a window, as {@link #plain} makes. */
    public void write(Path file) throws IOException {
        if (!modelType.equals("llama") || qkvBias || outputBias || mlpBias || slidingWindow != null) {
            throw new IllegalStateException("only a llama config without biases and window can be written, not " + this);
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode n = json.createObjectNode();
        n.put("model_type", "llama");
        n.putArray("architectures").add("LlamaForCausalLM");
        n.put("num_hidden_layers", layers).put("hidden_size", hiddenSize).put("num_attention_heads", heads)
                .put("num_key_value_heads", kvHeads).put("head_dim", headDim).put("intermediate_size", intermediateSize)
                .put("vocab_size", vocabSize).put("max_position_embeddings", maxPositions).put("rms_norm_eps", rmsNormEps)
                .put("rope_theta", ropeTheta).put("hidden_act", "silu").put("tie_word_embeddings", tiedEmbeddings)
                .put("attention_bias", false).put("mlp_bias", false).put("torch_dtype", "float32");
        if (ropeScaling != null) {
            n.putObject("rope_scaling").put("rope_type", "llama3").put("factor", ropeScaling.factor())
                    .put("low_freq_factor", ropeScaling.lowFreqFactor()).put("high_freq_factor", ropeScaling.highFreqFactor())
                    .put("original_max_position_embeddings", ropeScaling.originalMaxPositions());
        }
        json.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), n);
    }

    private static Llama3Scaling ropeScaling(Path file, JsonNode s) {
        if (s.isMissingNode() || s.isNull()) {
            return null;
        }
        // HF renamed "type" to "rope_type" and keeps reading both; "default" is plain rotary.
        String kind = s.path("rope_type").asText(s.path("type").asText(""));
        if (kind.equals("default")) {
            return null;
        }
        if (!kind.equals("llama3")) {
            throw new ModelLoadException(file + ": rope_scaling type '" + kind + "' is not supported (only llama3);"
                    + " remove rope_scaling only if the checkpoint was trained without it");
        }
        return new Llama3Scaling(s.path("factor").asDouble(0), s.path("low_freq_factor").asDouble(0),
                s.path("high_freq_factor").asDouble(0), s.path("original_max_position_embeddings").asInt(0));
    }

    private static Integer slidingWindow(Path file, String type, JsonNode n) {
        JsonNode window = n.path("sliding_window");
        if (type.equals("llama") || !window.canConvertToInt()) {
            return null;
        }
        if (type.equals("qwen2")) {
            if (!n.path("use_sliding_window").asBoolean(false)) {
                return null; // Qwen2 stores a window size but uses it only with use_sliding_window
            }
            // HF applies Qwen2's window only to layers >= max_window_layers, and not uniformly across attention kernels.
            throw new ModelLoadException(file + ": qwen2 with use_sliding_window true is not supported"
                    + " (its per-layer window, max_window_layers, is not implemented); set it false only if the checkpoint"
                    + " was trained without a window");
        }
        return window.asInt();
    }
}
