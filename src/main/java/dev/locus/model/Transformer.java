package dev.locus.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.List;

/**
 * A decoder-only transformer as tracing and editing see it, whatever its family: the same named hook
 * points ({@link HookPoint}) on every architecture, a block-by-block forward pass that can continue from
 * the attention keys and values of earlier tokens (what the fast tracer reuses), the final norm with the
 * LM head, and each layer's MLP output projection as an {@link EditSite}. Weight layouts are the
 * implementation's business: no caller names a weight.
 *
 * <p>Shapes: token ids and positions int64 [rows, tokens]; the residual stream float32 [rows, tokens,
 * width]; keys and values [rows, kv heads, tokens, head dim]; logits [rows, tokens, vocab]. Positions
 * are explicit because rotary families rotate queries and keys by them (null: 0 .. tokens−1, or after
 * the past's tokens); a key mask ([rows, keys] of 1/0, or null) marks padding no query may attend to.
 * Intermediate arrays attach to the manager of the token ids, so a caller that creates its inputs in a
 * sub-manager frees the whole pass by closing it.
 */
public interface Transformer extends AutoCloseable {

    /** The config.json {@code model_type}s Locus loads, each with its model file. */
    List<String> SUPPORTED = List.of("gpt2", "llama", "mistral", "qwen2", "gptj", "gpt_neox");

    /** Loads a Hugging Face checkpoint directory by its config.json's {@code model_type}. */
    static Transformer load(Path dir, Device device) {
        Path config = Checkpoint.configFile(dir);
        String type = Checkpoint.readJson(config).path("model_type").asText("");
        return switch (type) {
            // Old GPT-2 configs may lack model_type; ModelConfig then goes by their architectures.
            case "gpt2", "" -> Gpt2.load(dir, device);
            case "llama", "mistral", "qwen2" -> Llama.load(dir, device);
            case "gptj" -> GptJ.load(dir, device);
            case "gpt_neox" -> GptNeoX.load(dir, device);
            default -> throw new ModelLoadException(config + ": model_type '" + type + "' is not supported; Locus loads " + SUPPORTED);
        };
    }

    Dimensions dimensions();

    Weights weights();

    NDManager manager();

    /** The residual stream entering block 0: the token embeddings (hook point "embed"), plus learned position embeddings where the family has them. */
    NDArray embed(NDArray tokens, NDArray positions, Hooks hooks);

    /**
     * One block on the residual stream {@code x} entering it. {@code pastKeys} and {@code pastValues}
     * (or null) belong to the tokens before x's, which x's tokens attend to causally; {@code positions}
     * are x's tokens' (null: after the past's); {@code keyMask} covers the past's keys and x's.
     */
    NDArray block(int layer, NDArray x, NDArray positions, NDArray keyMask, Hooks hooks, NDArray pastKeys, NDArray pastValues);

    /**
     * The attention keys (rotated at {@code positions}, null: 0 .. tokens−1, where the family rotates them) and values
     * block {@code layer} computes from the stream {@code x} entering it.
     */
    NDArray[] keysAndValues(int layer, NDArray x, NDArray positions);

    /** The final norm and the LM head: logits from the last block's output. */
    NDArray head(NDArray x);

    /** The token embedding matrix [vocab, width] (what tracing's noise level is measured on). */
    NDArray tokenEmbeddings();

    /** The MLP output projection of {@code layer}: the weight ROME, MEMIT and fine-tuning edit. */
    EditSite editSite(int layer);

    @Override
    void close();

    default NDArray embed(NDArray tokens, Hooks hooks) {
        return embed(tokens, null, hooks);
    }

    /** Logits for token ids at positions 0 .. tokens−1, without padding. */
    default NDArray forward(NDArray tokens, Hooks hooks) {
        return forward(tokens, null, null, hooks);
    }

    default NDArray forward(NDArray tokens, NDArray positions, NDArray keyMask, Hooks hooks) {
        return forwardFrom(0, embed(tokens, positions, hooks), positions, keyMask, hooks);
    }

    /** The residual stream entering block {@code layer}: the embeddings through blocks 0 .. layer−1. */
    default NDArray streamInto(int layer, NDArray tokens, Hooks hooks) {
        NDArray x = embed(tokens, null, hooks);
        for (int l = 0; l < layer; l++) {
            x = block(l, x, null, null, hooks, null, null);
        }
        return x;
    }

    /** Blocks {@code firstLayer}.. on the stream {@code x} entering that block, then the head: lets tracing skip layers whose result it has. */
    default NDArray forwardFrom(int firstLayer, NDArray x, Hooks hooks) {
        return forwardFrom(firstLayer, x, null, null, hooks);
    }

    default NDArray forwardFrom(int firstLayer, NDArray x, NDArray positions, NDArray keyMask, Hooks hooks) {
        for (int layer = firstLayer; layer < dimensions().layers(); layer++) {
            x = block(layer, x, positions, keyMask, hooks, null, null);
        }
        return head(x);
    }

    /** A block at default positions without padding (the past's tokens first). */
    default NDArray block(int layer, NDArray x, Hooks hooks, NDArray pastKeys, NDArray pastValues) {
        return block(layer, x, null, null, hooks, pastKeys, pastValues);
    }

    default NDArray[] keysAndValues(int layer, NDArray x) {
        return keysAndValues(layer, x, null);
    }

    /**
     * The sizes callers need, whatever the family calls them.
     *
     * @param mlpWidth      the MLP's hidden width: the size of the key ROME edits
     * @param contextLength the most tokens one pass may hold
     */
    record Dimensions(String family, int layers, int width, int mlpWidth, int contextLength, int vocabSize) {
        public Dimensions {
            if (layers < 1 || width < 1 || mlpWidth < 1 || contextLength < 1 || vocabSize < 1) {
                throw new IllegalArgumentException("model dimensions must be positive: " + layers + " layers, width " + width
                        + ", MLP width " + mlpWidth + ", context " + contextLength + ", vocabulary " + vocabSize);
            }
        }
    }
}
