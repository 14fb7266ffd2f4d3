package dev.locus.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.Map;

/**
 * What every family's {@link Transformer} holds and does alike: the manager that owns the model's
 * arrays, its {@link Weights} under the checkpoint's names, HF's nn.Linear on them, and an embedding
 * that is the token embeddings alone (the rotary families; GPT-2 adds its position embeddings).
 */
abstract class HfTransformer implements Transformer {
    final NDManager manager;
    final Weights weights;

    HfTransformer(NDManager manager, Map<String, NDArray> tensors) {
        this.manager = manager;
        this.weights = new Weights(tensors, manager);
    }

    /** The token embeddings (hook point "embed"); positions enter at the attention's rotary. */
    @Override
    public NDArray embed(NDArray tokens, NDArray positions, Hooks hooks) {
        return hooks.apply(HookPoint.embed(), HfModules.embedding(tokenEmbeddings(), tokens));
    }

    @Override
    public Weights weights() {
        return weights;
    }

    @Override
    public NDManager manager() {
        return manager;
    }

    @Override
    public void close() {
        manager.close();
    }

    /** The nn.Linear {@code name} ([out, in], with its bias where the checkpoint has one) on {@code x}. */
    NDArray linear(NDArray x, String name) {
        return HfModules.linear(weights, x, name);
    }
}
