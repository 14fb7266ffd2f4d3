package dev.locus.editing;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * One edit of one fact, measured: every raw probability before and after, the four scores, and
 * the tracing value at the edited layer. {@code status} is "ok" or "failed" (with {@code error});
 * a failed edit has no scores and left the weights as they were.
 *
 * <p>With the essence metrics on ({@link Essence.Settings#enabled}) a successful edit also carries {@code target_score}
 * (the harmonic mean of the rewrite, paraphrase and neighbourhood scores, each floored at 0, as google/belief-localization
 * experiments/evaluate.py lines 229–231), the seed of its essence texts, their mean perplexity before and after, the
 * essence score (after − before) and the fluency (n-gram entropy) of the unedited and of the edited model's texts
 * ({@link Essence}). Off, and for a failed edit, they are null and left out of the JSON, so such results are exactly
 * what they were before these metrics.
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
        String error,
        @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("target_score") Double targetScore,
        @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("essence_seed") Long essenceSeed,
        @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("essence_ppl_pre") Double essencePplPre,
        @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("essence_ppl_post") Double essencePplPost,
        @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("essence_score") Double essenceScore,
        @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("fluency_pre") Double fluencyPre,
        @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("fluency_post") Double fluencyPost) {

    /** A result without the essence metrics (they are off, or the edit failed). */
    public EditResult(String factId, String method, String problem, int layer, int[] editedLayers, String target, double rewritePre,
                      double rewritePost, List<Double> paraphrasePre, List<Double> paraphrasePost, List<Double> neighborhoodPre,
                      List<Double> neighborhoodPost, double rewriteScore, double paraphraseScore, double neighborhoodScore,
                      double overallScore, double tracingValue, int steps, double loss, long durationMs, String status, String error) {
        this(factId, method, problem, layer, editedLayers, target, rewritePre, rewritePost, paraphrasePre, paraphrasePost,
                neighborhoodPre, neighborhoodPost, rewriteScore, paraphraseScore, neighborhoodScore, overallScore, tracingValue,
                steps, loss, durationMs, status, error, null, null, null, null, null, null, null);
    }

    /**
     * target_score: scipy's harmonic mean of the three scores (evaluate.py lines 229–231), each floored at 0 as their
     * scores are (np.max([0, ...]), lines 218 and 220; the neighbourhood score is never below 0); 0 when any is 0.
     */
    public static double targetScore(double rewrite, double paraphrase, double neighborhood) {
        double[] s = {Math.max(0, rewrite), Math.max(0, paraphrase), Math.max(0, neighborhood)};
        double inverse = 0;
        for (double x : s) {
            if (x == 0) {
                return 0;
            }
            inverse += 1 / x;
        }
        return s.length / inverse;
    }
}
