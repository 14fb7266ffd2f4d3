package dev.locus.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The GPT-NeoX forward pass against outputs of transformers' own GPTNeoXForCausalLM on the same
 * weights (../shared/fixtures/gpt-neox-tiny: parallel residual, rotary on 6 of head 24, fused
 * query_key_value, exact GELU, embed_out), and the sequential residual, which has no reference,
 * against a composition of the verified parallel model's own attention and MLP.
 */
class GptNeoXReferenceTest {

    @TempDir
    Path tmp;

    @Test
    void matchesTransformers() throws IOException {
        TransformersReference reference = TransformersReference.of("gpt-neox-tiny");
        try (GptNeoX model = GptNeoX.load(reference.dir(), Device.cpu())) {
            assertTrue(model.config().parallelResidual());
            assertEquals(6, model.config().rotaryDims());
            reference.assertMatches(model, x -> TransformersReference.layerNorm(x, model.weights().get("gpt_neox.final_layer_norm.weight"),
                    model.weights().get("gpt_neox.final_layer_norm.bias"), model.config().layerNormEps()));
        }
    }

    /**
     * The fixture's weights with use_parallel_residual false. A parallel block's attention output
     * A(x) and MLP output M(x) are each a function of the block's input alone, and the parallel model
     * matches transformers, so the sequential block must be x' = x + A(x), x' + M(x'), with A and M
     * read off the parallel model at hooks; and it must differ from the parallel pass.
     */
    @Test
    void sequentialResidualFeedsTheMlpTheStreamAfterAttention() throws IOException {
        TransformersReference reference = TransformersReference.of("gpt-neox-tiny");
        ObjectNode config = (ObjectNode) new ObjectMapper().readTree(reference.dir().resolve("config.json").toFile());
        new ObjectMapper().writeValue(tmp.resolve("config.json").toFile(), config.put("use_parallel_residual", false));
        Files.copy(reference.dir().resolve("model.safetensors"), tmp.resolve("model.safetensors"));
        try (GptNeoX parallel = GptNeoX.load(reference.dir(), Device.cpu()); GptNeoX sequential = GptNeoX.load(tmp, Device.cpu());
             NDManager m = parallel.manager().newSubManager()) {
            assertFalse(sequential.config().parallelResidual());
            NDArray tokens = m.create(new long[] {5, 101, 42, 200, 8, 77, 3, 1, 250, 13}, new ai.djl.ndarray.types.Shape(1, 10));
            int layers = parallel.config().layers();
            Hooks hooks = new Hooks();
            Intervention.Capture[] blockOut = new Intervention.Capture[layers];
            for (int l = 0; l < layers; l++) {
                blockOut[l] = hooks.capture(HookPoint.blockOut(l));
            }
            NDArray logits = sequential.forward(tokens, hooks);

            NDArray x = parallel.embed(tokens, Hooks.none());
            double worstState = 0;
            for (int l = 0; l < layers; l++) {
                NDArray afterAttention = x.add(output(parallel, l, x, HookPoint.attnOut(l)));
                x = afterAttention.add(output(parallel, l, afterAttention, HookPoint.mlpOut(l)));
                worstState = Math.max(worstState, maxAbs(blockOut[l].value().sub(x)));
            }
            double composed = maxAbs(logits.sub(parallel.head(x)));
            double fromParallel = maxAbs(logits.sub(parallel.forward(tokens, Hooks.none())));
            System.out.printf("gpt-neox-tiny sequential residual: largest difference from the composed pass: block outputs %.3g,"
                    + " logits %.3g; from the parallel pass: logits %.3g%n", worstState, composed, fromParallel);
            assertEquals(0, worstState, 1e-5, "block outputs");
            assertEquals(0, composed, 1e-5, "logits");
            assertTrue(fromParallel > 0.1, "sequential and parallel residuals give the same logits: " + fromParallel);
        }
    }

    /** The activation at {@code point} when {@code model}'s block {@code layer} runs on {@code x}. */
    private static NDArray output(GptNeoX model, int layer, NDArray x, HookPoint point) {
        Hooks hooks = new Hooks();
        Intervention.Capture c = hooks.capture(point);
        model.block(layer, x, null, null, hooks, null, null);
        return c.value();
    }

    private static double maxAbs(NDArray a) {
        return a.abs().max().getFloat();
    }
}
