package dev.locus.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * Noise added to the token embeddings of chosen cells of a [rows, length] pass: how causal tracing
 * corrupts the subject in its noisy rows, and how Tracing Reversal and Fact Forcing corrupt it while
 * editing and evaluating. Cells never given noise get exactly nothing added (x + 0 = x).
 */
public final class EmbeddingNoise {
    private final int rows;
    private final int length;
    private final int width;
    private final float[] delta;

    public EmbeddingNoise(int rows, int length, int width) {
        this.rows = rows;
        this.length = length;
        this.width = width;
        this.delta = new float[rows * length * width];
    }

    /** Adds {@code count} positions' worth of {@code noise} (from index {@code from}) at positions start.. of {@code row}. */
    public EmbeddingNoise put(int row, int start, int count, float[] noise, int from) {
        if (row < 0 || row >= rows || start < 0 || start + count > length) {
            throw new IllegalArgumentException("noise for positions [" + start + ", " + (start + count) + ") of row " + row
                    + " does not fit a pass of " + rows + " rows × " + length + " tokens");
        }
        System.arraycopy(noise, from, delta, (row * length + start) * width, count * width);
        return this;
    }

    /** The hook that adds the noise to the embeddings. */
    public Hooks hooks(NDManager m) {
        NDArray d = m.create(delta, new Shape(rows, length, width));
        return Hooks.none().add(HookPoint.embed(), a -> a.add(d));
    }
}
