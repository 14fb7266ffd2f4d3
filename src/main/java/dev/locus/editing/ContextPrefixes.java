package dev.locus.editing;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.locus.model.Hooks;
import dev.locus.model.LanguageModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * ROME's context prefixes: the empty one plus short texts sampled from the model itself (top-5
 * sampling from the end-of-text token, seeded), each followed by ". ", so k* is an average over
 * contexts the model finds natural rather than one prompt's key.
 */
public final class ContextPrefixes {
    private static final int TOP_K = 5;
    /** ROME's count of prefixes of each length. */
    public static final int PUBLISHED_PER_LENGTH = 10;

    private ContextPrefixes() {}

    /** The published set: "" plus 10 texts of 5 tokens and 10 of 10 tokens. */
    public static List<String> standard(LanguageModel lm, long seed) {
        return sample(lm, seed, PUBLISHED_PER_LENGTH, 5, 10);
    }

    /** "" plus {@code count} texts of each given token length. */
    public static List<String> sample(LanguageModel lm, long seed, int count, int... lengths) {
        Random random = new Random(seed);
        long start = startToken(lm);
        List<String> out = new ArrayList<>(List.of(""));
        for (int length : lengths) {
            for (int i = 0; i < count; i++) {
                long[] seq = new long[length + 1];
                seq[0] = start;
                for (int t = 1; t <= length; t++) {
                    seq[t] = sampleNext(lm, Arrays.copyOf(seq, t), random);
                }
                out.add(lm.decode(Arrays.copyOfRange(seq, 1, seq.length)).strip() + ". ");
            }
        }
        return out;
    }

    /** MEMIT's opening words (memit/memit_main.py:304). */
    private static final List<String> MEMIT_STARTS = List.of("The", "Therefore", "Because", "I", "You");

    /**
     * MEMIT's context templates (memit/memit_main.py:297-319): "" plus, after each of its five opening words, one top-5 sample
     * grown to 10 tokens in all (the word's own included, as generate_fast counts max_out_len), the word kept, ". " after.
     */
    public static List<String> memit(LanguageModel lm, long seed) {
        Random random = new Random(seed);
        List<String> out = new ArrayList<>(List.of(""));
        int bos = lm.tokenize("").ids().length; // a tokenizer that adds BOS (Llama) adds it to each word too
        for (String word : MEMIT_STARTS) {
            long[] start = lm.tokenize(word).ids();
            long[] seq = Arrays.copyOf(start, Math.max(start.length, 10 + bos));
            for (int t = start.length; t < seq.length; t++) {
                seq[t] = sampleNext(lm, Arrays.copyOf(seq, t), random);
            }
            out.add(lm.decode(Arrays.copyOfRange(seq, bos, seq.length)).strip() + ". ");
        }
        return out;
    }

    /** The token a free-running sample starts from: the tokenizer's BOS where it adds one (Llama), else GPT-2's <|endoftext|>, else id 0. */
    private static long startToken(LanguageModel lm) {
        long[] bos = lm.tokenize("").ids();
        if (bos.length == 1) {
            return bos[0];
        }
        long[] ids = lm.tokenize("<|endoftext|>").ids();
        return ids.length == 1 ? ids[0] : 0;
    }

    private static long sampleNext(LanguageModel lm, long[] prefix, Random random) {
        float[] logits;
        try (NDManager m = lm.manager().newSubManager()) {
            logits = lm.model().forward(m.create(prefix, new Shape(1, prefix.length)), Hooks.none())
                    .get("0, -1").toFloatArray();
        }
        Integer[] order = new Integer[logits.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Float.compare(logits[b], logits[a]));
        double[] weights = new double[TOP_K];
        double total = 0;
        for (int i = 0; i < TOP_K; i++) {
            weights[i] = Math.exp(logits[order[i]] - logits[order[0]]);
            total += weights[i];
        }
        double u = random.nextDouble() * total;
        for (int i = 0; i < TOP_K; i++) {
            u -= weights[i];
            if (u <= 0) {
                return order[i];
            }
        }
        return order[TOP_K - 1];
    }
}
