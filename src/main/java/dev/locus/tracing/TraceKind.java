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

    /** The kind with this label (hidden, mlp or attn), ignoring case; the message lists the known ones. */
    public static TraceKind parse(String label) {
        for (TraceKind k : values()) {
            if (k.label().equalsIgnoreCase(label.trim())) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown tracing kind '" + label + "'; known: hidden, mlp, attn");
    }

    public String label() {
        return name().toLowerCase();
    }
}
