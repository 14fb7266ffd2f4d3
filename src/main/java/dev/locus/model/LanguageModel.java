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
