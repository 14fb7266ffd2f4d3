package dev.locus.tracing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.locus.model.HookPoint;
import dev.locus.model.Hooks;
import dev.locus.model.Intervention;
import dev.locus.model.LanguageModel;
import dev.locus.model.Selection;
import dev.locus.model.TargetScoring;
import java.util.EnumMap;
import java.util.Map;

/**
 * The same trace as {@link NaiveTracer}, computing each shared piece once: one clean pass
 * records every clean state; one corrupted pass (S rows) records the residual stream entering
 * every block; then for each (kind, layer) all traced tokens run as one batch of tokens × S rows
 * that starts at the first layer of the window from the recorded corrupted stream, so the layers
 * below the window are never recomputed.
 */
public final class FastTracer extends Tracer {

    public FastTracer(LanguageModel lm, TracingSettings settings, double defaultSigma) {
        super(lm, settings, defaultSigma);
    }

    @Override
    protected Grids measure(Setup s) {
        int samples = settings.samples();
        int layers = lm.config().nLayer();
        try (NDManager m = lm.manager().newSubManager()) {
            TargetScoring one = s.scoring(m, 1);
            Hooks recordClean = Hooks.none();
            Map<HookPoint, Intervention.Capture> clean = new java.util.HashMap<>();
            for (TraceKind kind : TraceKind.values()) {
                for (int l = 0; l < layers; l++) {
                    clean.put(kind.at(l), recordClean.capture(kind.at(l)));
                }
            }
            lm.model().forward(one.inputs().ids(), recordClean);

            // The corrupted stream entering each block: [0] is the noised embedding, [l] the output of block l-1.
            TargetScoring noisy = s.scoring(m, samples);
            int length = (int) noisy.inputs().ids().getShape().get(1);
            NDArray[] entering = new NDArray[layers];
            entering[0] = lm.model().embed(noisy.inputs().ids(), s.corruption(m, samples, 0, length));
            Hooks recordNoisy = Hooks.none();
            Intervention.Capture[] out = new Intervention.Capture[layers];
            for (int l = 0; l < layers; l++) {
                out[l] = recordNoisy.capture(HookPoint.blockOut(l));
            }
            double pCorrupt = mean(s.probabilities(noisy, lm.model().forwardFrom(0, entering[0], recordNoisy)), 0, samples);
            for (int l = 1; l < layers; l++) {
                entering[l] = out[l - 1].value();
            }

            Map<TraceKind, double[][]> grids = emptyGrids(s, pCorrupt, layers);
            int traced = s.promptLength() - s.tracedFrom();
            int tokensPerPass = Math.max(1, Math.min(traced, settings.maxBatchRows() / samples));
            for (TraceKind kind : TraceKind.values()) {
                for (int layer = 0; layer < layers; layer++) {
                    int[] window = TraceKind.window(layer, settings.window(kind), layers);
                    for (int first = s.tracedFrom(); first < s.promptLength(); first += tokensPerPass) {
                        int count = Math.min(tokensPerPass, s.promptLength() - first);
                        double[] p = restoredPass(s, m, kind, window, first, count, entering[window[0]], clean);
                        for (int i = 0; i < count; i++) {
                            grids.get(kind)[first + i][layer] = mean(p, i * samples, (i + 1) * samples);
                        }
                    }
                }
            }
            return new Grids(pCorrupt, grids);
        }
    }

    /**
     * One pass for tokens first..first+count−1: row group i restores token first+i in every layer of
     * the window; rows within a group are the S noise samples.
     */
    private double[] restoredPass(Setup s, NDManager m, TraceKind kind, int[] window, int first, int count,
                                  NDArray entering, Map<HookPoint, Intervention.Capture> clean) {
        int samples = settings.samples();
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            int[] position = new int[count * samples];
            for (int r = 0; r < position.length; r++) {
                position[r] = first + r / samples;
            }
            Hooks restore = Hooks.none();
            for (int l = window[0]; l < window[1]; l++) {
                restore.add(kind.at(l), Intervention.patch(Selection.onePerRow(position), clean.get(kind.at(l)).value()));
            }
            TargetScoring scoring = s.scoring(m, count * samples);
            NDArray stream = entering.tile(new long[] {count, 1, 1});
            return s.probabilities(scoring, lm.model().forwardFrom(window[0], stream, restore));
        }
    }

    private static double mean(double[] values, int from, int to) {
        double sum = 0;
        for (int i = from; i < to; i++) {
            sum += values[i];
        }
        return sum / (to - from);
    }
}
