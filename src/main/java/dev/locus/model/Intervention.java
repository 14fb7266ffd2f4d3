package dev.locus.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;

/**
 * Something done to the activation at a hook point: read it, overwrite part of it, or add to
 * part of it. Interventions never modify their input in place, so gradients flow through them.
 */
@FunctionalInterface
public interface Intervention {

    /** Returns the activation the forward pass continues with. */
    NDArray apply(NDArray activation);

    /** Records the activation (as computed, attached to the forward pass's manager). */
    final class Capture implements Intervention {
        private NDArray value;

        @Override
        public NDArray apply(NDArray activation) {
            value = activation;
            return activation;
        }

        public NDArray value() {
            if (value == null) {
                throw new IllegalStateException("nothing captured: the hook point was not reached");
            }
            return value;
        }
    }

    /** Overwrites the selected cells with {@code values} (broadcastable to [batch, tokens, width]). */
    static Intervention patch(Selection where, NDArray values) {
        return a -> NDArrays.where(where.mask(a), values.broadcast(a.getShape()), a);
    }

    /**
     * Overwrites the selected cells with the same cells of row {@code sourceRow} of this very
     * pass (how the original causal-tracing code restores clean states from its clean row 0).
     */
    static Intervention copyFromRow(int sourceRow, Selection where) {
        return a -> NDArrays.where(where.mask(a), a.get(sourceRow + ":" + (sourceRow + 1)).broadcast(a.getShape()), a);
    }

    /** Adds {@code delta} (broadcastable to [batch, tokens, width]) to the selected cells only. */
    static Intervention add(Selection where, NDArray delta) {
        return a -> NDArrays.where(where.mask(a), a.add(delta), a);
    }
}
