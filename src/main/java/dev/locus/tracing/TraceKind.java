package dev.locus.tracing;

import dev.locus.model.HookPoint;

/** What causal tracing restores: the residual stream, the MLP output or the attention output of a layer. */
public enum TraceKind {
    HIDDEN, MLP, ATTN;

    public HookPoint at(int layer) {
        return switch (this) {
            case HIDDEN -> HookPoint.blockOut(layer);
            case MLP -> HookPoint.mlpOut(layer);
            case ATTN -> HookPoint.attnOut(layer);
        };
    }

    /** Layers [max(0, ℓ − ⌊w/2⌋), min(L, ℓ − ⌊w/2⌋ + w)) of a window of size w around ℓ, clipped at the ends. */
    public static int[] window(int layer, int size, int layers) {
        int start = layer - size / 2;
        return new int[] {Math.max(0, start), Math.min(layers, start + size)};
    }

    public String label() {
        return name().toLowerCase();
    }
}
