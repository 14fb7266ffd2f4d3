package dev.locus.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Causal self-attention, with rotary positions where the family has them, between a model's input and output projections, as
 * HF's eager attention computes it: softmax(q·kᵀ / sqrt(head_dim) + bias)·v over the past keys and
 * values followed by the tokens' own, query head h reading key/value head h / (heads / kv_heads).
 * The bias masks later tokens, keys outside an optional sliding window, and padding.
 *
 * <p>Positions, masks and past keys/values mean what {@link Transformer#block} says: null positions are
 * prefix .. prefix+tokens-1, a key mask is [rows, prefix + tokens] of 1 (a token) and 0 (padding),
 * and causality and the window go by the index in the sequence.
 */
final class Attention {

    /**
     * A layer's queries, keys and values for its normed input ([rows, tokens, hidden]), as
     * [rows, heads or kv_heads, tokens, head_dim], before the rotation.
     */
    @FunctionalInterface
    interface Projection {
        NDArray[] project(NDArray normed);
    }

    private final int heads;
    private final int kvHeads;
    private final Integer slidingWindow;
    private final Rotary rotary;
    // Scalars as arrays owned by the model: Number overloads under autograd can read freed memory.
    private final NDArray one;
    private final NDArray maskPenalty;
    private final NDArray sqrtHeadDim;

    /**
     * {@code slidingWindow}: null for none; else query i sees keys i-W+1 .. i. {@code rotary}: null where
     * positions enter elsewhere (GPT-2's learned position embeddings). Scalars go to {@code manager} (the model's).
     */
    Attention(int heads, int kvHeads, int headDim, Integer slidingWindow, Rotary rotary, NDManager manager) {
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.slidingWindow = slidingWindow;
        this.rotary = rotary;
        this.one = manager.create(1f);
        this.maskPenalty = manager.create(1e9f);
        this.sqrtHeadDim = manager.create((float) Math.sqrt(headDim));
    }

    /**
     * The attention of {@code normed}'s tokens over the past keys and values (or null) and their own,
     * heads merged: [rows, tokens, heads·head_dim], the input of the output projection.
     */
    NDArray attend(NDArray normed, NDArray positions, NDArray keyMask, NDArray pastKeys, NDArray pastValues,
                   Projection projection) {
        long rows = normed.getShape().get(0);
        int length = (int) normed.getShape().get(1);
        int prefix = pastKeys == null ? 0 : (int) pastKeys.getShape().get(2);
        NDArray[] qkv = rotated(projection.project(normed), normed, positions, prefix);
        NDArray k = pastKeys == null ? qkv[1] : pastKeys.concat(qkv[1], 2);
        NDArray v = pastValues == null ? qkv[2] : pastValues.concat(qkv[2], 2);
        NDArray scores = qkv[0].matMul(shareKvHeads(k).transpose(0, 1, 3, 2)).div(sqrtHeadDim)
                .add(bias(normed.getManager(), length, prefix, keyMask));
        NDArray y = scores.softmax(-1).matMul(shareKvHeads(v)).transpose(0, 2, 1, 3);
        return y.reshape(rows, length, y.getShape().get(2) * y.getShape().get(3));
    }

    /** The rotated keys and the values ([rows, kv_heads, tokens, head_dim]) of {@code normed}'s tokens at {@code positions} (null: 0 .. tokens-1). */
    NDArray[] keysAndValues(NDArray normed, NDArray positions, Projection projection) {
        NDArray[] qkv = rotated(projection.project(normed), normed, positions, 0);
        return new NDArray[] {qkv[1], qkv[2]};
    }

    /** Queries, keys and values from separate projections' outputs ([rows, tokens, heads or kv_heads · head_dim]), split into heads. */
    NDArray[] heads(NDArray queries, NDArray keys, NDArray values) {
        return new NDArray[] {splitHeads(queries, heads), splitHeads(keys, kvHeads), splitHeads(values, kvHeads)};
    }

    /** Queries and keys of {@code normed}'s tokens rotated at {@code positions} (unless there is no rotary, which ignores them); values as they are. */
    private NDArray[] rotated(NDArray[] qkv, NDArray normed, NDArray positions, int prefix) {
        if (rotary == null) {
            return qkv;
        }
        Rotary.Angles angles = rotary.at(positionsOrDefault(normed, positions, prefix));
        return new NDArray[] {angles.rotate(qkv[0]), angles.rotate(qkv[1]), qkv[2]};
    }

    /** [rows, tokens, count·width] → [rows, count, tokens, width]. */
    static NDArray splitHeads(NDArray a, int count) {
        Shape s = a.getShape();
        return a.reshape(s.get(0), s.get(1), count, s.get(2) / count).transpose(0, 2, 1, 3);
    }

    /** HF repeat_kv: [rows, kv_heads, keys, head_dim] → [rows, heads, keys, head_dim]. */
    private NDArray shareKvHeads(NDArray a) {
        int group = heads / kvHeads;
        if (group == 1) {
            return a;
        }
        Shape s = a.getShape();
        return a.expandDims(2).repeat(2, group).reshape(s.get(0), heads, s.get(2), s.get(3));
    }

    private static NDArray positionsOrDefault(NDArray x, NDArray positions, int prefix) {
        long length = x.getShape().get(1);
        if (positions == null) {
            return x.getManager().arange(prefix, prefix + (int) length, 1, DataType.INT64).reshape(1, length);
        }
        if (positions.getShape().dimension() != 2 || positions.getShape().get(1) != length) {
            throw new IllegalArgumentException("positions have shape " + positions.getShape() + "; expected [rows, " + length + "]");
        }
        return positions;
    }

    /**
     * Added to the scores, [rows or 1, 1, tokens, prefix + tokens]: 0 where query i (sequence index
     * prefix + i) may attend key j, -1e9 where j is later, outside the sliding window
     * (j ≤ prefix + i - W), or padding. Large but finite, so an all-padding row stays free of NaN.
     */
    private NDArray bias(NDManager m, int length, int prefix, NDArray keyMask) {
        int keys = prefix + length;
        float[] bias = new float[length * keys];
        for (int i = 0; i < length; i++) {
            int query = prefix + i;
            for (int j = 0; j < keys; j++) {
                if (j > query || slidingWindow != null && j <= query - slidingWindow) {
                    bias[i * keys + j] = -1e9f;
                }
            }
        }
        NDArray causal = m.create(bias, new Shape(1, 1, length, keys));
        if (keyMask == null) {
            return causal;
        }
        if (keyMask.getShape().dimension() != 2 || keyMask.getShape().get(1) != keys) {
            throw new IllegalArgumentException("attention mask has shape " + keyMask.getShape() + "; expected [rows, " + keys + "]");
        }
        // (mask - 1)·1e9: 0 at tokens, -1e9 at padding.
        NDArray padding = keyMask.toType(DataType.FLOAT32, false).sub(one).mul(maskPenalty);
        return causal.add(padding.reshape(keyMask.getShape().get(0), 1, 1, keys));
    }
}
