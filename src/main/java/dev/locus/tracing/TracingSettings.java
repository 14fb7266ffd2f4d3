package dev.locus.tracing;

import java.util.EnumMap;
import java.util.Map;

/**
 * Hyperparameters of one trace (ALGORITHMS.md §1).
 *
 * @param samples        S, the corrupted runs averaged per cell
 * @param windows        window size per kind (1 for hidden, 5 for mlp/attn by default)
 * @param seed           seed of the noise draws; the same draws serve every cell of a trace
 * @param noiseSigma     explicit σ, or NaN to use the model's estimate
 * @param noiseFactor    σ = factor × std of subject token embeddings when estimated
 * @param firstTokenOnly score only the first target token (the older variant)
 * @param minCleanProbability facts below this p_clean are not analysed
 * @param fromSubject    trace tokens from the subject start (true) or from the first token
 * @param maxBatchRows   most rows the fast engine puts in one forward pass (memory bound)
 */
public record TracingSettings(int samples, Map<TraceKind, Integer> windows, long seed, double noiseSigma,
                              double noiseFactor, boolean firstTokenOnly, double minCleanProbability,
                              boolean fromSubject, int maxBatchRows) {

    public TracingSettings {
        if (samples < 1) {
            throw new IllegalArgumentException("samples must be at least 1");
        }
        windows = new EnumMap<>(windows);
        for (TraceKind k : TraceKind.values()) {
            if (windows.getOrDefault(k, 0) < 1) {
                throw new IllegalArgumentException("window for " + k.label() + " must be at least 1");
            }
        }
    }

    public static TracingSettings defaults() {
        return new TracingSettings(10, Map.of(TraceKind.HIDDEN, 1, TraceKind.MLP, 5, TraceKind.ATTN, 5), 1,
                Double.NaN, 3, false, 0.02, true, 512);
    }

    public int window(TraceKind kind) {
        return windows.get(kind);
    }

    public TracingSettings withSeed(long newSeed) {
        return new TracingSettings(samples, windows, newSeed, noiseSigma, noiseFactor, firstTokenOnly,
                minCleanProbability, fromSubject, maxBatchRows);
    }

    public TracingSettings withWindows(Map<TraceKind, Integer> newWindows) {
        return new TracingSettings(samples, newWindows, seed, noiseSigma, noiseFactor, firstTokenOnly,
                minCleanProbability, fromSubject, maxBatchRows);
    }
}
