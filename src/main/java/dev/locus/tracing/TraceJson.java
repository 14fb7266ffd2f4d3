package dev.locus.tracing;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link CausalTrace} in its snake_case JSON form: the trace, the restored [token][layer] grid
 * and window per kind (keyed hidden / mlp / attn), and the per-layer localization values the
 * analysis uses. {@code fact_id} and {@code target} say which fact it is, where known.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TraceJson(
        @JsonProperty("fact_id") String factId,
        String target,
        List<String> tokens,
        @JsonProperty("subject_start") int subjectStart,
        @JsonProperty("subject_end") int subjectEnd,
        @JsonProperty("traced_from") int tracedFrom,
        @JsonProperty("p_clean") double pClean,
        @JsonProperty("p_corrupt") double pCorrupt,
        @JsonProperty("noise_sigma") double noiseSigma,
        long seed,
        int samples,
        Map<String, Integer> windows,
        Map<String, double[][]> restored,
        double[] localization,
        @JsonProperty("localization_last_subject_token") double[] localizationLastSubjectToken) {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    public static TraceJson of(String factId, String target, CausalTrace trace) {
        Map<String, Integer> windows = new LinkedHashMap<>();
        Map<String, double[][]> restored = new LinkedHashMap<>();
        for (TraceKind kind : TraceKind.values()) {
            windows.put(kind.label(), trace.windows().get(kind));
            restored.put(kind.label(), trace.restored().get(kind));
        }
        return new TraceJson(factId, target, trace.tokens(), trace.subjectStart(), trace.subjectEnd(), trace.tracedFrom(),
                trace.pClean(), trace.pCorrupt(), trace.noiseSigma(), trace.seed(), trace.samples(), windows, restored,
                trace.localization(), trace.localizationAtLastSubjectToken());
    }

    /** One line of JSON (Jackson escapes newlines in strings), so traces can be written as JSON lines. */
    public String toJson() {
        try {
            return MAPPER.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
