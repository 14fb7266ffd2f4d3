package dev.locus.editing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.facts.Fact;
import dev.locus.model.LanguageModel;
import dev.locus.testbed.Testbed;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Essence, fluency and target_score (README, "Essence and fluency"): ROME's n-gram entropy against a hand computation,
 * seeded top-k sampling reproducible and seed-dependent, the metrics in an edit on the testbed identical across two runs,
 * and absent with the switch off.
 */
class EssenceTest {
    private static final double LOG2 = Math.log(2);

    @Test
    void nGramEntropyByHand() {
        // "a b a b": bigrams ab, ba, ab (2/3, 1/3), trigrams aba, bab (1/2, 1/2)
        double h2 = -(2.0 / 3 * Math.log(2.0 / 3) + 1.0 / 3 * Math.log(1.0 / 3)) / LOG2;
        double h3 = 1;
        assertEquals((2.0 / 3 * h2 + 4.0 / 3 * h3) / 2, NGramEntropy.of("a b a b"), 1e-12);
        assertEquals(0.9727652780, NGramEntropy.of("a b a b"), 1e-9);
        // two words: one bigram (entropy 0), no trigram (an empty distribution adds 0, as numpy's sum of nothing)
        assertEquals(0, NGramEntropy.of("a b"), 0);
        assertEquals(0, NGramEntropy.of(""), 0);
        // all distinct: log2 of the counts; punctuation is a word of its own
        assertEquals(List.of("Paris", "is", "a", "city", "."), NGramEntropy.words("Paris is a city."));
        double distinct = (2.0 / 3 * Math.log(4) / LOG2 + 4.0 / 3 * Math.log(3) / LOG2) / 2;
        assertEquals(distinct, NGramEntropy.of("Paris is a city."), 1e-12);
        // the mean over texts (arithmetic)
        assertEquals((distinct + 0) / 2, NGramEntropy.mean(List.of("Paris is a city.", "a b")), 1e-12);
    }

    @Test
    void targetScoreIsTheHarmonicMeanOfTheFlooredScores() {
        assertEquals(3 / (1 / 0.5 + 1 / 0.25 + 1 / 1.0), EditResult.targetScore(0.5, 0.25, 1.0), 1e-15);
        assertEquals(0, EditResult.targetScore(-0.2, 0.5, 0.9), 0);
        assertEquals(0.8, EditResult.targetScore(0.8, 0.8, 0.8), 1e-15);
    }

    @Test
    void samplingIsReproducibleForASeedAndDiffersAcrossSeeds() {
        try (LanguageModel lm = Testbed.GPT2.load()) {
            Fact f = Testbed.GPT2.facts().get(3);
            long[] prompt = lm.tokenize(Essence.prompt(f.subject())).ids();
            long[][] a = lm.sampleTopK(prompt, 5, 20, 5, 42);
            long[][] b = lm.sampleTopK(prompt, 5, 20, 5, 42);
            long[][] c = lm.sampleTopK(prompt, 5, 20, 5, 43);
            assertEquals(5, a.length);
            for (int r = 0; r < a.length; r++) {
                assertEquals(20, a[r].length);
                assertArrayEquals(prompt, Arrays.copyOf(a[r], prompt.length), "each text starts with the prompt");
                assertArrayEquals(a[r], b[r], "the same seed, the same text");
            }
            assertFalse(Arrays.deepEquals(a, c), "another seed, other texts");
            // top-1 sampling is greedy decoding, whatever the seed
            long[] greedy = lm.generateGreedy(prompt, 10);
            long[][] top1 = lm.sampleTopK(prompt, 2, prompt.length + 10, 1, 7);
            assertArrayEquals(greedy, Arrays.copyOfRange(top1[0], prompt.length, prompt.length + 10));
            assertArrayEquals(top1[0], top1[1]);
            // capped at the context
            assertEquals(lm.dimensions().contextLength(), lm.sampleTopK(prompt, 1, 1000, 5, 1)[0].length);
        }
    }

    @Test
    void perplexityIsRomesFormula() {
        try (LanguageModel lm = Testbed.GPT2.load()) {
            Fact f = Testbed.GPT2.facts().get(3);
            long[] ids = lm.tokenize(f.prompt() + " " + f.targetTrue()).ids();
            // exp(−(1/N) Σ_{i≥1} log p(x_i | x_<i)), N counting every token: the prompt's probability of its target is one factor
            double[] ppl = lm.perplexities(new long[][] {ids, ids}, (m, length) -> dev.locus.model.Hooks.none());
            assertEquals(ppl[0], ppl[1], 0);
            assertTrue(ppl[0] > 1 && Double.isFinite(ppl[0]), "perplexity " + ppl[0]);
        }
    }

    @Test
    void essenceFluencyAndTargetScoreInAnEditAreReproducibleAndAbsentWhenOff() throws Exception {
        try (LanguageModel lm = Testbed.GPT2.load()) {
            KeyStatistics statistics = TestbedEditing.statistics(lm);
            List<String> prefixes = ContextPrefixes.sample(lm, 0, 2, 5);
            ValueSettings quick = new ValueSettings(5, 0.5, 0.0625, 0.5, 4, 5e-2);
            Editor rome = new RomeEditor(lm, statistics, prefixes, new RomeSettings(quick, 1, RomeSettings.Anchor.PROMPT_KEY));
            Fact fact = Testbed.GPT2.facts().get(5);
            ObjectMapper json = new ObjectMapper();
            EditResult[] on = new EditResult[2];
            for (int run = 0; run < 2; run++) {
                EditEvaluator evaluator = new EditEvaluator(lm, 0.2, 1, Essence.Settings.defaults());
                on[run] = evaluator.evaluate(evaluator.setup(fact, EditingProblem.ERROR_INJECTION), rome, 3, 0.25);
            }
            EditResult r = on[0];
            assertEquals("ok", r.status(), r.error());
            assertNotNull(r.targetScore());
            assertEquals(EditResult.targetScore(r.rewriteScore(), r.paraphraseScore(), r.neighborhoodScore()), r.targetScore(), 0);
            assertEquals(Essence.seed(1, fact.id()), r.essenceSeed());
            assertTrue(r.essencePplPre() > 1 && r.essencePplPost() > 1, r.essencePplPre() + " " + r.essencePplPost());
            assertEquals(r.essencePplPost() - r.essencePplPre(), r.essenceScore(), 0);
            assertTrue(r.fluencyPre() > 0 && r.fluencyPost() > 0, r.fluencyPre() + " " + r.fluencyPost());
            assertNotEquals(r.essencePplPre(), r.essencePplPost(), "the edit changes what the model says of its subject");
            String a = json.writeValueAsString(withoutDuration(on[0]));
            assertEquals(a, json.writeValueAsString(withoutDuration(on[1])), "two runs, the same result");
            for (String field : List.of("target_score", "essence_seed", "essence_ppl_pre", "essence_ppl_post", "essence_score",
                    "fluency_pre", "fluency_post")) {
                assertTrue(a.contains("\"" + field + "\":"), field + " in " + a);
            }

            EditEvaluator plain = new EditEvaluator(lm, 0.2, 1, Essence.Settings.off());
            EditResult off = plain.evaluate(plain.setup(fact, EditingProblem.ERROR_INJECTION), rome, 3, 0.25);
            assertNull(off.targetScore());
            assertNull(off.essenceScore());
            assertNull(off.fluencyPost());
            String b = json.writeValueAsString(withoutDuration(off));
            for (String field : List.of("target_score", "essence", "fluency")) {
                assertFalse(b.contains(field), field + " absent when off: " + b);
            }
            EditEvaluator old = new EditEvaluator(lm, 0.2, 1);
            assertEquals(b, json.writeValueAsString(withoutDuration(old.evaluate(old.setup(fact, EditingProblem.ERROR_INJECTION), rome, 3, 0.25))),
                    "off is what the evaluator did before");
            // the same edit's own figures are those of the run with the metrics on
            assertEquals(b, json.writeValueAsString(withoutDuration(withoutEssence(on[0]))));
        }
    }

    private static EditResult withoutDuration(EditResult r) {
        return new EditResult(r.factId(), r.method(), r.problem(), r.layer(), r.editedLayers(), r.target(), r.rewritePre(),
                r.rewritePost(), r.paraphrasePre(), r.paraphrasePost(), r.neighborhoodPre(), r.neighborhoodPost(), r.rewriteScore(),
                r.paraphraseScore(), r.neighborhoodScore(), r.overallScore(), r.tracingValue(), r.steps(), r.loss(), 0, r.status(),
                r.error(), r.targetScore(), r.essenceSeed(), r.essencePplPre(), r.essencePplPost(), r.essenceScore(), r.fluencyPre(),
                r.fluencyPost());
    }

    private static EditResult withoutEssence(EditResult r) {
        return new EditResult(r.factId(), r.method(), r.problem(), r.layer(), r.editedLayers(), r.target(), r.rewritePre(),
                r.rewritePost(), r.paraphrasePre(), r.paraphrasePost(), r.neighborhoodPre(), r.neighborhoodPost(), r.rewriteScore(),
                r.paraphraseScore(), r.neighborhoodScore(), r.overallScore(), r.tracingValue(), r.steps(), r.loss(), r.durationMs(),
                r.status(), r.error());
    }
}
