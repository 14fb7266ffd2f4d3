package dev.locus.tracing;

import ai.djl.ndarray.NDManager;
import dev.locus.facts.InvalidFactException;
import dev.locus.model.EmbeddingNoise;
import dev.locus.model.Hooks;
import dev.locus.model.LanguageModel;
import dev.locus.model.NoiseSource;
import dev.locus.model.TargetScoring;
import dev.locus.model.TextTokenizer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Causal tracing (representation denoising, ALGORITHMS.md §1). This class prepares a trace —
 * validation, subject span from character offsets, noise, p_clean and the filter — and the
 * engines ({@link NaiveTracer}, {@link FastTracer}) fill in p_corrupt and the restored grids.
 */
public abstract class Tracer {
    protected final LanguageModel lm;
    protected final TracingSettings settings;
    private final double sigma;

    /** @param sigma the noise level σ, normally {@link NoiseLevel#sigma} of the model */
    protected Tracer(LanguageModel lm, TracingSettings settings, double sigma) {
        if (!(sigma > 0) || Double.isInfinite(sigma)) {
            throw new IllegalArgumentException("the tracing noise σ must be positive and finite, got " + sigma
                    + "; estimate it with NoiseLevel.sigma or set it (locus.tracing.noise-sigma)");
        }
        this.lm = lm;
        this.settings = settings;
        this.sigma = sigma;
    }

    public TracingSettings settings() {
        return settings;
    }

    public double sigma() {
        return sigma;
    }

    /** Traces p(target | prompt) with the subject corrupted by seeded Gaussian noise. */
    public TraceOutcome trace(String prompt, String subject, String target) {
        return trace(prompt, subject, target, NoiseSource.gaussian(settings.seed()));
    }

    public TraceOutcome trace(String prompt, String subject, String target, NoiseSource noise) {
        return trace(prepare(prompt, subject, target, noise));
    }

    /**
     * Traces at the token level (for models without a tokenizer, and to replay reference runs):
     * the subject occupies positions [subjectStart, subjectEnd) of {@code promptIds}.
     */
    public TraceOutcome traceTokens(long[] promptIds, int subjectStart, int subjectEnd, long[] targetIds, NoiseSource noise) {
        if (subjectStart < 0 || subjectEnd <= subjectStart || subjectEnd > promptIds.length) {
            throw new InvalidFactException("subject", "span [" + subjectStart + ", " + subjectEnd + ") is not inside the "
                    + promptIds.length + "-token prompt");
        }
        List<String> texts = new ArrayList<>();
        for (long id : promptIds) {
            texts.add("#" + id);
        }
        return trace(setup(promptIds, targetIds, texts, subjectStart, subjectEnd, noise));
    }

    private TraceOutcome trace(Setup setup) {
        double pClean;
        try (NDManager m = lm.manager().newSubManager()) {
            pClean = setup.probabilities(m, 1, Hooks.none())[0];
        }
        if (pClean < settings.minCleanProbability()) {
            return new TraceOutcome.NotAnalysed(pClean, String.format(
                    "p_clean %.4g is below %.4g: the model does not know this fact", pClean, settings.minCleanProbability()));
        }
        if (settings.knownContinuation() > 0) {
            String unknown = unknownByContinuation(setup);
            if (unknown != null) {
                return new TraceOutcome.NotAnalysed(pClean, unknown);
            }
        }
        Grids grids = measure(setup);
        return new CausalTrace(setup.tokenTexts(), setup.subjectStart(), setup.subjectEnd(), setup.tracedFrom(), pClean,
                grids.pCorrupt(), grids.restored(), settings.windows(), sigma(), settings.seed(), settings.samples(), settings.highDenominator());
    }

    /**
     * The published filter (ALGORITHMS.md §6): why the fact counts as unknown, or null when the true object's text occurs in
     * the model's greedy continuation of the prompt (as many tokens as configured, fewer where the context ends first), in
     * any case.
     */
    private String unknownByContinuation(Setup setup) {
        String object = lm.decode(setup.targetIds).strip();
        int tokens = Math.min(settings.knownContinuation(), lm.dimensions().contextLength() - setup.promptIds.length);
        String continuation = lm.decode(lm.generateGreedy(setup.promptIds, tokens));
        // As the authors match (util/fewshot_utils.py: both sides stripped and lower-cased, a substring).
        if (continuation.strip().toLowerCase(Locale.ROOT).contains(object.toLowerCase(Locale.ROOT))) {
            return null;
        }
        return String.format("the true object '%s' is not in the model's greedy %d-token continuation '%s'", object, tokens,
                continuation.strip());
    }

    /** p_corrupt and the restored probabilities of every traced cell of every kind. */
    protected abstract Grids measure(Setup setup);

    protected record Grids(double pCorrupt, Map<TraceKind, double[][]> restored) {}

    /** Fills the grids' untraced rows (tokens before {@code tracedFrom}) with p_corrupt: effect 0. */
    protected static Map<TraceKind, double[][]> emptyGrids(Setup s, double pCorrupt, int layers) {
        Map<TraceKind, double[][]> out = new EnumMap<>(TraceKind.class);
        for (TraceKind kind : TraceKind.values()) {
            double[][] grid = new double[s.promptLength()][layers];
            for (double[] row : grid) {
                java.util.Arrays.fill(row, pCorrupt);
            }
            out.put(kind, grid);
        }
        return out;
    }

    private Setup prepare(String prompt, String subject, String target, NoiseSource noise) {
        if (prompt == null || prompt.isBlank()) {
            throw new InvalidFactException("prompt", "is empty");
        }
        if (subject == null || subject.isBlank()) {
            throw new InvalidFactException("subject", "is empty");
        }
        if (target == null || target.isBlank()) {
            throw new InvalidFactException("target", "is empty");
        }
        int at = prompt.indexOf(subject);
        if (at < 0) {
            throw new InvalidFactException("subject", "'" + subject + "' does not occur in the prompt '" + prompt + "'");
        }
        TextTokenizer.Tokens tokens = lm.tokenize(prompt);
        int[] span = tokens.span(at, at + subject.length());
        if (span == null) {
            throw new InvalidFactException("subject", "'" + subject + "' covers no token of the prompt");
        }
        long[] targetIds = lm.targetIds(prompt, target);
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < tokens.length(); i++) {
            texts.add(tokens.starts()[i] < 0 ? "" : prompt.substring(tokens.starts()[i], tokens.ends()[i]));
        }
        return setup(tokens.ids(), targetIds, texts, span[0], span[1], noise);
    }

    private Setup setup(long[] promptIds, long[] targetIds, List<String> texts, int subjectStart, int subjectEnd,
                        NoiseSource noise) {
        if (targetIds.length == 0) {
            throw new InvalidFactException("target", "has no tokens");
        }
        int inputLength = promptIds.length + targetIds.length - 1;
        if (inputLength > lm.dimensions().contextLength()) {
            throw new InvalidFactException("prompt", "prompt and target are " + inputLength
                    + " tokens, more than the model's context length " + lm.dimensions().contextLength());
        }
        float[] draws = noise.draw(settings.samples(), subjectEnd - subjectStart, lm.dimensions().width(), sigma());
        return new Setup(promptIds, targetIds, texts, subjectStart, subjectEnd, settings.fromSubject() ? subjectStart : 0, draws);
    }

    /** Everything about one trace that does not depend on the cell. */
    protected final class Setup {
        private final long[] promptIds;
        private final long[] targetIds;
        private final List<String> tokenTexts;
        private final int subjectStart;
        private final int subjectEnd;
        private final int tracedFrom;
        private final float[] noise;

        Setup(long[] promptIds, long[] targetIds, List<String> tokenTexts, int subjectStart, int subjectEnd,
              int tracedFrom, float[] noise) {
            this.promptIds = promptIds;
            this.targetIds = targetIds;
            this.tokenTexts = tokenTexts;
            this.subjectStart = subjectStart;
            this.subjectEnd = subjectEnd;
            this.tracedFrom = tracedFrom;
            this.noise = noise;
        }

        public int promptLength() {
            return promptIds.length;
        }

        public int subjectStart() {
            return subjectStart;
        }

        public int subjectEnd() {
            return subjectEnd;
        }

        public int tracedFrom() {
            return tracedFrom;
        }

        public List<String> tokenTexts() {
            return tokenTexts;
        }

        /** Teacher-forced scoring of the target for {@code rows} copies of the prompt. */
        public TargetScoring scoring(NDManager m, int rows) {
            return scoring(m, rows, 0);
        }

        /** The same for a pass that computes only positions {@code from}.. of the prompt. */
        public TargetScoring scoring(NDManager m, int rows, int from) {
            long[] suffix = java.util.Arrays.copyOfRange(promptIds, from, promptIds.length);
            return TargetScoring.of(m, Collections.nCopies(rows, suffix), Collections.nCopies(rows, targetIds),
                    settings.firstTokenOnly(), lm.dimensions().contextLength());
        }

        /** Per-row p(target) of {@code rows} copies of the prompt run with {@code hooks}. */
        public double[] probabilities(NDManager m, int rows, Hooks hooks) {
            TargetScoring scoring = scoring(m, rows);
            return scoring.probabilities(lm.model().forward(scoring.inputs().ids(), hooks));
        }

        /**
         * Adds noise sample s to the token embeddings of the subject in row {@code firstNoisyRow + s}
         * of a {@code rows}-row pass of {@code length} tokens.
         */
        public Hooks corruption(NDManager m, int rows, int firstNoisyRow, int length) {
            int subjectLength = subjectEnd - subjectStart;
            EmbeddingNoise added = new EmbeddingNoise(rows, length, lm.dimensions().width());
            for (int s = 0; s < settings.samples(); s++) {
                added.put(firstNoisyRow + s, subjectStart, subjectLength, noise, s * subjectLength * lm.dimensions().width());
            }
            return added.hooks(m);
        }
    }
}
