package dev.locus.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.function.Predicate;

/**
 * PyTorch's nn.Embedding, nn.Linear and nn.LayerNorm as Hugging Face checkpoints store them ({@code name.weight},
 * {@code name.bias}), run on a model's {@link Weights} and listed for its expected shapes.
 */
final class HfModules {
    private HfModules() {}

    /** nn.Embedding: the rows of {@code table} ([count, width]) at int64 {@code ids}, [.., width]. */
    static NDArray embedding(NDArray table, NDArray ids) {
        return Embedding.embedding(ids, table, SparseFormat.DENSE).singletonOrThrow();
    }

    /** nn.Linear: x·Wᵀ with W [out, in], plus the bias where the checkpoint has one. */
    static NDArray linear(Weights weights, NDArray x, String name) {
        NDArray w = weights.get(name + ".weight");
        String bias = name + ".bias";
        return (weights.names().contains(bias) ? Linear.linear(x, w, weights.get(bias)) : Linear.linear(x, w)).singletonOrThrow();
    }

    /** nn.LayerNorm over the last axis, with its weight and bias. */
    static NDArray layerNorm(Weights weights, NDArray x, String name, float eps) {
        NDArray w = weights.get(name + ".weight");
        return LayerNorm.layerNorm(x, w.getShape(), w, weights.get(name + ".bias"), eps).singletonOrThrow();
    }

    /** The shapes of an nn.Linear from {@code in} to {@code out} features: weight [out, in], bias [out] if it has one. */
    static void linearShapes(Map<String, Shape> shapes, String name, long out, long in, boolean bias) {
        shapes.put(name + ".weight", new Shape(out, in));
        if (bias) {
            shapes.put(name + ".bias", new Shape(out));
        }
    }

    /** The shapes of an nn.LayerNorm over {@code width} features: weight and bias [width]. */
    static void layerNormShapes(Map<String, Shape> shapes, String name, long width) {
        shapes.put(name + ".weight", new Shape(width));
        shapes.put(name + ".bias", new Shape(width));
    }

    /**
     * GPT-2's initialisation, which Llama's follows too, from a seeded Java generator (reproducible across
     * machines): norm weights 1, biases 0, other weights N(0, 0.02), and the projections that write into the
     * residual stream N(0, 0.02/√(2·layers)) so its variance does not grow with depth. Tensors are drawn in
     * the order of {@code shapes}.
     */
    static Map<String, NDArray> initialize(Map<String, Shape> shapes, int layers, long seed, NDManager manager,
                                           Predicate<String> isNormWeight, Predicate<String> isResidualProjection) {
        Random random = new Random(seed);
        double residualStd = 0.02 / Math.sqrt(2.0 * layers);
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, Shape> e : shapes.entrySet()) {
            String name = e.getKey();
            float[] values = new float[Math.toIntExact(e.getValue().size())];
            if (isNormWeight.test(name)) {
                Arrays.fill(values, 1f);
            } else if (name.endsWith(".weight")) {
                double std = isResidualProjection.test(name) ? residualStd : 0.02;
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) (random.nextGaussian() * std);
                }
            }
            tensors.put(name, manager.create(values, e.getValue()));
        }
        return tensors;
    }
}
