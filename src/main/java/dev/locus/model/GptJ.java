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
 * GPT-J (Wang and Komatsuzaki 2021) in DJL NDArray ops, on Hugging Face weights as stored: one
 * LayerNorm per block whose output feeds attention and the MLP in parallel, x + attn(ln_1 x) +
 * mlp(ln_1 x); rotary position embeddings on the first rotary_dim dims of each query and key head,
 * in interleaved pairs (2i, 2i+1); causal attention scaled by 1/sqrt(head_dim) with q/k/v/out
 * projections without biases; an MLP fc_in → GELU → fc_out; and an LM head with a bias. Linear
 * weights are [out, in]. Every activation tracing or editing touches passes through a
 * {@link HookPoint}, with the same meaning in every {@link Transformer}.
 *
 * <p>Positions, attention masks and past keys/values work as {@link Transformer} says: positions are
 * explicit (null means 0 .. tokens-1), a mask is [rows, keys] of 1 (a token) and 0 (padding), and
 * causality goes by the index in the sequence.
 *
 * <p>Intermediate arrays attach to the manager of the token ids, so a caller that creates its
 * inputs in a sub-manager frees the whole pass by closing it.
 */
public final class GptJ extends HfTransformer {
    private final GptJConfig config;
    private final String headWeight;
    private final Attention attention;
    private final Nonlinearity activation;

    private GptJ(GptJConfig config, NDManager manager, Map<String, NDArray> tensors) {
        super(manager, tensors);
        this.config = config;
        this.headWeight = config.tiedEmbeddings() ? "transformer.wte.weight" : "lm_head.weight";
        Rotary rotary = new Rotary(Rotary.Pairing.INTERLEAVED, config.inverseFrequencies(), manager);
        this.attention = new Attention(config.heads(), config.heads(), config.headDim(), null, rotary, manager);
        this.activation = new Nonlinearity(config.activation(), manager);
    }

    // ---------------------------------------------------------------- forward pass

    /** The final LayerNorm and the LM head: logits = ln_f(x)·Wᵀ + b, W = lm_head or the tied token embeddings. */
    @Override
    public NDArray head(NDArray x) {
        return Linear.linear(layerNorm(x, "transformer.ln_f"), weights.get(headWeight), weights.get("lm_head.bias")).singletonOrThrow();
    }

    /**
     * {@inheritDoc} Attention and the MLP both read ln_1(x), and both outputs are added to x; past keys
     * are rotated at their own positions.
     */
    @Override
    public NDArray block(int layer, NDArray x, NDArray positions, NDArray keyMask, Hooks hooks,
                         NDArray pastKeys, NDArray pastValues) {
        String p = "transformer.h." + layer + ".";
        NDArray normed = layerNorm(x, p + "ln_1");
        NDArray heads = attention.attend(normed, positions, keyMask, pastKeys, pastValues, n -> project(p, n));
        NDArray attn = hooks.apply(HookPoint.attnOut(layer), linear(heads, p + "attn.out_proj"));
        // The GELU output is the input of fc_out, the key k that ROME edits.
        NDArray key = hooks.apply(HookPoint.mlpKey(layer), activation.apply(linear(normed, p + "mlp.fc_in")));
        NDArray mlp = hooks.apply(HookPoint.mlpOut(layer), linear(key, p + "mlp.fc_out"));
        return hooks.apply(HookPoint.blockOut(layer), attn.add(mlp).add(x)); // HF's order of the sum
    }

    @Override
    public NDArray[] keysAndValues(int layer, NDArray x, NDArray positions) {
        String p = "transformer.h." + layer + ".";
        return attention.keysAndValues(layerNorm(x, p + "ln_1"), positions, n -> project(p, n));
    }

    /** Queries, keys and values [rows, heads, tokens, head_dim], of which HF rotates the first rotary_dim dims of q and k (rotate_every_two). */
    private NDArray[] project(String p, NDArray normed) {
        return attention.heads(linear(normed, p + "attn.q_proj"), linear(normed, p + "attn.k_proj"), linear(normed, p + "attn.v_proj"));
    }

    private NDArray layerNorm(NDArray x, String name) {
        return HfModules.layerNorm(weights, x, name, config.layerNormEps());
    }

    // ---------------------------------------------------------------- parameters

    public GptJConfig config() {
        return config;
    }

    @Override
    public Dimensions dimensions() {
        return new Dimensions("gptj", config.layers(), config.hiddenSize(), config.intermediateSize(), config.maxPositions(),
                config.vocabSize());
    }

    @Override
    public NDArray tokenEmbeddings() {
        return weights.get("transformer.wte.weight");
    }

    /** fc_out, an nn.Linear ([out, in]) with a bias. */
    @Override
    public EditSite editSite(int layer) {
        String p = "transformer.h." + layer + ".mlp.fc_out.";
        return MlpProjection.linear(weights, layer, p + "weight", p + "bias");
    }

    /** Tensor names (HF's, with the "transformer." prefix) and shapes a checkpoint of this config must contain. */
    public static Map<String, Shape> expectedShapes(GptJConfig c) {
        Map<String, Shape> s = new LinkedHashMap<>();
        long d = c.hiddenSize();
        long inner = c.intermediateSize();
        s.put("transformer.wte.weight", new Shape(c.vocabSize(), d));
        for (int l = 0; l < c.layers(); l++) {
            String p = "transformer.h." + l + ".";
            HfModules.layerNormShapes(s, p + "ln_1", d);
            for (String projection : new String[] {"q_proj", "k_proj", "v_proj", "out_proj"}) {
                HfModules.linearShapes(s, p + "attn." + projection, d, d, false);
            }
            HfModules.linearShapes(s, p + "mlp.fc_in", inner, d, true);
            HfModules.linearShapes(s, p + "mlp.fc_out", d, inner, true);
        }
        HfModules.layerNormShapes(s, "transformer.ln_f", d);
        if (!c.tiedEmbeddings()) {
            s.put("lm_head.weight", new Shape(c.vocabSize(), d));
        }
        s.put("lm_head.bias", new Shape(c.vocabSize()));
        return s;
    }

    /** Loads config.json and model.safetensors (or the shards model.safetensors.index.json lists) from a Hugging Face GPT-J directory. */
    public static GptJ load(Path dir, Device device) {
        GptJConfig config = GptJConfig.read(Checkpoint.configFile(dir));
        return Checkpoint.load(dir, device, expectedShapes(config), name -> isUnused(config, name) ? null : name,
                Checkpoint.describe("gptj", config.layers(), config.tiedEmbeddings()), (manager, tensors) -> new GptJ(config, manager, tensors));
    }

    /** The causal-mask and rotary-table buffers some checkpoints store, and a copy of a tied head. */
    private static boolean isUnused(GptJConfig config, String name) {
        return name.endsWith(".attn.bias") || name.endsWith(".attn.masked_bias") || name.endsWith(".attn.embed_positions")
                || config.tiedEmbeddings() && name.equals("lm_head.weight");
    }
}
