package dev.locus.editing;

/**
 * How ROME's v* and MEMIT's z are optimised.
 *
 * @param steps           Adam steps
 * @param learningRate    Adam learning rate
 * @param klFactor        weight of KL(p_now ‖ p_before) on the "{subject} is a" prompt
 * @param weightDecay     weight of ‖δ‖ / ‖v‖²
 * @param clampNormFactor ‖δ‖ is projected to at most this × ‖v‖ after every step
 * @param stopLoss        optimisation stops once the loss is below this
 */
public record ValueSettings(int steps, double learningRate, double klFactor, double weightDecay,
                            double clampNormFactor, double stopLoss) {}
