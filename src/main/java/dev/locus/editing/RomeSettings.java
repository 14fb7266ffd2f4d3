package dev.locus.editing;

/**
 * ROME hyperparameters (ALGORITHMS.md §2); the defaults are the published GPT-J values.
 *
 * @param vSteps          Adam steps optimising δ
 * @param vLearningRate   Adam learning rate for δ
 * @param klFactor        weight of KL(p_now ‖ p_before) on the "{subject} is a" prompt
 * @param weightDecay     weight of ‖δ‖ / ‖v‖²
 * @param clampNormFactor ‖δ‖ is projected to at most this × ‖v‖ after every step
 * @param stopLoss        optimisation stops once the mean NLL is below this
 * @param prefixSeed      seed for sampling the context prefixes from the model
 */
public record RomeSettings(int vSteps, double vLearningRate, double klFactor, double weightDecay,
                           double clampNormFactor, double stopLoss, long prefixSeed) {

    public static RomeSettings gptJ() {
        return new RomeSettings(20, 0.5, 0.0625, 0.5, 4, 5e-2, 0);
    }
}
