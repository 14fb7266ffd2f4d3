package dev.locus.editing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.locus.facts.Fact;
import dev.locus.facts.InvalidFactException;
import dev.locus.model.HookPoint;
import dev.locus.model.Hooks;
import dev.locus.model.Intervention;
import dev.locus.model.LanguageModel;
import dev.locus.model.TextTokenizer;
import dev.locus.model.TokenBatch;
import java.util.ArrayList;
import java.util.List;

/**
 * Where ROME's rank-one update at a layer acts, before any value is optimised. The update adds
 * s · (v* − W k*) to the MLP output of every token whose key is k, with s = uᵀk and
 * u = C⁻¹k* / ((C⁻¹k*)ᵀ k*) ({@link RomeEditor#updateDirection}); s = 1 at k* (with the update anchored at the
 * edit prompt's key, {@link RomeSettings.Anchor#PROMPT_KEY}, every s is divided by the prompt's). A selective edit has
 * s ≈ 1 at the subject of the edit prompt and its paraphrases and s ≈ 0 on the neighbours' tokens.
 * Neighbours that receive a sizeable s change their prediction however v* is chosen: this is the
 * diagnosis of neighbourhood bleed, and how it depends on the ridge added to C.
 */
public final class UpdateSelectivity {
    private UpdateSelectivity() {}

    /**
     * s at the last subject token of the edit prompt and (mean) of its paraphrases; the largest |s| at the edit
     * prompt's other tokens; the largest |s| at any token of a neighbour prompt and |s| at its last token (mean over
     * neighbours). NaN where the fact has no such prompt.
     */
    public record Report(double prompt, double paraphrases, double promptOtherMax, double neighbourMax, double neighbourLast) {}

    public static Report measure(LanguageModel lm, KeyStatistics statistics, List<String> prefixes, Fact fact, int layer,
                                 double ridge) {
        EditTask task = EditTask.raise(fact.prompt(), fact.subject(), fact.targetNew());
        try (NDManager m = lm.manager().newSubManager()) {
            NDArray keyStar = SubjectActivations.mean(lm, m, EditPrompts.of(lm, prefixes, task), task, HookPoint.mlpKey(layer));
            NDArray u = RomeEditor.updateDirection(statistics, layer, ridge, keyStar, keyStar);
            float[] prompt = responses(lm, m, fact.prompt(), u, layer);
            int lastSubject = lastSubjectToken(lm, fact.prompt(), fact.subject());
            double promptOtherMax = 0;
            for (int t = 0; t < prompt.length; t++) {
                if (t != lastSubject) {
                    promptOtherMax = Math.max(promptOtherMax, Math.abs(prompt[t]));
                }
            }
            List<Double> paraphrases = new ArrayList<>();
            for (String p : fact.paraphrasePrompts()) {
                try {
                    paraphrases.add((double) responses(lm, m, p, u, layer)[lastSubjectToken(lm, p, fact.subject())]);
                } catch (InvalidFactException e) {
                    // a paraphrase that does not name the subject has no subject token to measure
                }
            }
            List<Double> neighbourMax = new ArrayList<>();
            List<Double> neighbourLast = new ArrayList<>();
            for (Fact.Neighbor n : fact.neighborhoodPrompts()) {
                float[] s = responses(lm, m, n.prompt(), u, layer);
                double max = 0;
                for (float v : s) {
                    max = Math.max(max, Math.abs(v));
                }
                neighbourMax.add(max);
                neighbourLast.add((double) Math.abs(s[s.length - 1]));
            }
            return new Report(prompt[lastSubject], mean(paraphrases), promptOtherMax, mean(neighbourMax), mean(neighbourLast));
        }
    }

    /** s = uᵀk at every token of {@code text}. */
    private static float[] responses(LanguageModel lm, NDManager m, String text, NDArray u, int layer) {
        TokenBatch batch = TokenBatch.of(m, List.of(lm.tokenize(text).ids()));
        Hooks hooks = Hooks.none();
        Intervention.Capture keys = hooks.capture(HookPoint.mlpKey(layer));
        lm.model().forward(batch.ids(), hooks);
        return keys.value().get(0).matMul(u).toFloatArray();
    }

    private static int lastSubjectToken(LanguageModel lm, String text, String subject) {
        TextTokenizer.Tokens tokens = lm.tokenize(text);
        return EditPrompts.subjectSpan(tokens, text, subject, 0)[1] - 1;
    }

    private static double mean(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    }
}
