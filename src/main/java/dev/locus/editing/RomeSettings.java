package dev.locus.editing;

/**
 * ROME hyperparameters (ALGORITHMS.md §2): how v* is optimised, and the ridge added to the key
 * covariance before it is inverted (0 in the published method; see {@link KeyStatistics#inverseCovariance}).
 */
public record RomeSettings(ValueSettings value, double covarianceRidge) {

    /** The published GPT-J values: Adam lr 0.5, 20 steps, KL 0.0625, weight decay 0.5, clamp 4, no ridge. */
    public static RomeSettings gptJ() {
        return new RomeSettings(new ValueSettings(20, 0.5, 0.0625, 0.5, 4, 5e-2), 0);
    }
}
