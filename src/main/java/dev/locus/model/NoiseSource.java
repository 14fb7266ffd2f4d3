package dev.locus.model;

import java.util.Random;

/**
 * The corruption noise of a trace: {@code samples × positions × width} values, already scaled by
 * σ, flattened in that order. Injectable so a test can replay the exact noise of another
 * implementation.
 */
@FunctionalInterface
public interface NoiseSource {

    float[] draw(int samples, int positions, int width, double sigma);

    /** σ·N(0, 1) from a generator seeded afresh for every trace, so a trace is reproducible from its seed. */
    static NoiseSource gaussian(long seed) {
        return (samples, positions, width, sigma) -> {
            Random random = new Random(seed);
            float[] out = new float[samples * positions * width];
            for (int i = 0; i < out.length; i++) {
                out[i] = (float) (sigma * random.nextGaussian());
            }
            return out;
        };
    }
}
