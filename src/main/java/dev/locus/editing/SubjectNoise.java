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
    private final long seed;
    private final double sigma;
    private final float[] noise;
    private final int tokens;
    private final int width;

    public SubjectNoise(long seed, double sigma, int maxTokens, int width) {
        this.seed = seed;
        this.sigma = sigma;
        this.noise = NoiseSource.gaussian(seed).draw(1, maxTokens, width, sigma);
        this.tokens = maxTokens;
        this.width = width;
    }

    /** Adds the noise to positions spans[row][0]..spans[row][1]−1 of each row of a pass of {@code length} tokens. */
    public Hooks hooks(NDManager m, int[][] spans, int length) {
        return hooks(m, spans, length, 1, noise);
    }

    /**
     * The rows at {@code spans} repeated {@code copies} times (copy c is rows c·n … c·n + n − 1), copy c with the c-th of as
     * many draws from this noise's seed, the first of them this noise's own: the authors' FT for Fact Forcing sums its
     * loss over 10 such copies (evaluate.py:492, ft_main.py:146-149).
     */
    public Hooks hooks(NDManager m, int[][] spans, int length, int copies) {
        return hooks(m, spans, length, copies, copies == 1 ? noise : NoiseSource.gaussian(seed).draw(copies, tokens, width, sigma));
    }

    private Hooks hooks(NDManager m, int[][] spans, int length, int copies, float[] draws) {
        EmbeddingNoise added = new EmbeddingNoise(spans.length * copies, length, width);
        for (int copy = 0; copy < copies; copy++) {
            for (int row = 0; row < spans.length; row++) {
                int count = spans[row][1] - spans[row][0];
                if (count > tokens) {
                    throw new IllegalArgumentException("subject of " + count + " tokens, noise drawn for " + tokens);
                }
                added.put(copy * spans.length + row, spans[row][0], count, draws, copy * tokens * width);
            }
        }
        return added.hooks(m);
    }
}
