package dev.locus.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * GPT-2 (Radford et al. 2019) in DJL NDArray ops, on Hugging Face weights as stored: pre-LayerNorm
 * blocks, learned position embeddings, causal self-attention scaled by 1/sqrt(head_dim), MLP with
 * the configured GELU, LM head tied to the token embeddings. Conv1D weights are [in, out], so a
 * linear layer is x·W + b. Every activation tracing or editing touches passes through a
 * {@link HookPoint}.
 *
 * <p>Intermediate arrays attach to the manager of the token ids, so a caller that creates its
 * inputs in a sub-manager frees the whole pass by closing it.
 */
public final class Gpt2 extends HfTransformer implements SavableTransformer {
    private final ModelConfig config;
    private final Nonlinearity activation;
    private final Attention attention;

    private Gpt2(ModelConfig config, NDManager manager, Map<String, NDArray> tensors) {
        super(manager, tensors);
        this.config = config;
        this.activation = new Nonlinearity(ModelConfig.Activation.of(config.activation()), manager);
        this.attention = new Attention(config.nHead(), config.nHead(), config.headDim(), null, null, manager);
    }

    // ---------------------------------------------------------------- forward pass

    /** The residual stream entering block 0: token embeddings (hook point "embed") plus the embeddings of their positions. */
    @Override
    public NDArray embed(NDArray tokens, NDArray positions, Hooks hooks) {
        int length = (int) tokens.getShape().get(1);
        if (length > config.nPositions()) {
            throw new IllegalArgumentException("input of " + length + " tokens exceeds the context length "
                    + config.nPositions());
        }
        NDArray at = positions != null ? positions : tokens.getManager().arange(0, length, 1, DataType.INT64);
        return hooks.apply(HookPoint.embed(), HfModules.embedding(tokenEmbeddings(), tokens))
                .add(HfModules.embedding(weights.get("wpe.weight"), at));
    }

    /** The final LayerNorm and the tied LM head: logits = LN(x)·Eᵀ. */
    @Override
    public NDArray head(NDArray x) {
        return Linear.linear(layerNorm(x, "ln_f"), weights.get("wte.weight")).singletonOrThrow();
    }

    /** {@inheritDoc} Positions do not enter a block (they were added at the embeddings). */
    @Override
    public NDArray block(int layer, NDArray x, NDArray positions, NDArray keyMask, Hooks hooks, NDArray pastKeys,
                         NDArray pastValues) {
        String p = "h." + layer + ".";
        NDArray heads = attention.attend(layerNorm(x, p + "ln_1"), positions, keyMask, pastKeys, pastValues, n -> project(p, n));
        NDArray attn = hooks.apply(HookPoint.attnOut(layer), conv1d(heads, p + "attn.c_proj"));
        x = x.add(attn);
        NDArray key = hooks.apply(HookPoint.mlpKey(layer), activation.apply(conv1d(layerNorm(x, p + "ln_2"), p + "mlp.c_fc")));
        NDArray mlp = hooks.apply(HookPoint.mlpOut(layer), conv1d(key, p + "mlp.c_proj"));
        return hooks.apply(HookPoint.blockOut(layer), x.add(mlp));
    }

    @Override
    public NDArray[] keysAndValues(int layer, NDArray x, NDArray positions) {
        String p = "h." + layer + ".";
        return attention.keysAndValues(layerNorm(x, p + "ln_1"), positions, n -> project(p, n));
    }

    /** Queries, keys and values [rows, heads, tokens, head_dim] from the fused c_attn, whose output is [q; k; v]. */
    private NDArray[] project(String p, NDArray normed) {
        NDList qkv = conv1d(normed, p + "attn.c_attn").split(3, 2);
        return attention.heads(qkv.get(0), qkv.get(1), qkv.get(2));
    }

    /** A Conv1D: x·W + b, with W [in, out]. */
    private NDArray conv1d(NDArray x, String name) {
        return x.matMul(weights.get(name + ".weight")).add(weights.get(name + ".bias"));
    }

    private NDArray layerNorm(NDArray x, String name) {
        return HfModules.layerNorm(weights, x, name, config.layerNormEpsilon());
    }

    // ---------------------------------------------------------------- parameters

    public ModelConfig config() {
        return config;
    }

    @Override
    public Dimensions dimensions() {
        return new Dimensions("gpt2", config.nLayer(), config.nEmbd(), config.nInner(), config.nPositions(), config.vocabSize());
    }

    @Override
    public NDArray tokenEmbeddings() {
        return weights.get("wte.weight");
    }

    /** c_proj, a Conv1D ([in, out]) with a bias. */
    @Override
    public EditSite editSite(int layer) {
        return MlpProjection.conv1d(weights, layer, "h." + layer + ".mlp.c_proj.weight", "h." + layer + ".mlp.c_proj.bias");
    }

    /** Tensor names and shapes a checkpoint of this config must contain (HF names, no prefix). */
    public static Map<String, Shape> expectedShapes(ModelConfig c) {
        Map<String, Shape> s = new LinkedHashMap<>();
        long d = c.nEmbd();
        s.put("wte.weight", new Shape(c.vocabSize(), d));
        s.put("wpe.weight", new Shape(c.nPositions(), d));
        for (int l = 0; l < c.nLayer(); l++) {
            String p = "h." + l + ".";
            HfModules.layerNormShapes(s, p + "ln_1", d);
            s.put(p + "attn.c_attn.weight", new Shape(d, 3 * d));
            s.put(p + "attn.c_attn.bias", new Shape(3 * d));
            s.put(p + "attn.c_proj.weight", new Shape(d, d));
            s.put(p + "attn.c_proj.bias", new Shape(d));
            HfModules.layerNormShapes(s, p + "ln_2", d);
            s.put(p + "mlp.c_fc.weight", new Shape(d, c.nInner()));
            s.put(p + "mlp.c_fc.bias", new Shape(c.nInner()));
            s.put(p + "mlp.c_proj.weight", new Shape(c.nInner(), d));
            s.put(p + "mlp.c_proj.bias", new Shape(d));
        }
        HfModules.layerNormShapes(s, "ln_f", d);
        return s;
    }

    /**
     * GPT-2 initialisation from a seeded Java generator (reproducible across machines): N(0, 0.02)
     * for matrices and embeddings, residual projections scaled by 1/√(2·layers), LayerNorm 1/0.
     */
    public static Gpt2 initialize(ModelConfig config, long seed, Device device) {
        NDManager manager = NDManager.newBaseManager(device);
        return new Gpt2(config, manager, HfModules.initialize(expectedShapes(config), config.nLayer(), seed, manager,
                name -> name.contains("ln_") && name.endsWith(".weight"), name -> name.endsWith("c_proj.weight")));
    }

    /**
     * Loads config.json and model.safetensors (or the shards listed in model.safetensors.index.json)
     * from a Hugging Face GPT-2 directory, with or without the "transformer." name prefix.
     */
    public static Gpt2 load(Path dir, Device device) {
        ModelConfig config = ModelConfig.read(Checkpoint.configFile(dir));
        return Checkpoint.load(dir, device, expectedShapes(config), Gpt2::parameterName, "a GPT-2 with " + config.nLayer() + " layers",
                (manager, tensors) -> new Gpt2(config, manager, tensors));
    }

    /**
     * The parameter a stored tensor holds (without the "transformer." prefix), or null for what some checkpoints
     * store besides: the causal-mask buffers and the tied LM head.
     */
    private static String parameterName(String stored) {
        String name = stored.startsWith("transformer.") ? stored.substring(12) : stored;
        boolean buffer = name.endsWith(".attn.bias") || name.endsWith(".attn.masked_bias") || name.equals("lm_head.weight");
        return buffer ? null : name;
    }

    /** Writes config.json and model.safetensors (HF names without prefix). */
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        config.write(dir.resolve("config.json"));
        SafeTensors.write(dir.resolve("model.safetensors"), weights.asMap());
    }
}
