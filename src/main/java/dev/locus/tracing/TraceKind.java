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

    public String label() {
        return name().toLowerCase();
    }
}
