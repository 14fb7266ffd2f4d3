package dev.locus.editing;

import dev.locus.model.LanguageModel;
import dev.locus.model.Sha256;
import dev.locus.model.TextTokenizer;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;

/**
 * What an edit does to what the model says about its subject, as google/belief-localization measures it (README, "Essence
 * and fluency", has the sources with lines):
 * <ul>
 *   <li>the essence texts: {@link Settings#samples} top-k samples of {@link Settings#length} tokens from "{subject} is a",
 *       drawn from the unedited model (experiments/evaluate.py, commit b86d4d19, lines 448–464: 5 samples,
 *       {@code max_out_len} 100, ROME's {@code generate_fast}, top-k 5);</li>
 *   <li>essence score: their mean perplexity under the edited model minus that under the unedited one
 *       ({@code essence_ppl_diff} = post − pre, "lower is better", evaluate.py lines 233–236; each perplexity from
 *       experiments/py/eval_utils_counterfact.py, commit 2a312e57, lines 234–240), with the subject's tokens noised where
 *       the problem scores its prompts so (Fact Forcing, as their {@code use_noised_subject});</li>
 *   <li>fluency: ROME's n-gram entropy ({@link NGramEntropy}) of the unedited model's samples (pre) and of the edited
 *       model's, drawn with the same seed (post). They measure it on other prompts (the CounterFact generation prompts,
 *       eval_utils_counterfact.py line 200), which the facts here do not have.</li>
 * </ul>
 * The samples are seeded ({@link #seed}) from the study's seed and the fact, so a study repeats them exactly, and before
 * and after an edit are drawn with the same uniform numbers: where an edit leaves the distribution alone, the texts are
 * the same. Generation runs without gradients.
 */
public final class Essence {

    /**
     * @param enabled whether edits are measured so (off: results carry none of these fields, exactly as before)
     * @param samples texts generated per fact (theirs: 5)
     * @param length  tokens per text, prompt included, capped at the model's context (theirs: {@code max_out_len} 100)
     * @param topK    the k of top-k sampling (ROME's {@code generate_fast}: 5)
     */
    public record Settings(boolean enabled, int samples, int length, int topK) {
        /** The authors' samples, top-k and text length. */
        public static final int SAMPLES = 5;
        public static final int TOP_K = 5;
        public static final int PUBLISHED_LENGTH = 100;
        /** The default length here: cheap on the testbed (README, "Essence and fluency", measured cost). */
        public static final int LENGTH = 24;

        public Settings {
            if (enabled && (samples < 1 || length < 1 || topK < 1)) {
                throw new IllegalArgumentException("essence needs at least one sample, one token and a top-k of 1: "
                        + samples + ", " + length + ", " + topK);
            }
        }

        public static Settings off() {
            return new Settings(false, SAMPLES, LENGTH, TOP_K);
        }

        public static Settings defaults() {
            return new Settings(true, SAMPLES, LENGTH, TOP_K);
        }
    }

    /** The essence prompt (evaluate.py line 449). */
    public static String prompt(String subject) {
        return subject + " is a";
    }

    /** The seed of a fact's samples: the first 64 bits of SHA-256 of "essence|" + study seed + "|" + fact id. */
    public static long seed(long studySeed, String factId) {
        return Long.parseUnsignedLong(Sha256.hex("essence|" + studySeed + "|" + factId).substring(0, 16), 16);
    }

    /** Measured on the unedited model: the seed, the essence texts' tokens, their mean perplexity and fluency. */
    public record Before(long seed, long[][] texts, int[] subjectSpan, double perplexity, double fluency) {}

    /** Measured on the edited model. */
    public record After(double perplexity, double fluency) {}

    private final LanguageModel lm;
    private final Settings settings;

    public Essence(LanguageModel lm, Settings settings) {
        this.lm = lm;
        this.settings = settings;
    }

    public Settings settings() {
        return settings;
    }

    public Before before(EditTask task, long seed) {
        String prompt = prompt(task.subject());
        TextTokenizer.Tokens tokens = lm.tokenize(prompt);
        int[] span = EditPrompts.subjectSpan(tokens, prompt, task.subject(), 0);
        long[][] texts = lm.sampleTopK(tokens.ids(), settings.samples(), settings.length(), settings.topK(), seed);
        return new Before(seed, texts, span, perplexity(task, texts, span), fluency(texts));
    }

    public After after(EditTask task, Before before) {
        long[] prompt = java.util.Arrays.copyOf(before.texts()[0], lm.tokenize(prompt(task.subject())).ids().length);
        long[][] texts = lm.sampleTopK(prompt, settings.samples(), settings.length(), settings.topK(), before.seed());
        return new After(perplexity(task, before.texts(), before.subjectSpan()), fluency(texts));
    }

    /** Mean perplexity of the texts, the subject noised as the task's prompts are. */
    private double perplexity(EditTask task, long[][] texts, int[] span) {
        int[][] spans = new int[texts.length][];
        java.util.Arrays.fill(spans, span);
        double[] p = lm.perplexities(texts, (m, length) -> task.corruption(m, spans, length));
        double sum = 0;
        for (double x : p) {
            sum += x;
        }
        return sum / p.length;
    }

    /** Mean n-gram entropy of the texts read as ROME's generate_fast returns them (NFKD, blank lines as spaces). */
    private double fluency(long[][] texts) {
        List<String> out = new ArrayList<>();
        for (long[] t : texts) {
            out.add(Normalizer.normalize(lm.decodeText(t), Normalizer.Form.NFKD).replace("\n\n", " "));
        }
        return NGramEntropy.mean(out);
    }
}
