package dev.locus.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.SharedFiles;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The forward pass against logits from an independent PyTorch GPT-2 on the same weights. */
class Gpt2ReferenceTest {

    @Test
    void logitsMatchIndependentImplementation() throws Exception {
        Path dir = SharedFiles.require("fixtures/gpt2-tiny-trace");
        JsonNode ref = new ObjectMapper().readTree(dir.resolve("reference.json").toFile());
        long[] ids = new long[ref.get("input_ids").size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = ref.get("input_ids").get(i).asLong();
        }
        try (LanguageModel lm = LanguageModel.load(dir); NDManager m = lm.manager().newSubManager()) {
            NDArray logits = lm.model().forward(m.create(ids, new Shape(1, ids.length)), Hooks.none());
            float[] got = logits.toFloatArray();
            int vocab = lm.dimensions().vocabSize();
            double worst = 0;
            for (int t = 0; t < ids.length; t++) {
                JsonNode row = ref.get("logits").get(t);
                assertEquals(vocab, row.size());
                for (int v = 0; v < vocab; v++) {
                    worst = Math.max(worst, Math.abs(got[t * vocab + v] - row.get(v).asDouble()));
                }
            }
            System.out.printf("GPT-2 fixture: largest logit difference %.3g%n", worst);
            assertEquals(0, worst, 1e-4, "largest logit difference " + worst);
        }
    }
}
