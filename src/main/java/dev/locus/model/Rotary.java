package dev.locus.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.function.DoubleUnaryOperator;

/**
 * Rotary position embeddings (Su et al. 2021) as Hugging Face applies them to queries and keys: the
 * first {@code dims} dimensions of each head are rotated in pairs, pair i by the angle position ×
 * inverse frequency i, and the dimensions after them pass unrotated. Checkpoints pair dimensions in
 * one of two ways, and a model must use the one it was trained with.
 */
final class Rotary {

    /** Which dimensions of a head form a rotated pair. */
    enum Pairing {
        /** rotate_half (Llama, GPT-NeoX): dims i and i + dims/2. */
        HALVES,
        /** rotate_every_two (GPT-J): dims 2i and 2i + 1. */
        INTERLEAVED
    }

    private final Pairing pairing;
    private final int dims;
    private final NDArray inverseFrequencies;

    /** Rotates 2 × {@code inverseFrequencies.length} dims of each head; the array is owned by {@code manager} (the model's). */
    Rotary(Pairing pairing, float[] inverseFrequencies, NDManager manager) {
        this.pairing = pairing;
        this.dims = 2 * inverseFrequencies.length;
        this.inverseFrequencies = manager.create(inverseFrequencies);
    }

    /**
     * The inverse frequencies base^(-2i/dims) for i = 0 .. dims/2-1 (HF {@code _compute_default_rope_parameters};
     * GPT-J's {@code create_sinusoidal_positions} with base 10000).
     */
    static float[] inverseFrequencies(double base, int dims) {
        return inverseFrequencies(base, dims, DoubleUnaryOperator.identity());
    }

    /** The same, each frequency passed through {@code rescale} in double precision before it is rounded to float. */
    static float[] inverseFrequencies(double base, int dims, DoubleUnaryOperator rescale) {
        float[] inverse = new float[dims / 2];
        for (int i = 0; i < inverse.length; i++) {
            inverse[i] = (float) rescale.applyAsDouble(1 / Math.pow(base, 2.0 * i / dims));
        }
        return inverse;
    }

    /** The rotation of tokens at int64 {@code positions} ([rows or 1, tokens]). */
    Angles at(NDArray positions) {
        NDArray angles = positions.toType(DataType.FLOAT32, false).expandDims(-1).mul(inverseFrequencies);
        Shape s = angles.getShape();
        angles = switch (pairing) {
            case HALVES -> angles.concat(angles, -1); // [a0 .. a(n-1), a0 .. a(n-1)]
            case INTERLEAVED -> angles.expandDims(-1).concat(angles.expandDims(-1), -1).reshape(s.get(0), s.get(1), dims); // [a0, a0, a1, a1, ..]
        };
        angles = angles.expandDims(1); // one rotation for every head
        return new Angles(angles.cos(), angles.sin());
    }

    /** cos and sin of the angles, [rows or 1, 1, tokens, dims], each angle at the two dims of its pair. */
    final class Angles {
        private final NDArray cos;
        private final NDArray sin;

        private Angles(NDArray cos, NDArray sin) {
            this.cos = cos;
            this.sin = sin;
        }

        /**
         * HF apply_rotary_pos_emb on the first dims of each head of {@code x} ([rows, heads, tokens, head_dim]):
         * x·cos + rotate(x)·sin, where rotate maps each pair (a, b) to (-b, a); the other dims pass as they are.
         */
        NDArray rotate(NDArray x) {
            long headDim = x.getShape().get(3);
            NDArray part = dims == headDim ? x : x.get("..., :" + dims);
            NDArray rotated = part.mul(cos).add(rotatePairs(part).mul(sin));
            return dims == headDim ? rotated : rotated.concat(x.get("..., " + dims + ":"), -1);
        }

        private NDArray rotatePairs(NDArray x) {
            if (pairing == Pairing.HALVES) {
                int half = dims / 2;
                return x.get("..., " + half + ":").neg().concat(x.get("..., :" + half), -1);
            }
            Shape s = x.getShape();
            NDArray pairs = x.reshape(s.get(0), s.get(1), s.get(2), dims / 2, 2);
            return pairs.get("..., 1").neg().stack(pairs.get("..., 0"), -1).reshape(s);
        }
    }
}
