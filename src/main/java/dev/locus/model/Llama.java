package dev.locus.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import java.io.IOException;
import java.nio.file.Files;
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
public final class Llama extends HfTransformer implements SavableTransformer {
    private final LlamaConfig config;
    private final String headWeight;
    private final Attention attention;
    // A scalar as an array owned by the model: Number overloads under autograd can read freed memory.
    private final NDArray rmsNormEps;

    private Llama(LlamaConfig config, NDManager manager, Map<String, NDArray> tensors) {
        super(manager, tensors);
        this.config = config;
        this.headWeight = config.tiedEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight";
        Rotary rotary = new Rotary(Rotary.Pairing.HALVES, config.inverseFrequencies(), manager);
        this.attention = new Attention(config.heads(), config.kvHeads(), config.headDim(), config.slidingWindow(), rotary, manager);
        this.rmsNormEps = manager.create(config.rmsNormEps());
    }

    // ---------------------------------------------------------------- forward pass

    /** The final RMSNorm and the LM head: logits = norm(x)·Wᵀ, W = lm_head or the tied token embeddings. */
    @Override
    public NDArray head(NDArray x) {
        return Linear.linear(rmsNorm(x, "model.norm.weight"), weights.get(headWeight)).singletonOrThrow();
    }

    /**
     * {@inheritDoc} Past keys and values have kv_heads heads, rotated at their own positions; causality
     * and the sliding window go by the index in the sequence, so no key positions are needed.
     */
    @Override
    public NDArray block(int layer, NDArray x, NDArray positions, NDArray keyMask, Hooks hooks,
                         NDArray pastKeys, NDArray pastValues) {
        String p = "model.layers." + layer + ".";
        NDArray heads = attention.attend(rmsNorm(x, p + "input_layernorm.weight"), positions, keyMask, pastKeys, pastValues,
                n -> project(p, n));
        NDArray attn = hooks.apply(HookPoint.attnOut(layer), linear(heads, p + "self_attn.o_proj"));
        x = x.add(attn);
        NDArray h = rmsNorm(x, p + "post_attention_layernorm.weight");
        // SwiGLU: the gated product is the input of down_proj, the key k that ROME edits.
        NDArray key = hooks.apply(HookPoint.mlpKey(layer), silu(linear(h, p + "mlp.gate_proj")).mul(linear(h, p + "mlp.up_proj")));
        NDArray mlp = hooks.apply(HookPoint.mlpOut(layer), linear(key, p + "mlp.down_proj"));
        return hooks.apply(HookPoint.blockOut(layer), x.add(mlp));
    }

    @Override
    public NDArray[] keysAndValues(int layer, NDArray x, NDArray positions) {
        String p = "model.layers." + layer + ".";
        return attention.keysAndValues(rmsNorm(x, p + "input_layernorm.weight"), positions, n -> project(p, n));
    }

    /** Queries [rows, heads, tokens, head_dim] and keys and values [rows, kv_heads, tokens, head_dim], which HF rotates over whole heads. */
    private NDArray[] project(String p, NDArray normed) {
        return attention.heads(linear(normed, p + "self_attn.q_proj"), linear(normed, p + "self_attn.k_proj"),
                linear(normed, p + "self_attn.v_proj"));
    }

    private NDArray silu(NDArray x) {
        return x.mul(Activation.sigmoid(x));
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
            HfModules.linearShapes(s, p + "self_attn.q_proj", q, d, c.qkvBias());
            HfModules.linearShapes(s, p + "self_attn.k_proj", kv, d, c.qkvBias());
            HfModules.linearShapes(s, p + "self_attn.v_proj", kv, d, c.qkvBias());
            HfModules.linearShapes(s, p + "self_attn.o_proj", d, q, c.outputBias());
            s.put(p + "post_attention_layernorm.weight", new Shape(d));
            HfModules.linearShapes(s, p + "mlp.gate_proj", inner, d, c.mlpBias());
            HfModules.linearShapes(s, p + "mlp.up_proj", inner, d, c.mlpBias());
            HfModules.linearShapes(s, p + "mlp.down_proj", d, inner, c.mlpBias());
        }
        s.put("model.norm.weight", new Shape(d));
        if (!c.tiedEmbeddings()) {
            s.put("lm_head.weight", new Shape(c.vocabSize(), d));
        }
        return s;
    }

    /** A freshly initialised model ({@link HfModules#initialize}): o_proj and down_proj write into the residual stream. */
    public static Llama initialize(LlamaConfig config, long seed, Device device) {
        NDManager manager = NDManager.newBaseManager(device);
        return new Llama(config, manager, HfModules.initialize(expectedShapes(config), config.layers(), seed, manager,
                name -> name.endsWith("norm.weight"), name -> name.endsWith("o_proj.weight") || name.endsWith("down_proj.weight")));
    }

    /** Writes config.json and model.safetensors under HF's names, loadable by transformers' LlamaForCausalLM. */
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        config.write(dir.resolve("config.json"));
        SafeTensors.write(dir.resolve("model.safetensors"), weights.asMap());
    }

    /**
     * Loads config.json and model.safetensors (or the shards model.safetensors.index.json lists)
     * from a Hugging Face Llama, Mistral or Qwen2 directory.
     */
    public static Llama load(Path dir, Device device) {
        LlamaConfig config = LlamaConfig.read(Checkpoint.configFile(dir));
        return Checkpoint.load(dir, device, expectedShapes(config), name -> isUnused(config, name) ? null : name,
                Checkpoint.describe(config.modelType(), config.layers(), config.tiedEmbeddings()), (manager, tensors) -> new Llama(config, manager, tensors));
    }

    /** Rotary-frequency buffers older checkpoints store, and a copy of a tied head some store besides the embeddings. */
    private static boolean isUnused(LlamaConfig config, String name) {
        return name.endsWith(".rotary_emb.inv_freq") || config.tiedEmbeddings() && name.equals("lm_head.weight");
    }
}
