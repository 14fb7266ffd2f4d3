package dev.locus.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/** An MLP nonlinearity as a config names it, with its constants as arrays owned by the model. */
final class Nonlinearity {
    private final ModelConfig.Activation kind;
    // Scalars as arrays owned by the model: Number overloads under autograd can read freed memory.
    private final NDArray half;
    private final NDArray one;
    private final NDArray geluCubic;
    private final NDArray geluScale;

    Nonlinearity(ModelConfig.Activation kind, NDManager manager) {
        this.kind = kind;
        this.half = manager.create(0.5f);
        this.one = manager.create(1f);
        this.geluCubic = manager.create(0.044715f);
        this.geluScale = manager.create((float) Math.sqrt(2 / Math.PI));
    }

    NDArray apply(NDArray x) {
        return switch (kind) {
            // gelu_new (HF NewGELUActivation): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
            case GELU_TANH -> x.mul(x).mul(x).mul(geluCubic).add(x).mul(geluScale).tanh().add(one).mul(x).mul(half);
            case GELU_ERF -> ai.djl.nn.Activation.gelu(x);
            case RELU -> ai.djl.nn.Activation.relu(x);
        };
    }
}
