package dev.locus.editing;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.training.GradientCollector;
import dev.locus.model.EditSite;
import dev.locus.model.HookPoint;
import dev.locus.model.Hooks;
import dev.locus.model.Intervention;
import dev.locus.model.LanguageModel;
import dev.locus.model.LayerWindow;
import dev.locus.model.TargetScoring;
import dev.locus.model.Weights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A task's fine-tunings at several layers as row groups of one batch: each group a copy of {@link FineTuneEditor#apply}'s
 * rows with its own copy of its window's weights, entering the pass at its window's first layer; in each layer of its
 * window its rows' MLP output is recomputed from their keys with its own weights ({@link EditSite#project}), one loss per
 * group summed (so each copy's gradient is its own), with its own Adam, clamp, skips and stop; a group that stops or
 * diverges leaves the batch. Batches hold at most {@code rowBudget} rows (at least one group) and run on the first edit
 * that needs them, so only one batch's Adam state is alive at a time; each group's tuned weights wait for their edit.
 * The same arithmetic in other shapes: equal to one at a time up to float reassociation ({@code BatchedStudyTest}).
 */
final class FineTuneBatch implements Editor.Batch {
    private final LanguageModel lm;
    private final FineTuneSettings settings;
    private final FineTuneEditor editor;
    private final EditTask task;
    private final List<int[]> chunks = new ArrayList<>();
    private final NDManager manager;
    private final Map<Integer, Group> groups = new HashMap<>();

    FineTuneBatch(LanguageModel lm, FineTuneSettings settings, FineTuneEditor editor, EditTask task, int[] layers, int rowBudget) {
        if (rowBudget < 1) {
            throw new IllegalArgumentException("the row budget must be at least 1, not " + rowBudget);
        }
        this.lm = lm;
        this.settings = settings;
        this.editor = editor;
        this.task = task;
        this.manager = lm.manager().newSubManager();
        int[] sorted = Arrays.stream(layers).distinct().sorted().toArray();
        int rows = task.noise() == null ? 1 : settings.copies();
        int perBatch = Math.max(1, rowBudget / rows);
        for (int i = 0; i < sorted.length; i += perBatch) {
            chunks.add(Arrays.copyOfRange(sorted, i, Math.min(sorted.length, i + perBatch)));
        }
    }

    /** One layer's fine-tuning: its window, weights, steps and loss so far, or why it failed. */
    private static final class Group {
        final int layer;
        final LayerWindow window;
        FineTuneEditor.Tuned tuned;
        int skipped;
        int steps;
        double loss = Double.NaN;
        boolean done;
        RuntimeException failure;

        Group(int layer, LayerWindow window) {
            this.layer = layer;
            this.window = window;
        }
    }

    @Override
    public Editor.Applied apply(int layer) {
        if (!groups.containsKey(layer)) {
            int[] chunk = chunks.stream().filter(c -> Arrays.stream(c).anyMatch(l -> l == layer)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("layer " + layer + " is not one of this batch's layers"));
            tune(chunk);
        }
        Group g = groups.get(layer);
        if (g.failure != null) {
            throw g.failure;
        }
        Weights.Edit edit = lm.model().weights().edit();
        g.tuned.copies().forEach(edit::set);
        return new Editor.Applied(edit, g.window.layers(), g.steps, g.loss);
    }

    /** Tunes the groups of {@code layers} together; a failure of the batch as a whole fails each of them. */
    private void tune(int[] layers) {
        List<Group> batch = Arrays.stream(layers).mapToObj(l -> new Group(l, editor.window(l))).toList();
        batch.forEach(g -> groups.put(g.layer, g));
        try (NDManager m = manager.newSubManager()) {
            tune(m, batch);
        } catch (RuntimeException e) {
            batch.forEach(g -> g.failure = e);
        }
    }

    private void tune(NDManager m, List<Group> batch) {
        FineTuneEditor.Inputs in = FineTuneEditor.Inputs.of(lm, m, task, settings);
        int rows = in.rows();
        // One pass without the tuned weights, up to the last window's start: the stream entering each layer, where the
        // groups starting there join.
        NDArray[] entering = new NDArray[lm.dimensions().layers()];
        int highest = batch.get(batch.size() - 1).window.start(); // the batch is sorted by layer, so by window start
        NDArray x = lm.model().embed(in.scoring().inputs().ids(), in.noise());
        for (int layer = 0; layer <= highest; layer++) {
            entering[layer] = x;
            if (layer < highest) {
                x = lm.model().block(layer, x, null, null, Hooks.none(), null, null);
            }
        }
        NDArray scale = in.scale(m, task, settings);
        for (Group g : batch) {
            g.tuned = FineTuneEditor.Tuned.of(lm, m, g.window, settings);
        }
        for (int step = 0; step < settings.steps(); step++) {
            List<Group> stepping = new ArrayList<>();
            try (NDScope scope = new NDScope(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                scope.suppressNotUsedWarning(); // frees this step's intermediate arrays
                List<Group> active = batch.stream().filter(g -> !g.done).toList();
                if (active.isEmpty()) {
                    break;
                }
                NDArray last = stagedForward(active, entering, rows);
                int n = active.size();
                NDArray logp = repeated(in.scoring(), n).logProbs(lm.model().head(last)).reshape(n, rows);
                NDArray losses = (task.raise() ? logp : logp.exp()).sum(new int[] {1}).mul(scale);
                float[] value = losses.toFloatArray();
                List<NDArray> stepped = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    Group g = active.get(i);
                    g.loss = value[i];
                    g.steps = step + 1;
                    if (!Double.isFinite(g.loss)) {
                        g.failure = FineTuneEditor.diverged(step, g.loss);
                        g.done = true;
                    } else if (g.loss < settings.skipLoss()) {
                        if (task.raise() && ++g.skipped >= settings.maxSkips()) {
                            g.steps = step;
                            g.done = true;
                        }
                    } else {
                        stepping.add(g);
                        stepped.add(losses.get(i));
                    }
                }
                if (!stepped.isEmpty()) {
                    gc.backward(NDArrays.stack(new NDList(stepped)).sum());
                }
            }
            for (Group g : stepping) {
                g.tuned.step(settings.learningRate());
            }
        }
        for (Group g : batch) {
            if (g.failure == null) {
                g.tuned.freeze();
                g.tuned.copies().values().forEach(c -> c.attach(manager)); // they wait for their edit; the Adam state goes now
            }
        }
    }

    /**
     * The pass with the tuned weights for the {@code active} groups (by layer, so by window start): from the lowest
     * window's first layer, each group's rows joining at its window's first layer, and in every layer of its window
     * its rows' MLP output replaced by its keys through its own copy of the projection. The last block's output.
     */
    private NDArray stagedForward(List<Group> active, NDArray[] entering, int rows) {
        NDArray x = null;
        List<Group> in = new ArrayList<>();
        for (int layer = 0; layer < entering.length; layer++) {
            for (Group g : active) {
                if (g.window.start() == layer) {
                    x = x == null ? entering[layer] : x.concat(entering[layer], 0);
                    in.add(g);
                }
            }
            if (x == null) {
                continue;
            }
            int at = layer;
            Hooks hooks = Hooks.none();
            if (in.stream().anyMatch(g -> at < g.window.end())) {
                EditSite site = lm.model().editSite(layer);
                Intervention.Capture keys = hooks.capture(site.key());
                List<Group> present = List.copyOf(in);
                hooks.add(site.value(), out -> {
                    NDList parts = new NDList();
                    for (int i = 0; i < present.size(); i++) {
                        Group g = present.get(i);
                        NDIndex own = new NDIndex(i * rows + ":" + (i + 1) * rows);
                        parts.add(at < g.window.end()
                                ? site.project(keys.value().get(own), g.tuned.copies().get(site.weightName()),
                                        site.biasName() == null ? null : g.tuned.copies().get(site.biasName()))
                                : out.get(own));
                    }
                    return parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts, 0); // NDArrays.concat returns a lone array duplicate(), cut off from autograd
                });
            }
            x = lm.model().block(layer, x, null, null, hooks, null, null);
        }
        return x;
    }

    /** {@code scoring}'s targets for {@code groups} copies of its rows, one after the other (the inputs are not needed). */
    private static TargetScoring repeated(TargetScoring scoring, int groups) {
        long[] rows = new long[scoring.nextIds().getShape().dimension()];
        Arrays.fill(rows, 1);
        rows[0] = groups;
        long[] scoredRows = {groups, 1};
        return new TargetScoring(scoring.inputs(), scoring.nextIds().tile(rows), scoring.scored().tile(scoredRows));
    }

    @Override
    public void close() {
        manager.close();
    }
}
