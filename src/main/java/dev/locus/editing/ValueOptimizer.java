package dev.locus.editing;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.locus.model.Adam;
import dev.locus.model.HookPoint;
import dev.locus.model.Hooks;
import dev.locus.model.Intervention;
import dev.locus.model.LanguageModel;
import dev.locus.model.Selection;
import dev.locus.model.TargetScoring;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Finds the vector to write at a hook point (ROME: the MLP output; MEMIT: the residual stream at
 * the window's last layer) at the last subject token: v* = v + δ, δ minimising the target loss +
 * kl_factor · KL(p_now ‖ p_before on "{subject} is a") + weight_decay · ‖δ‖/‖v‖², with
 * ‖δ‖ ≤ clamp_norm_factor · ‖v‖ after every Adam step. The target loss is the mean NLL per target
 * token when raising, and the mean p(target) when lowering (erasure).
 */
final class ValueOptimizer {
    private ValueOptimizer() {}

    record Result(NDArray value, int steps, double loss) {}

    static Result optimise(LanguageModel lm, NDManager m, EditPrompts p, EditTask task, HookPoint at, ValueSettings s) {
        // One batch: the rewrite prompts (+ target) and, as the last row, the KL prompt, whose
        // dummy one-token target adds no tokens. One forward per step instead of two.
        int rows = p.prompts().size();
        List<long[]> prompts = new ArrayList<>(p.prompts());
        prompts.add(p.klPrompt());
        List<long[]> targets = new ArrayList<>(Collections.nCopies(rows, p.target()));
        targets.add(new long[] {0});
        TargetScoring batch = TargetScoring.of(m, prompts, targets, false, lm.dimensions().contextLength());
        int length = (int) batch.inputs().ids().getShape().get(1);
        int[][] spans = Arrays.copyOf(p.spans(), rows + 1);
        spans[rows] = p.klSpan();
        int[] last = EditPrompts.lastTokens(spans);
        int klLast = p.klPrompt().length - 1;
        Hooks noise = task.corruption(m, spans, length);

        // Blocks before the edited one do not depend on δ: run them once.
        int first = Math.max(at.layer(), 0);
        NDArray entering = lm.model().streamInto(first, batch.inputs().ids(), noise);
        Hooks before = Hooks.none();
        Intervention.Capture original = before.capture(at);
        NDArray klBefore = lm.model().forwardFrom(first, entering, before).get(rows, klLast).logSoftmax(-1);
        NDArray v = original.value().get(0, last[0]).duplicate();
        double vNorm = Math.sqrt(v.square().sum().getFloat());

        // Scalars under autograd are arrays created once (DESIGN.md: Number overloads can corrupt gradients).
        NDArray targetScale = m.create((float) (task.raise() ? -1.0 / (rows * p.target().length) : 1.0 / rows));
        NDArray klScale = m.create((float) s.klFactor());
        NDArray decayScale = m.create((float) (s.weightDecay() / (vNorm * vNorm)));
        NDArray tiny = m.create(1e-12f); // ‖δ‖ = sqrt(Σδ² + tiny): zero gradient at δ = 0 as torch.norm, not 0/0
        NDArray delta = m.zeros(new Shape(v.getShape().get(0)));
        Adam adam = new Adam(Map.of("delta", delta), m, 0.9, 0.999);
        int steps = 0;
        double loss = Double.NaN;
        for (; steps < s.steps(); steps++) {
            try (NDScope scope = new NDScope(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                scope.suppressNotUsedWarning(); // frees this step's intermediate arrays
                Hooks shift = Hooks.none().add(at, Intervention.add(Selection.onePerRow(last), delta));
                NDArray logits = lm.model().forwardFrom(first, entering, shift);
                NDArray logp = batch.logProbs(logits).get(new NDIndex("0:" + rows));
                NDArray targetLoss = (task.raise() ? logp : logp.exp()).sum().mul(targetScale);
                NDArray klNow = logits.get(rows, klLast).logSoftmax(-1);
                NDArray kl = klNow.exp().mul(klNow.sub(klBefore)).sum();
                NDArray total = targetLoss.add(kl.mul(klScale)).add(delta.square().sum().add(tiny).sqrt().mul(decayScale));
                loss = total.getFloat();
                if (!Double.isFinite(loss)) {
                    throw new IllegalStateException("value optimisation diverged at step " + steps + " (loss " + loss + ")");
                }
                if (loss < s.stopLoss()) {
                    break;
                }
                gc.backward(total);
            }
            adam.step(s.learningRate());
            double norm = Math.sqrt(delta.square().sum().getFloat());
            double max = s.clampNormFactor() * vNorm;
            if (norm > max) {
                delta.muli(max / norm);
            }
        }
        return new Result(v.add(delta), steps, loss);
    }
}
