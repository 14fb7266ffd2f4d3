package dev.locus.editing;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * One edit of one fact, measured: every raw probability before and after, the four scores, and
 * the tracing value at the edited layer. {@code status} is "ok" or "failed" (with {@code error});
 * a failed edit has no scores and left the weights as they were.
 */
public record EditResult(
        @JsonProperty("fact_id") String factId,
        String method,
        String problem,
        int layer,
        @JsonProperty("edited_layers") int[] editedLayers,
        String target,
        @JsonProperty("rewrite_pre") double rewritePre,
        @JsonProperty("rewrite_post") double rewritePost,
        @JsonProperty("paraphrase_pre") List<Double> paraphrasePre,
        @JsonProperty("paraphrase_post") List<Double> paraphrasePost,
        @JsonProperty("neighborhood_pre") List<Double> neighborhoodPre,
        @JsonProperty("neighborhood_post") List<Double> neighborhoodPost,
        @JsonProperty("rewrite_score") double rewriteScore,
        @JsonProperty("paraphrase_score") double paraphraseScore,
        @JsonProperty("neighborhood_score") double neighborhoodScore,
        @JsonProperty("overall_score") double overallScore,
        @JsonProperty("tracing_value") double tracingValue,
        int steps,
        double loss,
        @JsonProperty("duration_ms") long durationMs,
        String status,
        String error) {}
