package dev.locus.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.function.Function;

/**
 * The residual streams of one batch of rows entering each block, from one pass of the model as it is when they are made,
 * so that later passes of the model edited only from some layer up run only the blocks from there: a batch of edits of
 * one task reads many activations of the same rows, each edit's own blocks differing. The blocks below compute here what
 * a pass from the embeddings would, on the same rows in the same shapes, so what {@link #run} gives is that pass's result
 * bit for bit.
 */
public final class EnteringStreams {
    private final Transformer model;
    private final NDArray[] entering;

    /**
     * @param manager    where the streams are kept (the pass's other arrays are freed)
     * @param embeddings the stream entering block 0 (token embeddings, with any noise the rows get), in the manager given
     * @param layers     the streams kept: entering blocks 0 .. layers−1
     */
    public EnteringStreams(Transformer model, NDManager manager, Function<NDManager, NDArray> embeddings, int layers) {
        if (layers < 1 || layers > model.dimensions().layers()) {
            throw new IllegalArgumentException("streams are kept entering 1 to " + model.dimensions().layers() + " blocks, not " + layers);
        }
        this.model = model;
        this.entering = new NDArray[layers];
        try (NDManager pass = manager.newSubManager()) {
            NDArray x = embeddings.apply(pass);
            for (int layer = 0; layer < layers; layer++) {
                entering[layer] = x;
                x = layer + 1 < layers ? model.block(layer, x, null, null, Hooks.none(), null, null) : null;
            }
            for (NDArray stream : entering) {
                stream.attach(manager); // kept; the pass's other arrays go with it
            }
        }
    }

    /**
     * Blocks {@code firstEdited} .. {@code lastLayer} with {@code hooks} on the stream entering {@code firstEdited}: the
     * model's blocks below it must be as when the streams were made. The pass's arrays go to {@code own}.
     */
    public NDArray run(NDManager own, int firstEdited, int lastLayer, Hooks hooks) {
        if (firstEdited < 0 || firstEdited >= entering.length || lastLayer < firstEdited - 1 || lastLayer >= model.dimensions().layers()) {
            throw new IllegalArgumentException("blocks " + firstEdited + " .. " + lastLayer + " cannot run on streams kept entering blocks 0 .. "
                    + (entering.length - 1));
        }
        NDArray x = entering[firstEdited].duplicate();
        x.attach(own); // the blocks' arrays follow their input's manager
        for (int layer = firstEdited; layer <= lastLayer; layer++) {
            x = model.block(layer, x, null, null, hooks, null, null);
        }
        return x;
    }
}
