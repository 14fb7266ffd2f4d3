package dev.locus.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * GPT-NeoX (Black et al. 2022; the Pythia models) in DJL NDArray ops, on Hugging Face weights as
 * stored: two LayerNorms per block, with a parallel residual x + attn(ln1 x) + mlp(ln2 x) or, where
 * the config says so, a sequential one, x' = x + attn(ln1 x), x' + mlp(ln2 x'); one fused
 * query_key_value projection whose rows are grouped per head, [q_h; k_h; v_h]; rotary position
 * embeddings on the first int(head_dim · rotary_pct) dims of each query and key head, in rotate_half
 * pairs; causal attention scaled by 1/sqrt(head_dim); an MLP dense_h_to_4h → GELU → dense_4h_to_h;
 * and an untied LM head, embed_out. Linear weights are [out, in]. Every activation tracing or
 * editing touches passes through a {@link HookPoint}, with the same meaning in every {@link Transformer}.
 *
 * <p>Positions, attention masks and past keys/values work as {@link Transformer} says: positions are
 * explicit (null means 0 .. tokens-1), a mask is [rows, keys] of 1 (a token) and 0 (padding), and
 * causality goes by the index in the sequence.
 *
 * <p>Intermediate arrays attach to the manager of the token ids, so a caller that creates its
 * inputs in a sub-manager frees the whole pass by closing it.
 */
public final class GptNeoX extends HfTransformer {
    private final GptNeoXConfig config;
    private final String headWeight;
    private final Attention attention;
    private final Nonlinearity activation;

    private GptNeoX(GptNeoXConfig config, NDManager manager, Map<String, NDArray> tensors) {
        super(manager, tensors);
        this.config = config;
        this.headWeight = config.tiedEmbeddings() ? "gpt_neox.embed_in.weight" : "embed_out.weight";
        Rotary rotary = new Rotary(Rotary.Pairing.HALVES, config.inverseFrequencies(), manager);
        this.attention = new Attention(config.heads(), config.heads(), config.headDim(), null, rotary, manager);
        this.activation = new Nonlinearity(config.activation(), manager);
    }

    // ---------------------------------------------------------------- forward pass

    /** The final LayerNorm and the LM head: logits = final_layer_norm(x)·Wᵀ, W = embed_out or the tied token embeddings. */
    @Override
    public NDArray head(NDArray x) {
        return Linear.linear(layerNorm(x, "gpt_neox.final_layer_norm"), weights.get(headWeight)).singletonOrThrow();
    }

    /**
     * {@inheritDoc} With a parallel residual the MLP reads post_attention_layernorm(x) and both outputs
     * are added to x; with a sequential one it reads the stream after the attention output is added.
     * Past keys are rotated at their own positions.
     */
    @Override
    public NDArray block(int layer, NDArray x, NDArray positions, NDArray keyMask, Hooks hooks,
                         NDArray pastKeys, NDArray pastValues) {
        String p = "gpt_neox.layers." + layer + ".";
        NDArray heads = attention.attend(layerNorm(x, p + "input_layernorm"), positions, keyMask, pastKeys, pastValues,
                n -> project(p, n));
        NDArray attn = hooks.apply(HookPoint.attnOut(layer), linear(heads, p + "attention.dense"));
        NDArray mlpInput = config.parallelResidual() ? x : attn.add(x);
        // The GELU output is the input of dense_4h_to_h, the key k that ROME edits.
        NDArray key = hooks.apply(HookPoint.mlpKey(layer),
                activation.apply(linear(layerNorm(mlpInput, p + "post_attention_layernorm"), p + "mlp.dense_h_to_4h")));
        NDArray mlp = hooks.apply(HookPoint.mlpOut(layer), linear(key, p + "mlp.dense_4h_to_h"));
        // HF's order of the sums: mlp + attn + x, or mlp + (attn + x).
        return hooks.apply(HookPoint.blockOut(layer), config.parallelResidual() ? mlp.add(attn).add(x) : mlp.add(mlpInput));
    }

    @Override
    public NDArray[] keysAndValues(int layer, NDArray x, NDArray positions) {
        String p = "gpt_neox.layers." + layer + ".";
        return attention.keysAndValues(layerNorm(x, p + "input_layernorm"), positions, n -> project(p, n));
    }

    /**
     * Queries, keys and values [rows, heads, tokens, head_dim] from the fused projection, whose output
     * is per head [q_h; k_h; v_h]; HF rotates the first rotary_ndims dims of q and k (rotate_half).
     */
    private NDArray[] project(String p, NDArray normed) {
        return Attention.splitHeads(linear(normed, p + "attention.query_key_value"), config.heads()).split(3, 3).toArray(new NDArray[0]);
    }

    private NDArray layerNorm(NDArray x, String name) {
        return HfModules.layerNorm(weights, x, name, config.layerNormEps());
    }

    // ---------------------------------------------------------------- parameters

    public GptNeoXConfig config() {
        return config;
    }

    @Override
    public Dimensions dimensions() {
        return new Dimensions("gpt_neox", config.layers(), config.hiddenSize(), config.intermediateSize(), config.maxPositions(),
                config.vocabSize());
    }

    @Override
    public NDArray tokenEmbeddings() {
        return weights.get("gpt_neox.embed_in.weight");
    }

    /** dense_4h_to_h, an nn.Linear ([out, in]) with a bias. */
    @Override
    public EditSite editSite(int layer) {
        String p = "gpt_neox.layers." + layer + ".mlp.dense_4h_to_h.";
        return MlpProjection.linear(weights, layer, p + "weight", p + "bias");
    }

    /** Tensor names (HF's, with the "gpt_neox." prefix) and shapes a checkpoint of this config must contain. */
    public static Map<String, Shape> expectedShapes(GptNeoXConfig c) {
        Map<String, Shape> s = new LinkedHashMap<>();
        long d = c.hiddenSize();
        long inner = c.intermediateSize();
        s.put("gpt_neox.embed_in.weight", new Shape(c.vocabSize(), d));
        for (int l = 0; l < c.layers(); l++) {
            String p = "gpt_neox.layers." + l + ".";
            HfModules.layerNormShapes(s, p + "input_layernorm", d);
            HfModules.layerNormShapes(s, p + "post_attention_layernorm", d);
            HfModules.linearShapes(s, p + "attention.query_key_value", 3 * d, d, c.attentionBias());
            HfModules.linearShapes(s, p + "attention.dense", d, d, c.attentionBias());
            HfModules.linearShapes(s, p + "mlp.dense_h_to_4h", inner, d, true);
            HfModules.linearShapes(s, p + "mlp.dense_4h_to_h", d, inner, true);
        }
        HfModules.layerNormShapes(s, "gpt_neox.final_layer_norm", d);
        if (!c.tiedEmbeddings()) {
            s.put("embed_out.weight", new Shape(c.vocabSize(), d));
        }
        return s;
    }

    /** Loads config.json and model.safetensors (or the shards model.safetensors.index.json lists) from a Hugging Face GPT-NeoX directory. */
    public static GptNeoX load(Path dir, Device device) {
        GptNeoXConfig config = GptNeoXConfig.read(Checkpoint.configFile(dir));
        return Checkpoint.load(dir, device, expectedShapes(config), name -> isUnused(config, name) ? null : name,
                Checkpoint.describe("gpt_neox", config.layers(), config.tiedEmbeddings()), (manager, tensors) -> new GptNeoX(config, manager, tensors));
    }

    /** The causal-mask and rotary-frequency buffers some checkpoints store, and a copy of a tied head. */
    private static boolean isUnused(GptNeoXConfig config, String name) {
        return name.endsWith(".attention.bias") || name.endsWith(".attention.masked_bias") || name.endsWith(".rotary_emb.inv_freq")
                || config.tiedEmbeddings() && name.equals("embed_out.weight");
    }
}
