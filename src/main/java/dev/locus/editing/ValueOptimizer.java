package dev.locus.editing;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
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
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds the vector to write at a hook point (ROME: the MLP output; MEMIT: the residual stream at
 * the window's last layer) at the last subject token: v* = v + δ, δ minimising the target loss +
 * kl_factor · KL(p_now ‖ p_before on "{subject} is a") + weight_decay · ‖δ‖/‖v‖², with
 * ‖δ‖ ≤ clamp_norm_factor · ‖v‖ after every Adam step. The target loss is the mean NLL per target
 * token when raising, and the mean p(target) when lowering (erasure).
 * <p>
 * {@link #optimise} finds one vector, the reference; {@link #optimiseAll} finds those of several hook points (a fact's
 * edits at every layer) in one batch, each group of rows a copy of the reference's batch with its own δ at its own
 * point, entering the pass at its own layer (so it costs the reference's blocks, in fewer and larger matmuls), one loss
 * per group summed (so each δ's gradient is its own), with its own Adam and its own stop; a group that stops or
 * diverges leaves the batch. The same arithmetic in other shapes: equal to the reference up to float reassociation
 * ({@code BatchedStudyTest}).
 */
final class ValueOptimizer {
    private ValueOptimizer() {}

    record Result(NDArray value, int steps, double loss) {}

    /** One hook point's outcome in a batch: its result, or why it failed (a divergence fails that edit only). */
    record Outcome(Result result, RuntimeException failure) {
        Result get() {
            if (failure != null) {
                throw failure;
            }
            return result;
        }
    }

    /**
     * The batch every optimisation of one task runs on: the rewrite prompts (+ target) and, as the last row, the KL
     * prompt, whose dummy one-token target adds no tokens (one forward per step instead of two).
     */
    private record Rows(int rows, TargetScoring batch, int[] last, int klLast, Hooks noise) {
        static Rows of(LanguageModel lm, NDManager m, EditPrompts p, EditTask task) {
            int rows = p.prompts().size();
            List<long[]> prompts = new ArrayList<>(p.prompts());
            prompts.add(p.klPrompt());
            List<long[]> targets = new ArrayList<>(Collections.nCopies(rows, p.target()));
            targets.add(new long[] {0});
            TargetScoring batch = TargetScoring.of(m, prompts, targets, false, lm.dimensions().contextLength());
            int length = (int) batch.inputs().ids().getShape().get(1);
            int[][] spans = Arrays.copyOf(p.spans(), rows + 1);
            spans[rows] = p.klSpan();
            return new Rows(rows, batch, EditPrompts.lastTokens(spans), p.klPrompt().length - 1, task.corruption(m, spans, length));
        }

        int size() {
            return rows + 1;
        }
    }

    /**
     * Where the target rows' losses read the logits, read once from the batch: flat positions (row × tokens + token), the
     * target token there, and the row (what {@link Scales#losses} runs the head on instead of every position).
     */
    private record Scored(int length, int[] position, long[] token, int[] row) {
        static Scored of(Rows r) {
            TargetScoring batch = r.batch();
            int rows = r.rows();
            int length = (int) batch.inputs().ids().getShape().get(1);
            float[] scored = batch.scored().toFloatArray();
            long[] next = batch.nextIds().toLongArray();
            List<Integer> at = new ArrayList<>();
            for (int i = 0; i < rows * length; i++) {
                if (scored[i] != 0) {
                    at.add(i);
                }
            }
            int[] position = at.stream().mapToInt(Integer::intValue).toArray();
            return new Scored(length, position, Arrays.stream(position).mapToLong(i -> next[i]).toArray(),
                    Arrays.stream(position).map(i -> i / length).toArray());
        }
    }

    /** The scalars of the loss, as arrays created once (DESIGN.md: Number overloads under autograd can corrupt gradients). */
    private record Scales(NDArray target, NDArray kl, NDArray tiny) {
        static Scales of(NDManager m, Rows r, EditPrompts p, EditTask task, ValueSettings s) {
            return new Scales(m.create((float) (task.raise() ? -1.0 / (r.rows() * p.target().length) : 1.0 / r.rows())),
                    m.create((float) s.klFactor()), m.create(1e-12f)); // ‖δ‖ = sqrt(Σδ² + tiny): zero gradient at δ = 0 as torch.norm, not 0/0
        }

        /** The loss of one copy of the batch: its logits [rows + 1, tokens, vocab] with δ in, the KL row's log-probabilities before. */
        NDArray loss(Rows r, EditTask task, NDArray logits, NDArray klBefore, NDArray delta, NDArray decayScale) {
            NDArray logp = r.batch().logProbs(logits).get(new NDIndex("0:" + r.rows()));
            NDArray targetLoss = (task.raise() ? logp : logp.exp()).sum().mul(target);
            NDArray klNow = logits.get(r.rows(), r.klLast()).logSoftmax(-1);
            NDArray divergence = klNow.exp().mul(klNow.sub(klBefore)).sum();
            return targetLoss.add(divergence.mul(kl)).add(delta.square().sum().add(tiny).sqrt().mul(decayScale));
        }

        /**
         * {@link #loss} of {@code copies} copies of the batch, one after the other in the last block's output {@code x}, at
         * once: [copies] losses, given each copy's weight-decay term. The head runs only where a loss reads it (the target
         * tokens' positions and the KL row's last one): the full [rows, tokens, vocab] logits, and their zero-filled
         * gradients, would cost more than every block.
         */
        NDArray losses(LanguageModel lm, Rows r, Scored sc, EditTask task, NDArray x, int copies, NDArray klBefore, NDArray decay) {
            NDManager m = x.getManager();
            int length = sc.length();
            int width = (int) x.getShape().get(2);
            int scoredCount = copies * sc.position().length;
            long[] positions = new long[scoredCount + copies];
            long[] targets = new long[scoredCount];
            float[] segments = new float[copies * r.rows() * scoredCount]; // row sums of the target tokens' log-probabilities
            for (int c = 0, i = 0; c < copies; c++) {
                for (int j = 0; j < sc.position().length; j++, i++) {
                    positions[i] = (long) c * r.size() * length + sc.position()[j];
                    targets[i] = sc.token()[j];
                    segments[(c * r.rows() + sc.row()[j]) * scoredCount + i] = 1;
                }
                positions[scoredCount + c] = (long) (c * r.size() + r.rows()) * length + r.klLast();
            }
            NDArray index = m.create(positions).reshape(-1, 1).repeat(1, width);
            NDArray picked = x.reshape(-1, width).gather(index, 0);
            NDArray logits = lm.model().head(picked.reshape(1, positions.length, width)).reshape(positions.length, -1).logSoftmax(-1);
            NDArray tokenLogp = logits.get(new NDIndex("0:" + scoredCount)).gather(m.create(targets).reshape(-1, 1), 1).reshape(-1);
            NDArray logp = m.create(segments, new Shape(copies * r.rows(), scoredCount)).matMul(tokenLogp.reshape(-1, 1)).reshape(copies, r.rows());
            NDArray targetLoss = (task.raise() ? logp : logp.exp()).sum(new int[] {1}).mul(target);
            NDArray klNow = logits.get(new NDIndex(scoredCount + ":"));
            NDArray divergence = klNow.exp().mul(klNow.sub(klBefore)).sum(new int[] {1});
            return targetLoss.add(divergence.mul(kl)).add(decay);
        }
    }

    /** One Adam step on δ, then ‖δ‖ projected to at most clamp_norm_factor · ‖v‖. */
    private static void step(Adam adam, NDArray delta, ValueSettings s, double vNorm) {
        adam.step(s.learningRate());
        double norm = Math.sqrt(delta.square().sum().getFloat());
        double max = s.clampNormFactor() * vNorm;
        if (norm > max) {
            delta.muli(max / norm);
        }
    }

    private static double norm(NDArray v) {
        return Math.sqrt(v.square().sum().getFloat());
    }

    static Result optimise(LanguageModel lm, NDManager m, EditPrompts p, EditTask task, HookPoint at, ValueSettings s) {
        Rows r = Rows.of(lm, m, p, task);
        // Blocks before the edited one do not depend on δ: run them once.
        int first = Math.max(at.layer(), 0);
        NDArray entering = lm.model().streamInto(first, r.batch().inputs().ids(), r.noise());
        Hooks before = Hooks.none();
        Intervention.Capture original = before.capture(at);
        NDArray klBefore = lm.model().forwardFrom(first, entering, before).get(r.rows(), r.klLast()).logSoftmax(-1);
        NDArray v = original.value().get(0, r.last()[0]).duplicate();
        double vNorm = norm(v);

        Scales scales = Scales.of(m, r, p, task, s);
        NDArray decayScale = m.create((float) (s.weightDecay() / (vNorm * vNorm)));
        NDArray delta = m.zeros(new Shape(v.getShape().get(0)));
        Adam adam = new Adam(Map.of("delta", delta), m, 0.9, 0.999);
        int steps = 0;
        double loss = Double.NaN;
        for (; steps < s.steps(); steps++) {
            try (NDScope scope = new NDScope(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                scope.suppressNotUsedWarning(); // frees this step's intermediate arrays
                Hooks shift = Hooks.none().add(at, Intervention.add(Selection.onePerRow(r.last()), delta));
                NDArray total = scales.loss(r, task, lm.model().forwardFrom(first, entering, shift), klBefore, delta, decayScale);
                loss = total.getFloat();
                if (!Double.isFinite(loss)) {
                    throw diverged(steps, loss);
                }
                if (loss < s.stopLoss()) {
                    break;
                }
                gc.backward(total);
            }
            step(adam, delta, s, vNorm);
        }
        return new Result(v.add(delta), steps, loss);
    }

    private static IllegalStateException diverged(int steps, double loss) {
        return new IllegalStateException("value optimisation diverged at step " + steps + " (loss " + loss + ")");
    }

    /**
     * {@link #optimise} for each of {@code points} (distinct; for one task), in batches of at most {@code rowBudget}
     * rows (at least one group each): what each group would get alone, in a fraction of the passes.
     */
    static Map<HookPoint, Outcome> optimiseAll(LanguageModel lm, NDManager m, EditPrompts p, EditTask task, Collection<HookPoint> points,
                                               ValueSettings s, int rowBudget) {
        if (rowBudget < 1) {
            throw new IllegalArgumentException("the row budget must be at least 1, not " + rowBudget);
        }
        Rows r = Rows.of(lm, m, p, task);
        List<HookPoint> sorted = points.stream().distinct().sorted(Comparator.comparingInt(HookPoint::layer)).toList();
        int perBatch = Math.max(1, rowBudget / r.size());
        Map<HookPoint, Outcome> out = new HashMap<>();
        for (int i = 0; i < sorted.size(); i += perBatch) {
            out.putAll(optimiseBatch(lm, m, p, task, r, sorted.subList(i, Math.min(sorted.size(), i + perBatch)), s));
        }
        return out;
    }

    /** One group of rows per hook point (sorted by layer), each entering the staged pass at its point's layer. */
    private static Map<HookPoint, Outcome> optimiseBatch(LanguageModel lm, NDManager m, EditPrompts p, EditTask task, Rows r,
                                                         List<HookPoint> points, ValueSettings s) {
        int groups = points.size();
        int layers = lm.dimensions().layers();
        // One pass without δ through every block, as optimise's two passes per point: the stream entering each point's
        // layer, its original value, and the KL row's log-probabilities before (the same for all: no δ yet).
        Hooks before = Hooks.none().addAll(r.noise()); // the noise sits at the embeddings (SubjectNoise): no block sees it
        Intervention.Capture[] original = new Intervention.Capture[groups];
        for (int g = 0; g < groups; g++) {
            original[g] = before.capture(points.get(g));
        }
        NDArray[] entering = new NDArray[groups];
        NDArray x = lm.model().embed(r.batch().inputs().ids(), before);
        for (int layer = 0; layer < layers; layer++) {
            for (int g = 0; g < groups; g++) {
                if (Math.max(points.get(g).layer(), 0) == layer) {
                    entering[g] = x;
                }
            }
            x = lm.model().block(layer, x, null, null, before, null, null);
        }
        NDArray klBefore = lm.model().head(x).get(r.rows(), r.klLast()).logSoftmax(-1);

        Scales scales = Scales.of(m, r, p, task, s);
        Scored scored = Scored.of(r);
        NDArray[] v = new NDArray[groups];
        double[] vNorm = new double[groups];
        NDArray[] decayScale = new NDArray[groups];
        NDArray[] delta = new NDArray[groups];
        Adam[] adam = new Adam[groups];
        int[] steps = new int[groups];
        double[] loss = new double[groups];
        boolean[] done = new boolean[groups];
        Map<HookPoint, Outcome> out = new HashMap<>();
        for (int g = 0; g < groups; g++) {
            v[g] = original[g].value().get(0, r.last()[0]).duplicate();
            vNorm[g] = norm(v[g]);
            decayScale[g] = m.create((float) (s.weightDecay() / (vNorm[g] * vNorm[g])));
            delta[g] = m.zeros(new Shape(v[g].getShape().get(0)));
            adam[g] = new Adam(Map.of("delta", delta[g]), m, 0.9, 0.999);
            loss[g] = Double.NaN;
        }
        for (int step = 0; step < s.steps(); step++) {
            List<Integer> stepping = new ArrayList<>();
            try (NDScope scope = new NDScope(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                scope.suppressNotUsedWarning(); // frees this step's intermediate arrays
                NDArray last = stagedForward(lm, r, points, entering, delta, done);
                if (last == null) {
                    break; // every group has stopped
                }
                // Every group's loss at once, from the whole batch: a slice of it per group would cost a zero-filled
                // gradient of all the logits per group in the backward pass.
                List<Integer> active = new ArrayList<>();
                for (int g = 0; g < groups; g++) {
                    if (!done[g]) {
                        active.add(g);
                    }
                }
                NDArray[] decay = active.stream().map(g -> delta[g].square().sum().add(scales.tiny()).sqrt().mul(decayScale[g]))
                        .toArray(NDArray[]::new);
                NDArray losses = scales.losses(lm, r, scored, task, last, active.size(), klBefore, NDArrays.stack(new NDList(decay)));
                float[] value = losses.toFloatArray();
                List<NDArray> stepped = new ArrayList<>();
                for (int i = 0; i < active.size(); i++) {
                    int g = active.get(i);
                    loss[g] = value[i];
                    steps[g] = step;
                    if (!Double.isFinite(loss[g])) {
                        out.put(points.get(g), new Outcome(null, diverged(step, loss[g])));
                        done[g] = true;
                    } else if (loss[g] < s.stopLoss()) {
                        done[g] = true;
                    } else {
                        stepping.add(g);
                        stepped.add(losses.get(i));
                    }
                }
                NDArray total = stepped.isEmpty() ? null : NDArrays.stack(new NDList(stepped)).sum();
                if (total != null) {
                    gc.backward(total);
                }
            }
            for (int g : stepping) {
                step(adam[g], delta[g], s, vNorm[g]);
                steps[g] = step + 1;
            }
        }
        for (int g = 0; g < groups; g++) {
            out.putIfAbsent(points.get(g), new Outcome(new Result(v[g].add(delta[g]), steps[g], loss[g]), null));
        }
        return out;
    }

    /**
     * The pass with δ for the groups still optimising: from the lowest one's layer, each group's rows joining the batch
     * at its layer (its entering stream), its δ added at its point in its rows only, so the groups' rows follow one another
     * in the order of {@code points}. The last block's output (before the head), or null when no group is left.
     */
    private static NDArray stagedForward(LanguageModel lm, Rows r, List<HookPoint> points, NDArray[] entering, NDArray[] delta,
                                         boolean[] done) {
        Hooks shift = Hooks.none();
        NDArray x = null;
        int rows = 0;
        for (int layer = 0; layer < lm.dimensions().layers(); layer++) {
            for (int g = 0; g < points.size(); g++) {
                if (done[g] || Math.max(points.get(g).layer(), 0) != layer) {
                    continue;
                }
                int[] last = new int[rows + r.size()];
                Arrays.fill(last, -1);
                System.arraycopy(r.last(), 0, last, rows, r.size());
                shift.add(points.get(g), Intervention.add(Selection.onePerRow(last), delta[g]));
                x = x == null ? entering[g] : x.concat(entering[g], 0);
                rows += r.size();
            }
            if (x != null) {
                x = lm.model().block(layer, x, null, null, shift, null, null);
            }
        }
        return x;
    }
}
