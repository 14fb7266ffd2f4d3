package dev.locus.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A transformer of any supported family with its tokenizer: the text-level operations tracing and editing need — token spans,
 * teacher-forced target probabilities, greedy generation.
 *
 * <p>Targets are scored as in the study: a single leading space before the target (" Paris"),
 * and p(target | prompt) = the product over target tokens of p(token | prompt, earlier tokens).
 */
public final class LanguageModel implements AutoCloseable {
    private final Transformer model;
    private final TextTokenizer tokenizer;
    private final String name;

    public LanguageModel(Transformer model, TextTokenizer tokenizer, String name) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.name = name;
    }

    /** Loads a Hugging Face checkpoint directory ({@link Transformer#load}); tokenizer.json is optional (text operations need it). */
    public static LanguageModel load(Path dir, Device device) {
        if (!Files.isDirectory(dir)) {
            throw new ModelLoadException("model directory " + dir + " does not exist");
        }
        Transformer model = Transformer.load(dir, device);
        Path tok = dir.resolve("tokenizer.json");
        try {
            return new LanguageModel(model, Files.exists(tok) ? TextTokenizer.load(tok) : null,
                    dir.toAbsolutePath().normalize().getFileName().toString());
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    public static LanguageModel load(Path dir) {
        return load(dir, Device.cpu());
    }

    public Transformer model() {
        return model;
    }

    public Transformer.Dimensions dimensions() {
        return model.dimensions();
    }

    public String name() {
        return name;
    }

    public NDManager manager() {
        return model.manager();
    }

    public TextTokenizer tokenizer() {
        if (tokenizer == null) {
            throw new IllegalStateException("model " + name + " has no tokenizer.json; text operations are unavailable");
        }
        return tokenizer;
    }

    /** The tokens the model is fed for {@code text}, BOS first where the tokenizer adds one. */
    public TextTokenizer.Tokens tokenize(String text) {
        return tokenizer().encodePrompt(text);
    }

    /**
     * Token ids of a target with one leading space, tokenized alone (no BOS). For byte-level BPE
     * (GPT-2) and word-level tokenizers these are its ids after any prompt too, as their
     * pre-tokenizers split before the target's space; SentencePiece-style ones (Llama) prefix a lone
     * "▁" here that they do not after a prompt, see {@link #targetIds(String, String)}.
     */
    public long[] targetIds(String target) {
        return tokenizer().encode(spacedTarget(target)).ids();
    }

    /**
     * Token ids of a target with one leading space as the model sees them after {@code prompt}: those
     * that follow the prompt's tokens in prompt + " " + target. Where the prompt's tokens are not a
     * prefix of those — it ends in spaces that merge with the target's (SentencePiece's runs of "▁") —
     * the target is tokenized after the prompt without its trailing whitespace, which the prompt's own
     * tokens keep.
     */
    public long[] targetIds(String prompt, String target) {
        String continuation = spacedTarget(target);
        long[] ids = tokenizer().continuationIds(prompt, continuation);
        if (ids == null) {
            ids = tokenizer().continuationIds(prompt.stripTrailing(), continuation);
        }
        if (ids == null) {
            throw new IllegalArgumentException("the tokens of '" + prompt + continuation
                    + "' do not start with those of the prompt '" + prompt + "'");
        }
        return ids;
    }

    private static String spacedTarget(String target) {
        if (target == null || target.isBlank()) {
            throw new IllegalArgumentException("target is empty");
        }
        return " " + target.strip();
    }

    public String decode(long[] ids) {
        return tokenizer().decode(ids);
    }

    /** {@link TextTokenizer#decodeText}: the text without special tokens. */
    public String decodeText(long[] ids) {
        return tokenizer().decodeText(ids);
    }

    /**
     * Per-row log p(target | prompt) as a [rows] array, differentiable through weights and hooks.
     * With {@code firstTokenOnly} only the first target token is scored (the older variant of the study).
     */
    public NDArray targetLogProbs(NDManager m, List<long[]> prompts, List<long[]> targets, Hooks hooks,
                                  boolean firstTokenOnly) {
        TargetScoring scoring = TargetScoring.of(m, prompts, targets, firstTokenOnly, dimensions().contextLength());
        return scoring.logProbs(model.forward(scoring.inputs().ids(), hooks));
    }

    /** p(target | prompt) for each pair (no hooks, no gradients). */
    public double[] targetProbs(List<String> prompts, List<String> targets) {
        List<long[]> p = new ArrayList<>();
        List<long[]> t = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            p.add(tokenize(prompts.get(i)).ids());
            t.add(targetIds(prompts.get(i), targets.get(i)));
        }
        try (NDManager m = manager().newSubManager()) {
            TargetScoring scoring = TargetScoring.of(m, p, t, false, dimensions().contextLength());
            return scoring.probabilities(model.forward(scoring.inputs().ids(), Hooks.none()));
        }
    }

    /** The greedy next token after each prompt (one batched pass). */
    public long[] nextTokens(List<long[]> prompts) {
        for (long[] p : prompts) {
            checkFits(p.length);
        }
        try (NDManager m = manager().newSubManager()) {
            TokenBatch batch = TokenBatch.of(m, prompts);
            long[] best = model.forward(batch.ids(), Hooks.none()).argMax(2).toType(DataType.INT64, false).toLongArray();
            int length = (int) batch.ids().getShape().get(1);
            long[] out = new long[prompts.size()];
            for (int b = 0; b < out.length; b++) {
                out[b] = best[b * length + batch.lengths()[b] - 1];
            }
            return out;
        }
    }

    /** Greedy continuation: {@code count} new token ids after {@code prompt} (recomputed each step). */
    public long[] generateGreedy(long[] prompt, int count) {
        return generateGreedy(prompt, count, (m, length) -> Hooks.none());
    }

    /** The same with {@code hooks} (made for each step's pass of {@code length} tokens) in every pass. */
    public long[] generateGreedy(long[] prompt, int count, PassHooks hooks) {
        long[] seq = Arrays.copyOf(prompt, prompt.length + count);
        for (int i = 0; i < count; i++) {
            int len = prompt.length + i;
            checkFits(len);
            try (NDManager m = manager().newSubManager()) {
                NDArray ids = m.create(Arrays.copyOf(seq, len), new Shape(1, len));
                NDArray last = model.forward(ids, hooks.at(m, len)).get(new NDIndex("0, -1"));
                seq[len] = last.argMax().toType(DataType.INT64, false).getLong();
            }
        }
        return Arrays.copyOfRange(seq, prompt.length, seq.length);
    }

    /**
     * Top-k sampling as ROME's {@code generate_fast} (kmeng01/rome util/generate.py, used by google/belief-localization
     * experiments/evaluate.py for the essence texts): {@code samples} rows that all start as {@code prompt} and grow one
     * token a step until they are {@code length} tokens long, prompt included ({@code max_out_len}); each step the next
     * token is drawn from the {@code topK} most probable ones, their probabilities renormalised. No early stop at an
     * end-of-text token, as there. Every pass recomputes the whole prefix (no key-value cache), without hooks.
     *
     * <p>Deterministic for a seed: the softmax and top-k are NDArray ops, the draws come from a {@link java.util.SplittableRandom}
     * seeded with {@code seed}, one uniform number per row and step in row order, never from the engine's generator. Run it
     * outside gradient collection (DESIGN.md, DJL pitfalls).
     *
     * @return the rows, prompt first, each {@code length} tokens (capped at the context length)
     */
    public long[][] sampleTopK(long[] prompt, int samples, int length, int topK, long seed) {
        boolean recording = ai.djl.pytorch.jni.JniUtils.isGradMode();
        ai.djl.pytorch.jni.JniUtils.setGradMode(false); // never recorded, whatever the caller's mode (DESIGN.md, DJL pitfalls)
        try {
            return sample(prompt, samples, length, topK, seed);
        } finally {
            ai.djl.pytorch.jni.JniUtils.setGradMode(recording);
        }
    }

    private long[][] sample(long[] prompt, int samples, int length, int topK, long seed) {
        if (samples < 1 || topK < 1) {
            throw new IllegalArgumentException("sampling needs at least one sample and top-k of at least 1: " + samples + ", " + topK);
        }
        int total = Math.min(Math.max(length, prompt.length), dimensions().contextLength());
        checkFits(prompt.length);
        int k = (int) Math.min(topK, dimensions().vocabSize());
        long[][] rows = new long[samples][];
        for (int r = 0; r < samples; r++) {
            rows[r] = Arrays.copyOf(prompt, total);
        }
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        for (int len = prompt.length; len < total; len++) {
            try (NDManager m = manager().newSubManager()) {
                long[] flat = new long[samples * len];
                for (int r = 0; r < samples; r++) {
                    System.arraycopy(rows[r], 0, flat, r * len, len);
                }
                NDArray last = model.forward(m.create(flat, new Shape(samples, len)), Hooks.none()).get(new NDIndex(":, -1, :"));
                ai.djl.ndarray.NDList top = last.softmax(-1).topK(k, -1, true, true);
                float[] p = top.get(0).toFloatArray();
                long[] ids = top.get(1).toType(DataType.INT64, false).toLongArray();
                for (int r = 0; r < samples; r++) {
                    double sum = 0;
                    for (int j = 0; j < k; j++) {
                        sum += p[r * k + j];
                    }
                    double u = random.nextDouble() * sum;
                    int pick = k - 1;
                    double c = 0;
                    for (int j = 0; j < k; j++) {
                        c += p[r * k + j];
                        if (u < c) {
                            pick = j;
                            break;
                        }
                    }
                    rows[r][len] = ids[r * k + pick];
                }
            }
        }
        return rows;
    }

    /**
     * Perplexity of each row as ROME's {@code util/perplexity.py} computes it (the function belief-localization's
     * essence score calls): exp(−(1/N) Σ_{i≥1} log p(x_i | x_{<i})) with N the row's length, all of its tokens counted
     * though the first is not predicted. The rows are scored as given (no re-tokenization), all of one length, in one
     * pass with {@code hooks}; no gradients.
     */
    public double[] perplexities(long[][] rows, PassHooks hooks) {
        boolean recording = ai.djl.pytorch.jni.JniUtils.isGradMode();
        ai.djl.pytorch.jni.JniUtils.setGradMode(false);
        try {
            return perplexitiesWithoutGradients(rows, hooks);
        } finally {
            ai.djl.pytorch.jni.JniUtils.setGradMode(recording);
        }
    }

    private double[] perplexitiesWithoutGradients(long[][] rows, PassHooks hooks) {
        int n = rows.length;
        int len = rows[0].length;
        checkFits(len);
        long[] flat = new long[n * len];
        long[] next = new long[n * len];
        for (int r = 0; r < n; r++) {
            if (rows[r].length != len) {
                throw new IllegalArgumentException("perplexities scores rows of one length: " + rows[r].length + " vs " + len);
            }
            System.arraycopy(rows[r], 0, flat, r * len, len);
            System.arraycopy(rows[r], 1, next, r * len, len - 1); // the last position predicts nothing scored
        }
        try (NDManager m = manager().newSubManager()) {
            NDArray logits = model.forward(m.create(flat, new Shape(n, len)), hooks.at(m, len));
            float[] logp = logits.logSoftmax(-1).gather(m.create(next, new Shape(n, len, 1)), 2).toFloatArray();
            double[] out = new double[n];
            for (int r = 0; r < n; r++) {
                double sum = 0;
                for (int i = 0; i < len - 1; i++) {
                    sum += logp[r * len + i];
                }
                out[r] = Math.exp(-sum / len);
            }
            return out;
        }
    }

    /** Hooks for one pass of {@code length} tokens, made in that pass's manager. */
    @FunctionalInterface
    public interface PassHooks {
        Hooks at(NDManager m, int length);
    }

    private void checkFits(int tokens) {
        if (tokens > dimensions().contextLength()) {
            throw new IllegalArgumentException("input of " + tokens + " tokens (prompt plus target) exceeds the context length "
                    + dimensions().contextLength() + " of model " + name);
        }
    }

    @Override
    public void close() {
        if (tokenizer != null) {
            tokenizer.close();
        }
        model.close();
    }
}
