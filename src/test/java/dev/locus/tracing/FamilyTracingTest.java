package dev.locus.tracing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.SharedFiles;
import dev.locus.model.LanguageModel;
import dev.locus.model.NoiseSource;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The fast engine equals the reference engine cell for cell on every rotary-family fixture, at 16
 * tokens: llama3's scaled rotary, Qwen2's q/k/v biases, Mistral's sliding window of 5, which the
 * fast engine's passes over recorded keys and values must respect too, GPT-J's interleaved partial
 * rotary with its parallel block, and GPT-NeoX's fused per-head query_key_value.
 */
class FamilyTracingTest {

    @ParameterizedTest
    @ValueSource(strings = {"llama-tiny", "llama3-tiny", "qwen2-tiny", "mistral-tiny", "gptj-tiny", "gpt-neox-tiny"})
    void fastEqualsNaive(String fixture) throws Exception {
        Path dir = SharedFiles.require("fixtures/" + fixture);
        JsonNode sequences = new ObjectMapper().readTree(dir.resolve("reference.json").toFile()).get("sequences");
        JsonNode longest = sequences.get(sequences.size() - 1);
        long[] ids = new long[longest.get("input_ids").size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = longest.get("input_ids").get(i).asLong();
        }
        long target = argmax(longest.get("last_logits"));
        // Every token traced and no p_clean filter, so every cell of every kind is compared; windows as in the spec.
        TracingSettings settings = TracingSettings.defaults().toBuilder().samples(3).minCleanProbability(0).build();
        try (LanguageModel lm = LanguageModel.load(dir)) {
            CausalTrace naive = (CausalTrace) new NaiveTracer(lm, settings, 0.5).traceTokens(ids, 2, 5, new long[] {target},
                    NoiseSource.gaussian(3));
            CausalTrace fast = (CausalTrace) new FastTracer(lm, settings, 0.5).traceTokens(ids, 2, 5, new long[] {target},
                    NoiseSource.gaussian(3));
            assertEquals(naive.pClean(), fast.pClean(), 1e-5);
            assertEquals(naive.pCorrupt(), fast.pCorrupt(), 1e-5);
            assertTrue(naive.pClean() != naive.pCorrupt(), "the noise should change p");
            for (TraceKind kind : TraceKind.values()) {
                double[][] a = naive.restored().get(kind);
                double[][] b = fast.restored().get(kind);
                for (int t = naive.tracedFrom(); t < ids.length; t++) {
                    for (int l = 0; l < naive.layers(); l++) {
                        assertEquals(a[t][l], b[t][l], 1e-5, fixture + " " + kind.label() + " token " + t + " layer " + l);
                    }
                }
            }
        }
    }

    private static long argmax(JsonNode values) {
        int best = 0;
        for (int i = 1; i < values.size(); i++) {
            if (values.get(i).asDouble() > values.get(best).asDouble()) {
                best = i;
            }
        }
        return best;
    }
}
