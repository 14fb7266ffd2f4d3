package dev.locus.editing;

import dev.locus.model.Weights;

/** An editing method: applies one edit at a layer; closing the result restores the weights exactly. */
public interface Editor {

    /** The method's name in results, e.g. "rome", "memit", "ft-1", "ft-5". */
    String name();

    Applied apply(EditTask task, int layer);

    /**
     * The edits of {@code task} at each of {@code layers}, applied one at a time by {@link Batch#apply}, with what they
     * share computed once in batches of at most {@code rowBudget} rows (ROME's v*, MEMIT's z, the fine-tunings themselves). By default, and with
     * {@link #oneAtATime}, each is {@link #apply}: the reference a batched editor is checked against.
     */
    default Batch batch(EditTask task, int[] layers, int rowBudget) {
        return oneAtATime(task);
    }

    default Batch oneAtATime(EditTask task) {
        return layer -> apply(task, layer);
    }

    /** A task's edits at several layers; close it to free what they shared (each applied edit is undone by its own close). */
    @FunctionalInterface
    interface Batch extends AutoCloseable {
        Applied apply(int layer);

        @Override
        default void close() {}
    }

    /** An applied edit: close it to undo; {@code layers} are the layers whose weights changed. */
    record Applied(Weights.Edit weights, int[] layers, int steps, double loss) implements AutoCloseable {
        @Override
        public void close() {
            weights.close();
        }
    }
}
