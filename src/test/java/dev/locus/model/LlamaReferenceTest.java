package dev.locus.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Llama-family forward pass against outputs of transformers' own modeling code on the same
 * weights (../shared/fixtures/README.md): logits, hidden states, a padded batch, and the pass split
 * after 9 of 16 tokens, every block running the suffix against the rotated keys and values of the
 * prefix (with Mistral's window of 5 reaching across the split); and against llama2.c on a trained
 * checkpoint.
 */
class LlamaReferenceTest {

    @ParameterizedTest
    @ValueSource(strings = {"llama-tiny", "llama3-tiny", "qwen2-tiny", "mistral-tiny"})
    void matchesTransformers(String fixture) throws IOException {
        TransformersReference reference = TransformersReference.of(fixture);
        try (Llama model = Llama.load(reference.dir(), Device.cpu())) {
            reference.assertMatches(model, finalNorm(model));
        }
    }

    /** Trained weights: llama2.c's logits, HF's hidden states, and the greedy continuation all three implementations agree on. */
    @Test
    void stories260kMatchesLlama2cAndItsGreedyContinuation() throws IOException {
        TransformersReference reference = TransformersReference.of("llama-stories260k");
        try (Llama model = Llama.load(reference.dir(), Device.cpu())) {
            double logits = reference.logitsError(model);
            double hidden = reference.hiddenStatesError(model, finalNorm(model));
            JsonNode greedy = reference.reference().get("greedy");
            List<Long> expected = ids(greedy.get("model_py"));
            assertEquals(expected, ids(greedy.get("hf")));
            assertEquals(expected, ids(greedy.get("run_c")));
            List<Long> got = greedy(model, ids(greedy.get("prompt")), expected.size());
            System.out.printf("llama-stories260k: largest difference: logits (llama2.c) %.3g, hidden states (transformers) %.3g;"
                    + " greedy %d tokens %s%n", logits, hidden, got.size() - 1, got.equals(expected) ? "identical" : "differ");
            assertEquals(0, logits, TransformersReference.TOLERANCE, "logits");
            assertEquals(0, hidden, TransformersReference.TOLERANCE, "hidden states");
            assertEquals(expected, got, "greedy continuation from BOS");
        }
    }

    private static UnaryOperator<float[]> finalNorm(Llama model) {
        return x -> TransformersReference.rmsNorm(x, model.weights().get("model.norm.weight"), model.config().rmsNormEps());
    }

    /** Argmax of the last position, appended, until {@code total} ids; the full pass is recomputed each step. */
    private static List<Long> greedy(Llama model, List<Long> prompt, int total) {
        List<Long> ids = new ArrayList<>(prompt);
        while (ids.size() < total) {
            try (NDManager m = model.manager().newSubManager()) {
                long[] row = ids.stream().mapToLong(Long::longValue).toArray();
                NDArray logits = model.forward(m.create(row, new Shape(1, row.length)), Hooks.none());
                ids.add(logits.get(0, row.length - 1).argMax().getLong());
            }
        }
        return ids;
    }

    private static List<Long> ids(JsonNode array) {
        List<Long> ids = new ArrayList<>();
        array.forEach(n -> ids.add(n.asLong()));
        return ids;
    }
}
