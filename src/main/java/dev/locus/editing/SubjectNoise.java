package dev.locus.editing;

import ai.djl.ndarray.NDManager;
import dev.locus.model.EmbeddingNoise;
import dev.locus.model.Hooks;
import dev.locus.model.NoiseSource;

/**
 * One fixed draw of tracing noise for a subject (σ·N(0, I) per subject token, seeded), added to
 * the token embeddings of the subject wherever it occurs: how Tracing Reversal finds o_noise and
 * how Fact Forcing edits and evaluates with the subject corrupted.
 */
public final class SubjectNoise {
    private final float[] noise;
    private final int tokens;
    private final int width;

    public SubjectNoise(long seed, double sigma, int maxTokens, int width) {
        this.noise = NoiseSource.gaussian(seed).draw(1, maxTokens, width, sigma);
        this.tokens = maxTokens;
        this.width = width;
    }

    /** Adds the noise to positions spans[row][0]..spans[row][1]−1 of each row of a pass of {@code length} tokens. */
    public Hooks hooks(NDManager m, int[][] spans, int length) {
        EmbeddingNoise added = new EmbeddingNoise(spans.length, length, width);
        for (int row = 0; row < spans.length; row++) {
            int count = spans[row][1] - spans[row][0];
            if (count > tokens) {
                throw new IllegalArgumentException("subject of " + count + " tokens, noise drawn for " + tokens);
            }
            added.put(row, spans[row][0], count, noise, 0);
        }
        return added.hooks(m);
    }
}
