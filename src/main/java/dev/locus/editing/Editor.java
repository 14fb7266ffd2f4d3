package dev.locus.editing;

import dev.locus.model.Weights;

/** An editing method: applies one edit at a layer; closing the result restores the weights exactly. */
public interface Editor {

    /** The method's name in results, e.g. "rome", "memit", "ft-1", "ft-5". */
    String name();

    Applied apply(EditTask task, int layer);

    /** An applied edit: close it to undo; {@code layers} are the layers whose weights changed. */
    record Applied(Weights.Edit weights, int[] layers, int steps, double loss) implements AutoCloseable {
        @Override
        public void close() {
            weights.close();
        }
    }
}
