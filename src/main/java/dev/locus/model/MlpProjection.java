package dev.locus.model;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.core.Linear;

/**
 * An MLP output projection stored as a checkpoint stores it: GPT-2's Conv1D as [in, out] (y = k·W + b),
 * nn.Linear as [out, in] (y = k·Wᵀ, with or without b). The one place that knows the orientation.
 */
final class MlpProjection implements EditSite {
    private final Weights weights;
    private final int layer;
    private final String weightName;
    private final String biasName;
    private final boolean inputMajor;

    private MlpProjection(Weights weights, int layer, String weightName, String biasName, boolean inputMajor) {
        this.weights = weights;
        this.layer = layer;
        this.weightName = weightName;
        this.biasName = biasName;
        this.inputMajor = inputMajor;
    }

    /** GPT-2's Conv1D: W [in, out] and a bias. */
    static EditSite conv1d(Weights weights, int layer, String weightName, String biasName) {
        return new MlpProjection(weights, layer, weightName, biasName, true);
    }

    /** nn.Linear: W [out, in]; {@code biasName} null where there is no bias. */
    static EditSite linear(Weights weights, int layer, String weightName, String biasName) {
        return new MlpProjection(weights, layer, weightName, biasName, false);
    }

    @Override
    public HookPoint key() {
        return HookPoint.mlpKey(layer);
    }

    @Override
    public HookPoint value() {
        return HookPoint.mlpOut(layer);
    }

    @Override
    public String weightName() {
        return weightName;
    }

    @Override
    public String biasName() {
        return biasName;
    }

    @Override
    public NDArray apply(NDArray key) {
        NDArray w = weights.get(weightName);
        NDArray row = key.reshape(1, -1);
        // The key first, so that the result lands in the key's manager, not the model's.
        NDArray y = inputMajor ? row.matMul(w) : Linear.linear(row, w).singletonOrThrow();
        y = y.reshape(-1);
        return biasName == null ? y : y.add(weights.get(biasName));
    }

    @Override
    public NDArray project(NDArray keys, NDArray weight, NDArray bias) {
        if (inputMajor) {
            NDArray y = keys.matMul(weight);
            return bias == null ? y : y.add(bias);
        }
        return (bias == null ? Linear.linear(keys, weight) : Linear.linear(keys, weight, bias)).singletonOrThrow();
    }

    @Override
    public NDArray plusRankOne(NDArray key, NDArray value) {
        NDArray w = weights.get(weightName);
        NDArray update = inputMajor ? key.reshape(-1, 1).matMul(value.reshape(1, -1)) : value.reshape(-1, 1).matMul(key.reshape(1, -1));
        return w.add(update);
    }
}
