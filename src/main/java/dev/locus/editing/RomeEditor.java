package dev.locus.editing;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.locus.facts.InvalidFactException;
import dev.locus.model.Adam;
import dev.locus.model.HookPoint;
import dev.locus.model.Hooks;
import dev.locus.model.Intervention;
import dev.locus.model.LanguageModel;
import dev.locus.model.Selection;
import dev.locus.model.TargetScoring;
import dev.locus.model.TextTokenizer;
import dev.locus.model.Weights;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * ROME (Meng et al. 2022) at one layer: find the key k* of the subject (its MLP hidden activation
 * at the last subject token, averaged over context prefixes), optimise the value v* that makes the
 * model say the target, and write k* → v* into the MLP output projection with the rank-one update
 * ΔW = (v* − W k*) (C⁻¹k*)ᵀ / ((C⁻¹k*)ᵀ k*). GPT-2 stores that projection as [inner, width]
 * (x·W), so the update is added as the outer product (C⁻¹k* / (C⁻¹k*)ᵀk*) ⊗ (v* − W k*).
 */
public final class RomeEditor {
    private final LanguageModel lm;
    private final KeyStatistics statistics;
    private final List<String> prefixes;
    private final RomeSettings settings;

    public RomeEditor(LanguageModel lm, KeyStatistics statistics, List<String> prefixes, RomeSettings settings) {
        this.lm = lm;
        this.statistics = statistics;
        this.prefixes = prefixes;
        this.settings = settings;
    }

    /** An applied edit: close {@link #weights()} to undo it exactly. */
    public record Applied(Weights.Edit weights, float[] keyStar, float[] valueStar, int steps, double finalLoss) {}

    public static String weightName(int layer) {
        return "h." + layer + ".mlp.c_proj.weight";
    }

    /** Computes and applies the edit at {@code layer}; the caller closes the result to restore the weights. */
    public Applied apply(EditRequest request, int layer) {
        Weights.Edit edit = lm.model().weights().edit();
        try (NDManager m = lm.manager().newSubManager()) {
            List<long[]> prompts = new ArrayList<>();
            int[] lastSubject = new int[prefixes.size()];
            for (int i = 0; i < prefixes.size(); i++) {
                String text = prefixes.get(i) + request.prompt();
                TextTokenizer.Tokens tokens = lm.tokenize(text);
                lastSubject[i] = lastSubjectToken(tokens, text, request.subject(), prefixes.get(i).length());
                prompts.add(tokens.ids());
            }
            NDArray keyStar = keyStar(m, prompts, lastSubject, layer);
            Optimised v = valueStar(m, request, prompts, lastSubject, layer);

            NDArray w = lm.model().weights().get(weightName(layer));
            NDArray b = lm.model().weights().get("h." + layer + ".mlp.c_proj.bias");
            NDArray k64 = keyStar.toType(DataType.FLOAT64, false);
            NDArray u = statistics.inverseCovariance(layer).matMul(k64.reshape(-1, 1)).reshape(-1);
            u = u.div(u.dot(k64)).toType(DataType.FLOAT32, false);
            NDArray residual = v.value().sub(keyStar.reshape(1, -1).matMul(w).reshape(-1).add(b));
            NDArray updated = w.add(u.reshape(-1, 1).matMul(residual.reshape(1, -1)));
            edit.set(weightName(layer), updated);
            return new Applied(edit, keyStar.toFloatArray(), v.value().toFloatArray(), v.steps(), v.loss());
        } catch (RuntimeException e) {
            edit.close();
            throw e;
        }
    }

    private static int lastSubjectToken(TextTokenizer.Tokens tokens, String text, String subject, int searchFrom) {
        int at = text.indexOf(subject, searchFrom);
        int[] span = at < 0 ? null : tokens.span(at, at + subject.length());
        if (span == null) {
            throw new InvalidFactException("subject", "'" + subject + "' does not occur in the prompt '" + text + "'");
        }
        return span[1] - 1;
    }

    /** k*: the mean over prompts of the MLP key at the last subject token. */
    private NDArray keyStar(NDManager m, List<long[]> prompts, int[] lastSubject, int layer) {
        Hooks hooks = Hooks.none();
        Intervention.Capture keys = hooks.capture(HookPoint.mlpKey(layer));
        lm.model().forward(dev.locus.model.TokenBatch.of(m, prompts).ids(), hooks);
        int inner = lm.config().nInner();
        float[] all = keys.value().toFloatArray();
        int length = (int) keys.value().getShape().get(1);
        float[] mean = new float[inner];
        for (int r = 0; r < prompts.size(); r++) {
            for (int j = 0; j < inner; j++) {
                mean[j] += all[(r * length + lastSubject[r]) * inner + j] / prompts.size();
            }
        }
        return m.create(mean);
    }

    private record Optimised(NDArray value, int steps, double loss) {}

    /**
     * v* = v + δ, where v is the MLP output at the last subject token and δ minimises
     * NLL(target) + kl_factor · KL(p_now ‖ p_before on "{subject} is a") + weight_decay · ‖δ‖/‖v‖²,
     * with ‖δ‖ ≤ clamp_norm_factor · ‖v‖ after every step.
     */
    private Optimised valueStar(NDManager m, EditRequest request, List<long[]> prompts, int[] lastSubject, int layer) {
        long[] target = lm.targetIds(request.target());
        TargetScoring rewrite = TargetScoring.of(m, prompts, Collections.nCopies(prompts.size(), target), false,
                lm.config().nPositions());
        String klText = request.subject() + " is a";
        TextTokenizer.Tokens klTokens = lm.tokenize(klText);
        int klSubject = lastSubjectToken(klTokens, klText, request.subject(), 0);
        NDArray klIds = m.create(klTokens.ids(), new Shape(1, klTokens.length()));
        HookPoint out = HookPoint.mlpOut(layer);

        Hooks before = Hooks.none();
        Intervention.Capture original = before.capture(out);
        lm.model().forward(rewrite.inputs().ids(), before);
        NDArray v = original.value().get(0, lastSubject[0]).duplicate();
        NDArray klBefore = lm.model().forward(klIds, Hooks.none()).get(0, klTokens.length() - 1).logSoftmax(-1);
        double vNorm = Math.sqrt(v.square().sum().getFloat());

        // Scalars under autograd are arrays created once (see DESIGN.md: Number overloads can corrupt gradients).
        NDArray nllScale = m.create((float) (-1.0 / (prompts.size() * target.length)));
        NDArray klScale = m.create((float) settings.klFactor());
        NDArray decayScale = m.create((float) (settings.weightDecay() / (vNorm * vNorm)));
        NDArray tiny = m.create(1e-12f); // ‖δ‖ = sqrt(Σδ² + tiny): torch.norm's zero gradient at δ = 0, not 0/0
        NDArray delta = m.zeros(new Shape(lm.config().nEmbd()));
        Adam adam = new Adam(Map.of("delta", delta), m, 0.9, 0.999);
        int steps = 0;
        double loss = Double.NaN;
        for (; steps < settings.vSteps(); steps++) {
            try (NDScope scope = new NDScope(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                scope.suppressNotUsedWarning(); // frees this step's intermediate arrays
                Hooks shift = Hooks.none().add(out, Intervention.add(Selection.onePerRow(lastSubject), delta));
                NDArray nll = rewrite.logProbs(lm.model().forward(rewrite.inputs().ids(), shift)).sum().mul(nllScale);
                Hooks klShift = Hooks.none().add(out, Intervention.add(Selection.onePerRow(new int[] {klSubject}), delta));
                NDArray klNow = lm.model().forward(klIds, klShift).get(0, klTokens.length() - 1).logSoftmax(-1);
                NDArray kl = klNow.exp().mul(klNow.sub(klBefore)).sum();
                NDArray total = nll.add(kl.mul(klScale)).add(delta.square().sum().add(tiny).sqrt().mul(decayScale));
                loss = total.getFloat();
                if (!Double.isFinite(loss)) {
                    throw new IllegalStateException("ROME value optimisation diverged (loss " + loss + ")");
                }
                if (loss < settings.stopLoss()) {
                    break;
                }
                gc.backward(total);
            }
            adam.step(settings.vLearningRate());
            double norm = Math.sqrt(delta.square().sum().getFloat());
            double max = settings.clampNormFactor() * vNorm;
            if (norm > max) {
                delta.muli(max / norm);
            }
        }
        return new Optimised(v.add(delta), steps, loss);
    }
}
