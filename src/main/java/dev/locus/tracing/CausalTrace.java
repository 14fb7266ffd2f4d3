package dev.locus.tracing;

import java.util.List;
import java.util.Map;

/**
 * A full causal trace of one fact: p_clean, p_corrupt, and p_restored[token][layer] per kind for
 * every prompt token (tokens before {@code tracedFrom} were not run and hold p_corrupt, i.e.
 * effect 0), with what is needed to reproduce it (σ, seed, samples, windows), and which denominator its fractional
 * effects have ({@code highDenominator}: {@link TracingSettings#highDenominator}).
 */
public record CausalTrace(List<String> tokens, int subjectStart, int subjectEnd, int tracedFrom, double pClean,
                          double pCorrupt, Map<TraceKind, double[][]> restored, Map<TraceKind, Integer> windows,
                          double noiseSigma, long seed, int samples, boolean highDenominator) implements TraceOutcome {

    public int layers() {
        return restored.values().iterator().next()[0].length;
    }

    /** TE(ℓ, t) = p_restored(ℓ, t) − p_corrupt, as [token][layer]. */
    public double[][] absoluteEffect(TraceKind kind) {
        double[][] grid = restored.get(kind);
        double[][] out = new double[grid.length][];
        for (int t = 0; t < grid.length; t++) {
            out[t] = new double[grid[t].length];
            for (int l = 0; l < grid[t].length; l++) {
                out[t][l] = grid[t][l] - pCorrupt;
            }
        }
        return out;
    }

    /**
     * (p_restored − p_corrupt) / (p_top − p_corrupt), clipped below at 0, as [token][layer]; p_top is p_clean, or with
     * {@code highDenominator} p_high = max(p_clean, the kind's largest p_restored), as the authors' analysis divides
     * (ALGORITHMS.md §1.5). Where p_top is not above p_corrupt (noise did not lower p), there is nothing to restore
     * and the effect is 0.
     */
    public double[][] fractionalEffect(TraceKind kind) {
        double top = pClean;
        if (highDenominator) {
            for (double[] row : restored.get(kind)) {
                for (double p : row) {
                    top = Math.max(top, p);
                }
            }
        }
        double range = top - pCorrupt;
        double[][] out = absoluteEffect(kind);
        for (double[] row : out) {
            for (int l = 0; l < row.length; l++) {
                row[l] = range > 0 ? Math.max(0, row[l] / range) : 0;
            }
        }
        return out;
    }

    /** Per-layer localization value: max over traced tokens of the fractional MLP effect (window centred on ℓ). */
    public double[] localization() {
        double[][] effect = fractionalEffect(TraceKind.MLP);
        double[] out = new double[layers()];
        for (int t = tracedFrom; t < effect.length; t++) {
            for (int l = 0; l < out.length; l++) {
                out[l] = Math.max(out[l], effect[t][l]);
            }
        }
        return out;
    }

    /** The robustness variant: the fractional MLP effect at the last subject token. */
    public double[] localizationAtLastSubjectToken() {
        return fractionalEffect(TraceKind.MLP)[subjectEnd - 1].clone();
    }
}
