package dev.locus.editing;

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
 *                     with its own noise draw (the authors' 10; 1: the one draw the edit is evaluated with). Configuration
 *                     files from before it (0) mean 1.
 */
public record FineTuneSettings(int window, int steps, double learningRate, double epsilon, double skipLoss, int maxSkips,
                               int noiseSamples) {

    public FineTuneSettings {
        if (noiseSamples < 0) {
            throw new IllegalArgumentException("fine-tuning's noise samples are a count (1 or more), not " + noiseSamples);
        }
        noiseSamples = Math.max(1, noiseSamples);
    }

    public FineTuneSettings withWindow(int layers) {
        return new FineTuneSettings(layers, steps, learningRate, epsilon, skipLoss, maxSkips, noiseSamples);
    }

    public static FineTuneSettings of(int window, int steps, double epsilon) {
        return new FineTuneSettings(window, steps, 5e-4, epsilon, 1e-2, 5, 1);
    }

    public FineTuneSettings withNoiseSamples(int copies) {
        return new FineTuneSettings(window, steps, learningRate, epsilon, skipLoss, maxSkips, copies);
    }
}
