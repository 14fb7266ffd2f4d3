package dev.locus.tracing;

import ai.djl.ndarray.NDManager;
import dev.locus.model.Hooks;
import dev.locus.model.Intervention;
import dev.locus.model.LanguageModel;
import dev.locus.model.LayerWindow;
import dev.locus.model.Selection;
import java.util.Map;

/**
 * The reference algorithm, as the original causal-tracing code runs it: one forward pass per
 * (kind, layer, token) cell over 1 + S rows — row 0 clean, rows 1..S with the subject noised —
 * restoring the cell's states in every row from row 0 of the same pass.
 */
public final class NaiveTracer extends Tracer {

    public NaiveTracer(LanguageModel lm, TracingSettings settings, double sigma) {
        super(lm, settings, sigma);
    }

    @Override
    protected Grids measure(Setup s) {
        int rows = 1 + settings.samples();
        int layers = lm.dimensions().layers();
        double pCorrupt = meanOfNoisyRows(s, rows, Hooks.none());
        Map<TraceKind, double[][]> grids = emptyGrids(s, pCorrupt, layers);
        for (TraceKind kind : TraceKind.values()) {
            for (int layer = 0; layer < layers; layer++) {
                LayerWindow window = LayerWindow.around(layer, settings.window(kind), layers);
                for (int t = s.tracedFrom(); t < s.promptLength(); t++) {
                    Hooks restore = Hooks.none();
                    for (int l = window.start(); l < window.end(); l++) {
                        restore.add(kind.at(l), Intervention.copyFromRow(0, Selection.positions(t)));
                    }
                    grids.get(kind)[t][layer] = meanOfNoisyRows(s, rows, restore);
                }
            }
        }
        return new Grids(pCorrupt, grids);
    }

    /** Mean p(target) over rows 1..S of a pass with the subject noised in those rows, then {@code after}. */
    private double meanOfNoisyRows(Setup s, int rows, Hooks after) {
        try (NDManager m = lm.manager().newSubManager()) {
            var scoring = s.scoring(m, rows);
            Hooks hooks = s.corruption(m, rows, 1, (int) scoring.inputs().ids().getShape().get(1)).addAll(after);
            double[] p = scoring.probabilities(lm.model().forward(scoring.inputs().ids(), hooks));
            double sum = 0;
            for (int r = 1; r < rows; r++) {
                sum += p[r];
            }
            return sum / (rows - 1);
        }
    }
}
