package dev.locus.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Llama family (Llama 2 and 3, Mistral, Qwen2) in DJL NDArray ops, on Hugging Face weights as
 * stored: pre-RMSNorm blocks, rotary position embeddings on queries and keys, grouped-query causal
 * attention scaled by 1/sqrt(head_dim) (with Mistral's sliding window), a SwiGLU MLP, and an LM
 * head that may be tied to the token embeddings. Linear weights are [out, in], so a projection is
 * x·Wᵀ (+ b where the checkpoint has biases). Every activation tracing or editing touches passes
 * through a {@link HookPoint}, with the same meaning as in {@link Gpt2}.
 *
 * <p>Positions are explicit, since rotary embeddings depend on them: a left-padded row's first real
 * token is position 0. Null positions mean 0 .. tokens-1. An attention mask is [rows, keys] of 1
 * (a token) and 0 (padding, which no query attends to). Causality and the sliding window go by the
 * index in the sequence, as HF's masks go by cache position, not by position ids; where a row's
 * real tokens are contiguous the two agree.
 *
 * <p>Intermediate arrays attach to the manager of the token ids, so a caller that creates its
 * inputs in a sub-manager frees the whole pass by closing it.
 */
public final class Llama implements Transformer {
    private final LlamaConfig config;
    private final NDManager manager;
    private final Weights weights;
    private final String headWeight;
    private final NDArray inverseFrequencies;
    // Scalars as arrays owned by the model: Number overloads under autograd can read freed memory.
    private final NDArray one;
    private final NDArray maskPenalty;
    private final NDArray rmsNormEps;
    private final NDArray sqrtHeadDim;

    private Llama(LlamaConfig config, NDManager manager, Map<String, NDArray> tensors) {
        this.config = config;
        this.manager = manager;
        this.weights = new Weights(tensors, manager);
        this.headWeight = config.tiedEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight";
        this.inverseFrequencies = manager.create(config.inverseFrequencies());
        this.one = manager.create(1f);
        this.maskPenalty = manager.create(1e9f);
        this.rmsNormEps = manager.create(config.rmsNormEps());
        this.sqrtHeadDim = manager.create((float) Math.sqrt(config.headDim()));
    }

    // ---------------------------------------------------------------- forward pass

    /** The residual stream entering block 0: the token embeddings (hook point "embed"; positions enter at the attention's rotary). */
    @Override
    public NDArray embed(NDArray tokens, NDArray positions, Hooks hooks) {
        NDArray x = Embedding.embedding(tokens, weights.get("model.embed_tokens.weight"), SparseFormat.DENSE).singletonOrThrow();
        return hooks.apply(HookPoint.embed(), x);
    }

    /** The final RMSNorm and the LM head: logits = norm(x)·Wᵀ, W = lm_head or the tied token embeddings. */
    @Override
    public NDArray head(NDArray x) {
        return Linear.linear(rmsNorm(x, "model.norm.weight"), weights.get(headWeight)).singletonOrThrow();
    }

    /**
     * One decoder layer on the residual stream {@code x} entering it. {@code pastKeys} and
     * {@code pastValues} ([rows, kv_heads, prefix, head_dim], rotated at their own positions, or
     * null) are those of the tokens before x's: they take sequence indices 0 .. prefix-1 and x's
     * tokens the next ones, which is what causality and the sliding window go by, so no key
     * positions are needed. {@code positions} are x's tokens' rotary positions (null: prefix ..
     * prefix+tokens-1); {@code keyMask} ([rows, prefix + tokens] of 1/0, or null) marks the padding
     * among the past keys and x's own.
     */
    @Override
    public NDArray block(int layer, NDArray x, NDArray positions, NDArray keyMask, Hooks hooks,
                         NDArray pastKeys, NDArray pastValues) {
        String p = "model.layers." + layer + ".";
        NDArray attn = hooks.apply(HookPoint.attnOut(layer),
                attention(p + "self_attn.", rmsNorm(x, p + "input_layernorm.weight"), positions, keyMask, pastKeys, pastValues));
        x = x.add(attn);
        NDArray h = rmsNorm(x, p + "post_attention_layernorm.weight");
        // SwiGLU: the gated product is the input of down_proj, the key k that ROME edits.
        NDArray key = hooks.apply(HookPoint.mlpKey(layer), silu(linear(h, p + "mlp.gate_proj")).mul(linear(h, p + "mlp.up_proj")));
        NDArray mlp = hooks.apply(HookPoint.mlpOut(layer), linear(key, p + "mlp.down_proj"));
        return hooks.apply(HookPoint.blockOut(layer), x.add(mlp));
    }

    /**
     * The rotated keys and the values ([rows, kv_heads, tokens, head_dim]) block {@code layer}
     * computes from the stream {@code x} entering it, at {@code positions} (null: 0 .. tokens-1).
     */
    @Override
    public NDArray[] keysAndValues(int layer, NDArray x, NDArray positions) {
        String p = "model.layers." + layer + ".";
        NDArray[] rotary = rotary(positionsOrDefault(x, positions, 0));
        return projectKeysAndValues(p + "self_attn.", rmsNorm(x, p + "input_layernorm.weight"), rotary);
    }

    private NDArray[] projectKeysAndValues(String p, NDArray normed, NDArray[] rotary) {
        NDArray keys = rotate(splitHeads(linear(normed, p + "k_proj"), config.kvHeads()), rotary);
        return new NDArray[] {keys, splitHeads(linear(normed, p + "v_proj"), config.kvHeads())};
    }

    private NDArray attention(String p, NDArray normed, NDArray positions, NDArray keyMask, NDArray pastKeys, NDArray pastValues) {
        long rows = normed.getShape().get(0);
        int length = (int) normed.getShape().get(1);
        int prefix = pastKeys == null ? 0 : (int) pastKeys.getShape().get(2);
        NDArray[] rotary = rotary(positionsOrDefault(normed, positions, prefix));
        NDArray q = rotate(splitHeads(linear(normed, p + "q_proj"), config.heads()), rotary);
        NDArray[] kv = projectKeysAndValues(p, normed, rotary);
        NDArray k = kv[0];
        NDArray v = kv[1];
        if (pastKeys != null) {
            k = pastKeys.concat(k, 2);
            v = pastValues.concat(v, 2);
        }
        NDArray scores = q.matMul(shareKvHeads(k).transpose(0, 1, 3, 2)).div(sqrtHeadDim)
                .add(attentionBias(normed.getManager(), length, prefix, keyMask));
        NDArray y = scores.softmax(-1).matMul(shareKvHeads(v)).transpose(0, 2, 1, 3)
                .reshape(rows, length, (long) config.heads() * config.headDim());
        return linear(y, p + "o_proj");
    }

    /** [rows, tokens, count·head_dim] → [rows, count, tokens, head_dim]. */
    private NDArray splitHeads(NDArray a, int count) {
        Shape s = a.getShape();
        return a.reshape(s.get(0), s.get(1), count, config.headDim()).transpose(0, 2, 1, 3);
    }

    /** Grouped-query attention (HF repeat_kv): [rows, kv_heads, keys, head_dim] → [rows, heads, keys, head_dim], query head h reading kv head h / (heads / kv_heads). */
    private NDArray shareKvHeads(NDArray a) {
        int group = config.queriesPerKvHead();
        if (group == 1) {
            return a;
        }
        Shape s = a.getShape();
        return a.expandDims(2).repeat(2, group).reshape(s.get(0), config.heads(), s.get(2), s.get(3));
    }

    private NDArray positionsOrDefault(NDArray x, NDArray positions, int prefix) {
        long length = x.getShape().get(1);
        if (positions == null) {
            return x.getManager().arange(prefix, prefix + (int) length, 1, DataType.INT64).reshape(1, length);
        }
        if (positions.getShape().dimension() != 2 || positions.getShape().get(1) != length) {
            throw new IllegalArgumentException("positions have shape " + positions.getShape() + "; expected [rows, " + length + "]");
        }
        return positions;
    }

    /**
     * cos and sin of the rotary angles, [rows or 1, 1, tokens, head_dim]: position × inverse
     * frequency, repeated over both halves because dims i and i + head_dim/2 form a pair (HF).
     */
    private NDArray[] rotary(NDArray positions) {
        NDArray angles = positions.toType(DataType.FLOAT32, false).expandDims(-1).mul(inverseFrequencies);
        angles = angles.concat(angles, -1).expandDims(1);
        return new NDArray[] {angles.cos(), angles.sin()};
    }

    /** HF apply_rotary_pos_emb: x·cos + rotate_half(x)·sin, where rotate_half(x1, x2) = (-x2, x1) for the two halves of each head. */
    private NDArray rotate(NDArray x, NDArray[] rotary) {
        int half = config.headDim() / 2;
        NDArray rotated = x.get("..., " + half + ":").neg().concat(x.get("..., :" + half), -1);
        return x.mul(rotary[0]).add(rotated.mul(rotary[1]));
    }

    /**
     * Added to the scores, [rows or 1, 1, tokens, prefix + tokens]: 0 where query i (sequence index
     * prefix + i) may attend key j, -1e9 where j is later, outside the sliding window
     * (j ≤ prefix + i - W), or padding. Large but finite, so an all-padding row stays free of NaN.
     */
    private NDArray attentionBias(NDManager m, int length, int prefix, NDArray keyMask) {
        int keys = prefix + length;
        Integer window = config.slidingWindow();
        float[] bias = new float[length * keys];
        for (int i = 0; i < length; i++) {
            int query = prefix + i;
            for (int j = 0; j < keys; j++) {
                if (j > query || window != null && j <= query - window) {
                    bias[i * keys + j] = -1e9f;
                }
            }
        }
        NDArray causal = m.create(bias, new Shape(1, 1, length, keys));
        if (keyMask == null) {
            return causal;
        }
        if (keyMask.getShape().dimension() != 2 || keyMask.getShape().get(1) != keys) {
            throw new IllegalArgumentException("attention mask has shape " + keyMask.getShape() + "; expected [rows, " + keys + "]");
        }
        // (mask - 1)·1e9: 0 at tokens, -1e9 at padding.
        NDArray padding = keyMask.toType(DataType.FLOAT32, false).sub(one).mul(maskPenalty);
        return causal.add(padding.reshape(keyMask.getShape().get(0), 1, 1, keys));
    }

    private NDArray silu(NDArray x) {
        return x.mul(Activation.sigmoid(x));
    }

    /** HF nn.Linear: x·Wᵀ, plus the bias where the checkpoint has one. */
    private NDArray linear(NDArray x, String name) {
        NDArray w = weights.get(name + ".weight");
        String bias = name + ".bias";
        return (weights.names().contains(bias) ? Linear.linear(x, w, weights.get(bias)) : Linear.linear(x, w)).singletonOrThrow();
    }

    /** HF LlamaRMSNorm, x / sqrt(mean(x²) + eps) · w, in float32 (HF's precision for it; Locus holds every tensor in float32). */
    private NDArray rmsNorm(NDArray x, String weight) {
        NDArray meanSquare = x.square().mean(new int[] {-1}, true);
        return x.div(meanSquare.add(rmsNormEps).sqrt()).mul(weights.get(weight));
    }

    // ---------------------------------------------------------------- parameters

    public LlamaConfig config() {
        return config;
    }

    @Override
    public Dimensions dimensions() {
        return new Dimensions(config.modelType(), config.layers(), config.hiddenSize(), config.intermediateSize(), config.maxPositions(),
                config.vocabSize());
    }

    @Override
    public Weights weights() {
        return weights;
    }

    @Override
    public NDManager manager() {
        return manager;
    }

    @Override
    public NDArray tokenEmbeddings() {
        return weights.get("model.embed_tokens.weight");
    }

    /** down_proj, an nn.Linear ([out, in]), with a bias only where the config asks for MLP biases. */
    @Override
    public EditSite editSite(int layer) {
        String p = "model.layers." + layer + ".mlp.down_proj.";
        return MlpProjection.linear(weights, layer, p + "weight", config.mlpBias() ? p + "bias" : null);
    }

    /** Tensor names (HF's, with the "model." prefix) and shapes a checkpoint of this config must contain. */
    public static Map<String, Shape> expectedShapes(LlamaConfig c) {
        Map<String, Shape> s = new LinkedHashMap<>();
        long d = c.hiddenSize();
        long q = (long) c.heads() * c.headDim();
        long kv = (long) c.kvHeads() * c.headDim();
        long inner = c.intermediateSize();
        s.put("model.embed_tokens.weight", new Shape(c.vocabSize(), d));
        for (int l = 0; l < c.layers(); l++) {
            String p = "model.layers." + l + ".";
            s.put(p + "input_layernorm.weight", new Shape(d));
            projection(s, p + "self_attn.q_proj", q, d, c.qkvBias());
            projection(s, p + "self_attn.k_proj", kv, d, c.qkvBias());
            projection(s, p + "self_attn.v_proj", kv, d, c.qkvBias());
            projection(s, p + "self_attn.o_proj", d, q, c.outputBias());
            s.put(p + "post_attention_layernorm.weight", new Shape(d));
            projection(s, p + "mlp.gate_proj", inner, d, c.mlpBias());
            projection(s, p + "mlp.up_proj", inner, d, c.mlpBias());
            projection(s, p + "mlp.down_proj", d, inner, c.mlpBias());
        }
        s.put("model.norm.weight", new Shape(d));
        if (!c.tiedEmbeddings()) {
            s.put("lm_head.weight", new Shape(c.vocabSize(), d));
        }
        return s;
    }

    private static void projection(Map<String, Shape> s, String name, long out, long in, boolean bias) {
        s.put(name + ".weight", new Shape(out, in));
        if (bias) {
            s.put(name + ".bias", new Shape(out));
        }
    }

    /**
     * Loads config.json and model.safetensors (or the shards model.safetensors.index.json lists)
     * from a Hugging Face Llama, Mistral or Qwen2 directory.
     */
    public static Llama load(Path dir, Device device) {
        LlamaConfig config = LlamaConfig.read(Checkpoint.configFile(dir));
        NDManager manager = NDManager.newBaseManager(device);
        try {
            String model = "a " + config.modelType() + " model with " + config.layers() + " layers"
                    + (config.tiedEmbeddings() ? " and a tied LM head" : "");
            return new Llama(config, manager, Checkpoint.tensors(dir, expectedShapes(config),
                    name -> isUnused(config, name) ? null : name, model, manager));
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /** Rotary-frequency buffers older checkpoints store, and a copy of a tied head some store besides the embeddings. */
    private static boolean isUnused(LlamaConfig config, String name) {
        return name.endsWith(".rotary_emb.inv_freq") || config.tiedEmbeddings() && name.equals("lm_head.weight");
    }

    @Override
    public void close() {
        manager.close();
    }
}
