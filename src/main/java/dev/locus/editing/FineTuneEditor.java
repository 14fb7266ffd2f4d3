package dev.locus.editing;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.training.GradientCollector;
import dev.locus.model.Adam;
import dev.locus.model.Hooks;
import dev.locus.model.LanguageModel;
import dev.locus.model.LayerWindow;
import dev.locus.model.TargetScoring;
import dev.locus.model.Weights;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Constrained fine-tuning of the MLP output projection (weight and bias) of the layers of a
 * window around ℓ: Adam on the target loss of the edit prompt (mean NLL per target token when
 * raising, p(target) when erasing), every element clamped to w₀ ± ε after every step. Steps with
 * a loss below {@code skipLoss} are skipped; raising edits stop after {@code maxSkips} of them.
 * The tuned tensors are copies swapped in through a {@link Weights.Edit}.
 */
public final class FineTuneEditor implements Editor {
    private final LanguageModel lm;
    private final FineTuneSettings settings;
    private final String name;

    /** Named by its window, "ft-" + window. */
    public FineTuneEditor(LanguageModel lm, FineTuneSettings settings) {
        this(lm, settings, "ft-" + settings.window());
    }

    /** Named {@code name}: the condition it stands for, whatever its window (a protocol scaled to another depth changes that). */
    public FineTuneEditor(LanguageModel lm, FineTuneSettings settings, String name) {
        this.lm = lm;
        this.settings = settings;
        this.name = name;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Applied apply(EditTask task, int layer) {
        LayerWindow window = window(layer);
        Weights.Edit edit = lm.model().weights().edit();
        try (NDManager m = lm.manager().newSubManager()) {
            Inputs in = Inputs.of(lm, m, task, settings);
            // Blocks before the window do not depend on the tuned weights: run them once.
            NDArray entering = lm.model().streamInto(window.start(), in.scoring().inputs().ids(), in.noise());
            Tuned tuned = Tuned.of(lm, m, window, settings);
            tuned.copies().forEach(edit::set);
            NDArray scale = in.scale(m, task, settings);
            int skipped = 0;
            int steps = 0;
            double loss = Double.NaN;
            for (; steps < settings.steps(); steps++) {
                try (NDScope scope = new NDScope(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    scope.suppressNotUsedWarning();
                    NDArray logp = in.scoring().logProbs(lm.model().forwardFrom(window.start(), entering, Hooks.none()));
                    NDArray total = (task.raise() ? logp : logp.exp()).sum().mul(scale);
                    loss = total.getFloat();
                    if (!Double.isFinite(loss)) {
                        throw diverged(steps, loss);
                    }
                    if (loss < settings.skipLoss()) {
                        if (task.raise() && ++skipped >= settings.maxSkips()) {
                            break;
                        }
                        continue;
                    }
                    gc.backward(total);
                }
                tuned.step(settings.learningRate());
            }
            tuned.freeze();
            return new Applied(edit, window.layers(), steps, loss);
        } catch (RuntimeException e) {
            edit.close();
            throw e;
        }
    }

    /** Every layer's fine-tuning in batches of at most {@code rowBudget} rows ({@link FineTuneBatch}), each done on first use. */
    @Override
    public Batch batch(EditTask task, int[] layers, int rowBudget) {
        return new FineTuneBatch(lm, settings, this, task, layers, rowBudget);
    }

    LayerWindow window(int layer) {
        return LayerWindow.around(layer, settings.window(), lm.dimensions().layers());
    }

    static IllegalStateException diverged(int steps, double loss) {
        return new IllegalStateException("fine-tuning diverged at step " + steps + " (loss " + loss + ")");
    }

    /** The edit prompt, once per noise draw (its rows), scored for the target, with the noise at its subject. */
    record Inputs(EditPrompts prompts, TargetScoring scoring, Hooks noise, int rows) {
        static Inputs of(LanguageModel lm, NDManager m, EditTask task, FineTuneSettings settings) {
            EditPrompts p = EditPrompts.of(lm, List.of(""), task);
            int copies = task.noise() == null ? 1 : settings.copies();
            List<long[]> prompts = new ArrayList<>();
            for (int c = 0; c < copies; c++) {
                prompts.addAll(p.prompts());
            }
            TargetScoring scoring = TargetScoring.of(m, prompts, Collections.nCopies(prompts.size(), p.target()), false,
                    lm.dimensions().contextLength());
            return new Inputs(p, scoring, task.corruption(m, p.spans(), (int) scoring.inputs().ids().getShape().get(1), copies), prompts.size());
        }

        /** The loss is Σ over the rows of (raising) log p(target) times this, −1 / target tokens (or −1 when summing them), or (lowering) p(target). */
        NDArray scale(NDManager m, EditTask task, FineTuneSettings settings) {
            return m.create((float) (task.raise() ? -1.0 / (settings.sumsTargetTokens() ? 1 : prompts.target().length) : 1.0));
        }
    }

    /** Copies of a window's MLP output weights (and biases) being tuned, each with its L∞ ball around the original and Adam. */
    record Tuned(Map<String, NDArray> copies, Map<String, NDArray[]> bounds, Adam adam) {
        static Tuned of(LanguageModel lm, NDManager m, LayerWindow window, FineTuneSettings settings) {
            Map<String, NDArray> copies = new LinkedHashMap<>();
            Map<String, NDArray[]> bounds = new LinkedHashMap<>();
            for (int l = window.start(); l < window.end(); l++) {
                for (String name : lm.model().editSite(l).parameterNames()) {
                    NDArray original = lm.model().weights().get(name);
                    NDArray copy = original.duplicate();
                    copy.attach(m);
                    copies.put(name, copy);
                    NDArray low = original.sub(settings.epsilon());
                    NDArray high = original.add(settings.epsilon());
                    low.attach(m); // results land in the operand's (the model's) manager otherwise
                    high.attach(m);
                    bounds.put(name, new NDArray[] {low, high});
                }
            }
            return new Tuned(copies, bounds, new Adam(copies, m, 0.9, 0.999));
        }

        /** An Adam step, then every element clamped to its ball. */
        void step(double learningRate) {
            adam.step(learningRate);
            for (Map.Entry<String, NDArray> e : copies.entrySet()) {
                NDArray[] b = bounds.get(e.getKey());
                try (NDArray clamped = NDArrays.minimum(NDArrays.maximum(e.getValue(), b[0]), b[1])) {
                    e.getValue().subi(e.getValue()).addi(clamped); // in place: w − w = 0 exactly, then the clamped value
                }
            }
        }

        void freeze() {
            copies.values().forEach(t -> t.setRequiresGradient(false));
        }
    }
}
