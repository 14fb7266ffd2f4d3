package dev.locus.model;

import ai.djl.Device;

/** Small random GPT-2s for tests that need no trained weights. */
final class TinyModels {
    private TinyModels() {}

    static ModelConfig config() {
        return new ModelConfig(3, 16, 2, 24, 40, 64, 1e-5f, "gelu_new");
    }

    static Gpt2 random(long seed) {
        return Gpt2.initialize(config(), seed, Device.cpu());
    }
}
