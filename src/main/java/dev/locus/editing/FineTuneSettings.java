package dev.locus.editing;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * Constrained fine-tuning (ALGORITHMS.md §2).
 *
 * @param window       layers edited around ℓ (1 for FT-1, 5 for FT-5)
 * @param steps        Adam steps (25; 50 for Fact Forcing)
 * @param learningRate Adam learning rate
 * @param epsilon      every weight stays within w₀ ± ε (L∞ ball)
 * @param skipLoss     a step is skipped when the loss is below this
 * @param maxSkips     raising edits stop after this many skipped steps
 * @param noiseSamples with the subject noised (Fact Forcing), the loss is summed over this many copies of the prompt, each
 *                     with its own noise draw (the authors' 10); null: 1, the one draw the edit is evaluated with
 * @param sumTargetTokens the loss sums the target tokens' log-probabilities, as the authors' FT (util/fewshot_utils.py
 *                     score_from_batch); null or false: their mean, as ROME's NLL
 */
@JsonInclude(JsonInclude.Include.NON_NULL) // the two added settings stay out of the JSON, and the fingerprint, until set
public record FineTuneSettings(int window, int steps, double learningRate, double epsilon, double skipLoss, int maxSkips,
                               Integer noiseSamples, Boolean sumTargetTokens) {

    public FineTuneSettings {
        if (noiseSamples != null && noiseSamples < 1) {
            throw new IllegalArgumentException("fine-tuning's noise samples are a count (1 or more), not " + noiseSamples);
        }
    }

    public FineTuneSettings(int window, int steps, double learningRate, double epsilon, double skipLoss, int maxSkips) {
        this(window, steps, learningRate, epsilon, skipLoss, maxSkips, null, null);
    }

    /** Copies of the prompt under noise (1 unless set). */
    public int copies() {
        return noiseSamples == null ? 1 : noiseSamples;
    }

    public boolean sumsTargetTokens() {
        return Boolean.TRUE.equals(sumTargetTokens);
    }

    public FineTuneSettings withWindow(int layers) {
        return new FineTuneSettings(layers, steps, learningRate, epsilon, skipLoss, maxSkips, noiseSamples, sumTargetTokens);
    }

    public static FineTuneSettings of(int window, int steps, double epsilon) {
        return new FineTuneSettings(window, steps, 5e-4, epsilon, 1e-2, 5);
    }

    public FineTuneSettings withNoiseSamples(int copies) {
        return new FineTuneSettings(window, steps, learningRate, epsilon, skipLoss, maxSkips, copies, sumTargetTokens);
    }

    public FineTuneSettings summingTargetTokens() {
        return new FineTuneSettings(window, steps, learningRate, epsilon, skipLoss, maxSkips, noiseSamples, true);
    }
}
