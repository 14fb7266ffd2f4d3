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
 */
public record FineTuneSettings(int window, int steps, double learningRate, double epsilon, double skipLoss, int maxSkips) {

    public FineTuneSettings withWindow(int layers) {
        return new FineTuneSettings(layers, steps, learningRate, epsilon, skipLoss, maxSkips);
    }

    public static FineTuneSettings of(int window, int steps, double epsilon) {
        return new FineTuneSettings(window, steps, 5e-4, epsilon, 1e-2, 5);
    }
}
