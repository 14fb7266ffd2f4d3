package dev.locus.editing;

import ai.djl.ndarray.NDManager;
import dev.locus.model.HookPoint;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Supplier;

/**
 * A batch of edits sharing vectors optimised together on the first edit (ROME's v*, MEMIT's z), in a manager of their
 * own that closing frees. A failure of that optimisation as a whole fails every edit of the batch with it; a vector that
 * diverged fails its own edit only.
 */
final class SharedValues implements Editor.Batch {
    private final NDManager manager;
    private final Supplier<Map<HookPoint, ValueOptimizer.Outcome>> optimise;
    private final BiFunction<Map<HookPoint, ValueOptimizer.Outcome>, Integer, Editor.Applied> edit;
    private Map<HookPoint, ValueOptimizer.Outcome> values;
    private RuntimeException failure;

    SharedValues(NDManager manager, Supplier<Map<HookPoint, ValueOptimizer.Outcome>> optimise,
                 BiFunction<Map<HookPoint, ValueOptimizer.Outcome>, Integer, Editor.Applied> edit) {
        this.manager = manager;
        this.optimise = optimise;
        this.edit = edit;
    }

    @Override
    public Editor.Applied apply(int layer) {
        if (values == null && failure == null) {
            try {
                values = optimise.get();
            } catch (RuntimeException e) {
                failure = e;
            }
        }
        if (failure != null) {
            throw failure;
        }
        return edit.apply(values, layer);
    }

    @Override
    public void close() {
        manager.close();
    }
}
