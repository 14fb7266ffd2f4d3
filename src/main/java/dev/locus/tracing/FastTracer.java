package dev.locus.tracing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.locus.model.HookPoint;
import dev.locus.model.Hooks;
import dev.locus.model.Intervention;
import dev.locus.model.LanguageModel;
import dev.locus.model.LayerWindow;
import dev.locus.model.Selection;
import dev.locus.model.TargetScoring;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * The same trace as {@link NaiveTracer}, computing each shared piece once: one clean pass
 * records every clean state; one corrupted pass (S rows) records the residual stream entering
 * every block and its attention keys and values; then all cells (kind, layer) that restore the
 * same token run as one batch of cells × S rows (see {@link #restoredPass}). No layer below a
 * window and no position before the restored token is computed twice, and the batches are large
 * enough to keep the per-operation overhead small.
 */
public final class FastTracer extends Tracer {

    public FastTracer(LanguageModel lm, TracingSettings settings, double sigma) {
        super(lm, settings, sigma);
    }

    @Override
    protected Grids measure(Setup s) {
        int samples = settings.samples();
        int layers = lm.dimensions().layers();
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
            double pCorrupt = mean(noisy.probabilities(lm.model().forwardFrom(0, entering[0], recordNoisy)), 0, samples);
            NDArray[][] corruptedKv = new NDArray[layers][];
            for (int l = 0; l < layers; l++) {
                entering[l] = l == 0 ? entering[0] : out[l - 1].value();
                corruptedKv[l] = lm.model().keysAndValues(l, entering[l]);
            }

            Map<TraceKind, double[][]> grids = emptyGrids(s, pCorrupt, layers);
            int cellsPerPass = Math.max(1, settings.maxBatchRows() / samples);
            for (int t = s.tracedFrom(); t < s.promptLength(); t++) {
                List<Cell> cells = new ArrayList<>();
                for (TraceKind kind : TraceKind.values()) {
                    for (int layer = 0; layer < layers; layer++) {
                        LayerWindow window = LayerWindow.around(layer, settings.window(kind), layers);
                        cells.add(new Cell(kind, layer, window.start(), window.end(), t));
                    }
                }
                cells.sort(Comparator.comparingInt(Cell::start));
                for (int first = 0; first < cells.size(); first += cellsPerPass) {
                    List<Cell> chunk = cells.subList(first, Math.min(cells.size(), first + cellsPerPass));
                    double[] p = restoredPass(s, m, chunk, entering, corruptedKv, clean);
                    for (int i = 0; i < chunk.size(); i++) {
                        grids.get(chunk.get(i).kind())[t][chunk.get(i).layer()] = mean(p, i * samples, (i + 1) * samples);
                    }
                }
            }
            return new Grids(pCorrupt, grids);
        }
    }

    /** One grid cell: restore {@code kind} at {@code token} in layers [start, end) to measure (layer, token). */
    private record Cell(TraceKind kind, int layer, int start, int end, int token) {}

    /**
     * One pass over cells that restore the same token t, sorted by the first layer of their
     * window; row group i is cell i, its S rows the noise samples.
     * <ul>
     * <li>Below its window a cell's rows equal the corrupted run, so a cell joins the batch only at
     * its start layer, with the recorded corrupted stream: the batch grows layer by layer.
     * <li>Positions before t are never restored, so by causality they equal the corrupted run at
     * every layer: only positions t.. are computed, attending to the recorded corrupted keys and
     * values of the earlier positions.
     * </ul>
     */
    private double[] restoredPass(Setup s, NDManager m, List<Cell> cells, NDArray[] entering, NDArray[][] corruptedKv,
                                  Map<HookPoint, Intervention.Capture> clean) {
        int samples = settings.samples();
        int layers = lm.dimensions().layers();
        int token = cells.get(0).token();
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray x = null;
            int joined = 0;
            for (int l = cells.get(0).start(); l < layers; l++) {
                int starting = 0;
                while (joined + starting < cells.size() && cells.get(joined + starting).start() == l) {
                    starting++;
                }
                if (starting > 0) {
                    NDArray stream = entering[l].get(":, " + token + ":, :").tile(new long[] {starting, 1, 1});
                    x = x == null ? stream : x.concat(stream, 0);
                    joined += starting;
                }
                long[] copies = {joined, 1, 1, 1};
                NDArray pastKeys = token == 0 ? null : corruptedKv[l][0].get(":, :, :" + token + ", :").tile(copies);
                NDArray pastValues = token == 0 ? null : corruptedKv[l][1].get(":, :, :" + token + ", :").tile(copies);
                x = lm.model().block(l, x, restoreAt(l, cells.subList(0, joined), clean, token), pastKeys, pastValues);
            }
            return s.scoring(m, cells.size() * samples, token).probabilities(lm.model().head(x));
        }
    }

    /** Restores the clean state of token t (position 0 of the pass) in the rows of the cells whose window covers layer l. */
    private Hooks restoreAt(int layer, List<Cell> cells, Map<HookPoint, Intervention.Capture> clean, int token) {
        int samples = settings.samples();
        Hooks restore = Hooks.none();
        for (TraceKind kind : TraceKind.values()) {
            if (cells.stream().anyMatch(c -> c.kind() == kind && c.start() <= layer && layer < c.end())) {
                Selection rows = (row, position) -> {
                    Cell c = cells.get(row / samples);
                    return position == 0 && c.kind() == kind && c.start() <= layer && layer < c.end();
                };
                NDArray cleanState = clean.get(kind.at(layer)).value().get(":, " + token + ":" + (token + 1) + ", :");
                restore.add(kind.at(layer), Intervention.patch(rows, cleanState));
            }
        }
        return restore;
    }

    private static double mean(double[] values, int from, int to) {
        double sum = 0;
        for (int i = from; i < to; i++) {
            sum += values[i];
        }
        return sum / (to - from);
    }
}
