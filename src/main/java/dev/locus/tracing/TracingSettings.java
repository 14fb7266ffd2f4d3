package dev.locus.tracing;

import java.util.EnumMap;
import java.util.Map;

/**
 * Hyperparameters of one trace (ALGORITHMS.md §1). The noise level σ is not among them: it is a
 * property of the model, estimated once ({@link NoiseLevel#sigma}) and given to the tracer.
 *
 * @param samples        S, the corrupted runs averaged per cell
 * @param windows        window size per kind (1 for hidden, 5 for mlp/attn by default)
 * @param seed           seed of the noise draws; the same draws serve every cell of a trace
 * @param noiseFactor    σ = factor × std of subject token embeddings when estimated
 * @param firstTokenOnly score only the first target token (the older variant)
 * @param minCleanProbability facts below this p_clean are not analysed
 * @param fromSubject    trace tokens from the subject start (true) or from the first token
 * @param maxBatchRows   most rows the fast engine puts in one forward pass (memory bound)
 * @param knownContinuation the published fact filter (ALGORITHMS.md §6): facts whose true object is not in the model's
 *                       greedy continuation of this many tokens are not analysed; 0 = off
 * @param highDenominator fractional effects divided by p_high − p_corrupt, p_high = max(p_clean, the kind's largest
 *                       p_restored), as the authors' analysis does (third_party/data-analysis.ipynb), instead of the spec's
 *                       p_clean − p_corrupt
 */
public record TracingSettings(int samples, Map<TraceKind, Integer> windows, long seed, double noiseFactor,
                              boolean firstTokenOnly, double minCleanProbability, boolean fromSubject, int maxBatchRows,
                              int knownContinuation, boolean highDenominator) {

    public TracingSettings {
        if (samples < 1) {
            throw new IllegalArgumentException("samples must be at least 1, got " + samples);
        }
        windows = new EnumMap<>(windows);
        for (TraceKind k : TraceKind.values()) {
            if (windows.getOrDefault(k, 0) < 1) {
                throw new IllegalArgumentException("window for " + k.label() + " must be at least 1, got " + windows.get(k));
            }
        }
        if (maxBatchRows < 1) {
            throw new IllegalArgumentException("maxBatchRows must be at least 1, got " + maxBatchRows);
        }
        if (knownContinuation < 0) {
            throw new IllegalArgumentException("the known-fact filter's continuation is a number of tokens (36 as published) or 0 for "
                    + "no filter, not " + knownContinuation);
        }
    }

    /**
     * The spec's defaults: S = 10, windows 1 / 5 / 5, seed 1, σ factor 3, p_clean ≥ 0.02, from the subject, 512 rows a pass,
     * no continuation filter, fractions of p_clean − p_corrupt.
     */
    public static TracingSettings defaults() {
        return new TracingSettings(10, Map.of(TraceKind.HIDDEN, 1, TraceKind.MLP, 5, TraceKind.ATTN, 5), 1, 3, false, 0.02, true, 512, 0, false);
    }

    public int window(TraceKind kind) {
        return windows.get(kind);
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Changes some settings of a copy: {@code TracingSettings.defaults().toBuilder().seed(7).build()}. */
    public static final class Builder {
        private int samples;
        private final Map<TraceKind, Integer> windows;
        private long seed;
        private double noiseFactor;
        private boolean firstTokenOnly;
        private double minCleanProbability;
        private boolean fromSubject;
        private int maxBatchRows;
        private int knownContinuation;
        private boolean highDenominator;

        private Builder(TracingSettings s) {
            samples = s.samples;
            windows = new EnumMap<>(s.windows);
            seed = s.seed;
            noiseFactor = s.noiseFactor;
            firstTokenOnly = s.firstTokenOnly;
            minCleanProbability = s.minCleanProbability;
            fromSubject = s.fromSubject;
            maxBatchRows = s.maxBatchRows;
            knownContinuation = s.knownContinuation;
            highDenominator = s.highDenominator;
        }

        public Builder samples(int value) { samples = value; return this; }

        public Builder window(TraceKind kind, int size) { windows.put(kind, size); return this; }

        public Builder seed(long value) { seed = value; return this; }

        public Builder minCleanProbability(double value) { minCleanProbability = value; return this; }

        public Builder maxBatchRows(int value) { maxBatchRows = value; return this; }

        public Builder noiseFactor(double value) { noiseFactor = value; return this; }

        public Builder knownContinuation(int tokens) { knownContinuation = tokens; return this; }

        public Builder highDenominator(boolean value) { highDenominator = value; return this; }

        public TracingSettings build() {
            return new TracingSettings(samples, windows, seed, noiseFactor, firstTokenOnly, minCleanProbability, fromSubject,
                    maxBatchRows, knownContinuation, highDenominator);
        }
    }
}
