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
 * point, entering the pass at its own layer (so it skips the blocks below, as the reference does), one loss per group
 * summed (so each δ's gradient is its own), with its own Adam and its own stop; a group that stops or diverges leaves
 * the batch. Its steps run only the columns δ can change ({@link Live}: from the last subject token on, a third to a
 * half of a prompt with its context prefix), the earlier columns' keys and values computed once. The same arithmetic in
 * other shapes: equal to the reference up to float reassociation ({@code BatchedStudyTest}, {@code FamilyEditingTest}).
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
     * The columns of the batch that δ can change, as the batched optimisation runs them: in each row, from the last subject
     * token (where δ enters) to the last position a loss reads (the last target-predicting token; the KL row's last).
     * Earlier columns do not depend on δ (attention is causal), so their keys and values are computed once, as the
     * {@code past} of a pass over the live columns only: {@code start[row]} is the row's first live column, {@code
     * length} the live columns of every row (the longest; shorter rows run a few columns past their end, which no loss
     * reads and which only later columns could see), {@code past} the longest prefix. Each row's prefix is right-aligned
     * in the past (its first columns masked), so every key sits at its own distance from every query, as causality and a
     * sliding window measure it.
     */
    private record Live(int[] start, int length, int past) {
        static Live of(Rows r) {
            int length = (int) r.batch().inputs().ids().getShape().get(1);
            float[] scored = r.batch().scored().toFloatArray();
            int[] start = r.last().clone();
            int live = r.klLast() - start[r.rows()] + 1;
            for (int row = 0; row < r.rows(); row++) {
                for (int t = length - 1; t >= 0; t--) {
                    if (scored[row * length + t] != 0) {
                        if (t < start[row]) {
                            throw new IllegalStateException("a target is scored before the subject's last token in row " + row);
                        }
                        live = Math.max(live, t - start[row] + 1);
                        break;
                    }
                }
            }
            return new Live(start, live, Arrays.stream(start).max().orElseThrow());
        }

        /** Columns {@code start[row]} .. of every row of {@code x} ([rows, tokens, width]): [rows, length, width]. */
        NDArray columns(NDArray x) {
            long tokens = x.getShape().get(1);
            long[] at = new long[start.length * length];
            for (int row = 0; row < start.length; row++) {
                for (int i = 0; i < length; i++) {
                    at[row * length + i] = row * tokens + Math.min(start[row] + i, tokens - 1);
                }
            }
            return rows(x, at, length);
        }

        /**
         * Keys or values ([rows, heads, tokens, head_dim]) of each row's columns before its {@code start}, right-aligned in
         * [rows, heads, past, head_dim] (the columns before them repeat the first, and {@link #mask} masks them).
         */
        NDArray past(NDArray keysOrValues) {
            Shape s = keysOrValues.getShape();
            long[] at = new long[start.length * past];
            for (int row = 0; row < start.length; row++) {
                for (int j = 0; j < past; j++) {
                    at[row * past + j] = row * s.get(2) + Math.max(0, j - past + start[row]);
                }
            }
            NDArray byToken = keysOrValues.transpose(0, 2, 1, 3).reshape(s.get(0), s.get(2), s.get(1) * s.get(3));
            return rows(byToken, at, past).reshape(s.get(0), past, s.get(1), s.get(3)).transpose(0, 2, 1, 3);
        }

        /** [rows, past + length]: 0 at the past's columns left of each row's own prefix, 1 elsewhere. */
        NDArray mask(NDManager m) {
            float[] mask = new float[start.length * (past + length)];
            Arrays.fill(mask, 1);
            for (int row = 0; row < start.length; row++) {
                Arrays.fill(mask, row * (past + length), row * (past + length) + past - start[row], 0);
            }
            return m.create(mask, new Shape(start.length, past + length));
        }

        /** [rows, length]: each live column's position in its row (what rotary families rotate by). */
        NDArray positions(NDManager m) {
            long[] positions = new long[start.length * length];
            for (int row = 0; row < start.length; row++) {
                for (int i = 0; i < length; i++) {
                    positions[row * length + i] = start[row] + i;
                }
            }
            return m.create(positions, new Shape(start.length, length));
        }

        /** Rows {@code at} (flat indices into [rows · tokens]) of [rows, tokens, features], as [rows, count, features]. */
        private static NDArray rows(NDArray x, long[] at, int count) {
            Shape s = x.getShape();
            NDArray index = x.getManager().create(at).reshape(-1, 1).repeat(1, s.get(2));
            return x.reshape(-1, s.get(2)).gather(index, 0).reshape(s.get(0), count, s.get(2));
        }
    }

    /**
     * Where the target rows' losses read the live columns ({@link Live}), read once from the batch: flat positions (row ×
     * live length + column), the target token there, the row (what {@link Scales#losses} runs the head on instead of
     * every position), and the KL row's last column.
     */
    private record Scored(int length, int[] position, long[] token, int[] row, int klPosition) {
        static Scored of(Rows r, Live live) {
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
            return new Scored(live.length(), at.stream().mapToInt(i -> i / length * live.length() + i % length - live.start()[i / length]).toArray(),
                    at.stream().mapToLong(i -> next[i]).toArray(), at.stream().mapToInt(i -> i / length).toArray(),
                    r.klLast() - live.start()[rows]);
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
                positions[scoredCount + c] = (long) (c * r.size() + r.rows()) * length + sc.klPosition();
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
        // One pass without δ through every block, as optimise's two passes per point: the live columns of the stream
        // entering each point's layer, the keys and values of the columns before them at every layer from the lowest
        // point's, its original value, and the KL row's log-probabilities before (the same for all: no δ yet).
        Live live = Live.of(r);
        Hooks before = Hooks.none().addAll(r.noise()); // the noise sits at the embeddings (SubjectNoise): no block sees it
        Intervention.Capture[] original = new Intervention.Capture[groups];
        for (int g = 0; g < groups; g++) {
            original[g] = before.capture(points.get(g));
        }
        NDArray[] entering = new NDArray[groups];
        NDArray[][] past = new NDArray[layers][];
        int lowest = Math.max(points.get(0).layer(), 0);
        NDArray x = lm.model().embed(r.batch().inputs().ids(), before);
        for (int layer = 0; layer < layers; layer++) {
            for (int g = 0; g < groups; g++) {
                if (Math.max(points.get(g).layer(), 0) == layer) {
                    entering[g] = live.columns(x);
                }
            }
            if (layer >= lowest) {
                NDArray[] kv = lm.model().keysAndValues(layer, x);
                past[layer] = new NDArray[] {live.past(kv[0]), live.past(kv[1])};
            }
            x = lm.model().block(layer, x, null, null, before, null, null);
        }
        NDArray klBefore = lm.model().head(x).get(r.rows(), r.klLast()).logSoftmax(-1);
        Context context = new Context(past, live.mask(m), live.positions(m));

        Scales scales = Scales.of(m, r, p, task, s);
        Scored scored = Scored.of(r, live);
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
                NDArray last = stagedForward(lm, r, context, points, entering, delta, done);
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
     * What every step's pass over the live columns reads: per layer the past's keys and values (null below the lowest
     * point), and for one group's rows the key mask and the live columns' positions, repeated for the groups in the pass.
     */
    private record Context(NDArray[][] past, NDArray mask, NDArray positions) {
        /** {@code a} ([group rows, ...]) for {@code groups} groups, one after the other. */
        static NDArray repeated(NDArray a, int groups) {
            long[] times = new long[a.getShape().dimension()];
            Arrays.fill(times, 1);
            times[0] = groups;
            return groups == 1 ? a : a.tile(times);
        }
    }

    /**
     * The pass with δ for the groups still optimising, over the live columns ({@link Live}): from the lowest one's layer,
     * each group's rows joining the batch at its layer (its entering columns), its δ added at its point in its rows only
     * (the first live column), so the groups' rows follow one another in the order of {@code points}. The last block's
     * output (before the head), or null when no group is left.
     */
    private static NDArray stagedForward(LanguageModel lm, Rows r, Context c, List<HookPoint> points, NDArray[] entering,
                                         NDArray[] delta, boolean[] done) {
        Hooks shift = Hooks.none();
        NDArray x = null;
        int groups = 0;
        for (int layer = 0; layer < lm.dimensions().layers(); layer++) {
            for (int g = 0; g < points.size(); g++) {
                if (done[g] || Math.max(points.get(g).layer(), 0) != layer) {
                    continue;
                }
                int[] first = new int[(groups + 1) * r.size()];
                Arrays.fill(first, 0, groups * r.size(), -1);
                shift.add(points.get(g), Intervention.add(Selection.onePerRow(first), delta[g]));
                x = x == null ? entering[g] : x.concat(entering[g], 0);
                groups++;
            }
            if (x != null) {
                x = lm.model().block(layer, x, Context.repeated(c.positions(), groups), Context.repeated(c.mask(), groups), shift,
                        Context.repeated(c.past()[layer][0], groups), Context.repeated(c.past()[layer][1], groups));
            }
        }
        return x;
    }
}
