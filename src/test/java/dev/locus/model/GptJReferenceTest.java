package dev.locus.model;

import ai.djl.Device;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/**
 * The GPT-J forward pass against outputs of transformers' own GPTJForCausalLM on the same weights
 * (../shared/fixtures/gptj-tiny: rotary_dim 8 of head 16, lm_head with a bias): logits of every
 * sequence, hidden states, a padded batch, and a suffix run over the prefix's keys and values.
 */
class GptJReferenceTest {

    @Test
    void matchesTransformers() throws IOException {
        TransformersReference reference = TransformersReference.of("gptj-tiny");
        try (GptJ model = GptJ.load(reference.dir(), Device.cpu())) {
            reference.assertMatches(model, x -> TransformersReference.layerNorm(x, model.weights().get("transformer.ln_f.weight"),
                    model.weights().get("transformer.ln_f.bias"), model.config().layerNormEps()));
        }
    }
}
