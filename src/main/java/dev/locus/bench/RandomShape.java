package dev.locus.bench;

import ai.djl.Device;
import dev.locus.model.Gpt2;
import dev.locus.model.Llama;
import dev.locus.model.LlamaConfig;
import dev.locus.model.ModelConfig;
import dev.locus.model.SavableTransformer;
import java.util.Arrays;
import java.util.Optional;

/**
 * Realistic model shapes with seeded random weights, for timings and memory where no checkpoint can be
 * downloaded: the work of a forward pass or an edit depends on the shape, not on the values.
 */
enum RandomShape {
    /** GPT-2 small (124 M parameters): 12 layers, d 768, 12 heads, MLP 3072, vocabulary 50257, 1024 positions. */
    GPT2_SMALL("gpt2-small") {
        @Override
        SavableTransformer create(long seed) {
            return Gpt2.initialize(new ModelConfig(12, 768, 12, 1024, 50257, 3072, 1e-5f, "gelu_new"), seed, Device.cpu());
        }
    },
    /**
     * Llama 3.2 1B (1.24 B parameters) as its config.json gives it: 16 layers, d 2048, 32 query / 8 key-value heads of 64,
     * SwiGLU 8192, vocabulary 128256, rope θ 500000 with llama3 scaling (factor 32 over 8192 positions), tied head.
     */
    LLAMA_3_2_1B("llama-3.2-1b") {
        @Override
        SavableTransformer create(long seed) {
            LlamaConfig config = new LlamaConfig("llama", 16, 2048, 32, 8, 64, 8192, 128256, 131072, 1e-5f, 500000,
                    new LlamaConfig.Llama3Scaling(32, 1, 4, 8192), true, false, false, false, null);
            return Llama.initialize(config, seed, Device.cpu());
        }
    };

    private final String label;

    RandomShape(String label) {
        this.label = label;
    }

    String label() {
        return label;
    }

    abstract SavableTransformer create(long seed);

    static Optional<RandomShape> named(String name) {
        return Arrays.stream(values()).filter(s -> s.label.equals(name)).findFirst();
    }
}
