package dev.locus.study;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.model.Sha256;
import java.util.List;
import java.util.Map;

/**
 * What a worker does to each fact: the edits (methods × problems × layers) and the tracing
 * settings. It travels inside every result, and its hash ({@link #id()}) is part of every result
 * id, so results of runs with different settings are never counted together by accident. The editing
 * configuration is there by name and by a hash of its values, so a preset or file whose values
 * changed between versions makes a new grid too. The protocol's name, the fact filter's continuation and the tracing's p_high
 * denominator appear only when set (other than Locus's own protocol, a filter of 0 tokens, p_clean), so grids from
 * before them keep their ids.
 */
public record Grid(
        List<String> methods,
        List<String> problems,
        int[] layers,
        int samples,
        long seed,
        Map<String, Integer> windows,
        @JsonProperty("noise_sigma") double noiseSigma,
        @JsonProperty("min_p_clean") double minPClean,
        @JsonProperty("editing_config") String editingConfig,
        @JsonProperty("editing_fingerprint") String editingFingerprint,
        @JsonInclude(JsonInclude.Include.NON_NULL) String protocol,
        @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("known_continuation") Integer knownContinuation,
        @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("high_denominator") Boolean highDenominator,
        @JsonInclude(JsonInclude.Include.NON_NULL) Essence essence) {

    /** A grid of Locus's own protocol, without the fact filter, p_high or the essence metrics (its JSON and id as before them). */
    public Grid(List<String> methods, List<String> problems, int[] layers, int samples, long seed, Map<String, Integer> windows,
                double noiseSigma, double minPClean, String editingConfig, String editingFingerprint) {
        this(methods, problems, layers, samples, seed, windows, noiseSigma, minPClean, editingConfig, editingFingerprint, null, null, null,
                null);
    }

    /** The essence metrics' settings, when they are on: they change the essence and fluency figures, so they make a grid. */
    public record Essence(int samples, int length, @JsonProperty("top_k") int topK) {
        /** Null when off. */
        public static Essence of(dev.locus.editing.Essence.Settings s) {
            return s.enabled() ? new Essence(s.samples(), s.length(), s.topK()) : null;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A short stable hash of the grid's JSON form. */
    public String id() {
        try {
            return Sha256.hex(JSON.writeValueAsString(this)).substring(0, 16);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
