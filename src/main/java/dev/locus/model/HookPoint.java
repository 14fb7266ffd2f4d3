package dev.locus.model;

/**
 * A named activation of the forward pass that interventions can read or write. Layers are
 * 0-indexed. Every point carries a [batch, tokens, width] tensor.
 */
public record HookPoint(Kind kind, int layer) {

    public enum Kind {
        /** Token embeddings, before position embeddings are added (where tracing adds its noise). */
        EMBED("embed"),
        /** A block's attention output, before it is added to the residual stream. */
        ATTN_OUT("attn_out"),
        /** The MLP's hidden activation after the nonlinearity: the key k that ROME edits. */
        MLP_KEY("mlp_key"),
        /** The MLP's output (c_proj), before it is added to the residual stream. */
        MLP_OUT("mlp_out"),
        /** The residual stream after the block ("hidden" in causal tracing). */
        BLOCK_OUT("out");

        final String label;

        Kind(String label) {
            this.label = label;
        }
    }

    public static HookPoint embed() {
        return new HookPoint(Kind.EMBED, -1);
    }

    public static HookPoint attnOut(int layer) {
        return new HookPoint(Kind.ATTN_OUT, layer);
    }

    public static HookPoint mlpKey(int layer) {
        return new HookPoint(Kind.MLP_KEY, layer);
    }

    public static HookPoint mlpOut(int layer) {
        return new HookPoint(Kind.MLP_OUT, layer);
    }

    public static HookPoint blockOut(int layer) {
        return new HookPoint(Kind.BLOCK_OUT, layer);
    }

    /** "embed" or "blocks.{layer}.{kind}", e.g. "blocks.3.mlp_out". */
    public String name() {
        return kind == Kind.EMBED ? "embed" : "blocks." + layer + "." + kind.label;
    }

    @Override
    public String toString() {
        return name();
    }
}
