package dev.locus.tracing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.SharedFiles;
import dev.locus.model.LanguageModel;
import dev.locus.model.NoiseSource;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Both engines, fed the exact noise of the original causal-tracing code, reproduce its p_clean,
 * p_corrupt and every grid cell on the same weights: a GPT-2 (learned positions) and a Llama
 * (rotary positions, grouped-query attention), where the fast engine's restored passes continue
 * from recorded keys and values at their own positions.
 */
class TracingReferenceTest {

    @ParameterizedTest
    @CsvSource({"gpt2-tiny-trace, naive", "gpt2-tiny-trace, fast", "llama-tiny, naive", "llama-tiny, fast"})
    void reproducesTheOriginalTracingCode(String fixture, String engine) throws Exception {
        Path dir = SharedFiles.require("fixtures/" + fixture);
        JsonNode root = new ObjectMapper().readTree(dir.resolve("reference.json").toFile());
        JsonNode ref = root.has("input_ids") ? root : root.get("trace"); // the Llama fixture keeps its trace beside its logits
        long[] ids = new long[ref.get("input_ids").size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = ref.get("input_ids").get(i).asLong();
        }
        JsonNode noise = ref.get("noise");
        int samples = ref.get("samples").asInt();
        JsonNode kinds = ref.get("trace");
        Map<TraceKind, Integer> windows = new EnumMap<>(TraceKind.class);
        for (TraceKind kind : TraceKind.values()) {
            windows.put(kind, kinds.get(kind.label()).get("window").asInt());
        }
        // The original code's settings: noise factor 3, every target token, no p_clean filter, every token traced.
        TracingSettings settings = new TracingSettings(samples, windows, 0, 3, false, 0, false, 512, 0, false);
        double sigma = ref.get("noise_sigma").asDouble();
        NoiseSource replay = (s, positions, width, scale) -> {
            float[] out = new float[s * positions * width];
            for (int i = 0; i < s; i++) {
                for (int p = 0; p < positions; p++) {
                    for (int d = 0; d < width; d++) {
                        out[(i * positions + p) * width + d] = (float) noise.get(i).get(p).get(d).asDouble();
                    }
                }
            }
            return out;
        };
        try (LanguageModel lm = LanguageModel.load(dir)) {
            Tracer tracer = engine.equals("naive") ? new NaiveTracer(lm, settings, sigma) : new FastTracer(lm, settings, sigma);
            CausalTrace trace = (CausalTrace) tracer.traceTokens(ids, ref.get("subject_start").asInt(),
                    ref.get("subject_end").asInt(), new long[] {ref.get("target_id").asLong()}, replay);
            for (TraceKind kind : TraceKind.values()) {
                JsonNode expected = kinds.get(kind.label());
                assertEquals(expected.get("p_clean").asDouble(), trace.pClean(), 1e-5, "p_clean");
                assertEquals(expected.get("p_corrupt").asDouble(), trace.pCorrupt(), 1e-5, "p_corrupt");
                double[][] grid = trace.restored().get(kind);
                for (int t = 0; t < ids.length; t++) {
                    for (int l = 0; l < trace.layers(); l++) {
                        assertEquals(expected.get("grid").get(t).get(l).asDouble(), grid[t][l], 1e-5,
                                kind.label() + " token " + t + " layer " + l);
                    }
                }
            }
        }
    }
}
