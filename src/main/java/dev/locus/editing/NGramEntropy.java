package dev.locus.editing;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * ROME's fluency measure of generated text, as google/belief-localization copies it
 * (experiments/py/eval_utils_counterfact.py, commit 2a312e57, {@code n_gram_entropy} lines 245–250,
 * {@code compute_n_gram_entropy} lines 253–270, {@code compute_freq} lines 273–276): for each text, the Shannon entropy in
 * bits of its bigram and of its trigram frequency distribution, weighted 2/3 and 4/3 and averaged (arithmetic), then
 * averaged over the texts. An n-gram distribution of a text shorter than n words is empty and adds 0, as numpy's sum of
 * an empty array does there.
 *
 * <p>The one difference: words are split by {@link #words} (runs of letters, digits and apostrophes, and each other
 * non-space character alone), not by NLTK's Treebank {@code word_tokenize}, which also splits contractions ("do" "n't")
 * and a few quote forms differently. On the testbed's texts (words and no punctuation) the two agree.
 */
public final class NGramEntropy {
    private NGramEntropy() {}

    /** ROME's ns = [2, 3] (eval_utils_counterfact.py line 255). */
    static final int[] NS = {2, 3};

    /** ROME's weights = [2/3, 4/3] (line 257). */
    static final double[] WEIGHTS = {2.0 / 3, 4.0 / 3};

    private static final Pattern WORD = Pattern.compile("[\\p{L}\\p{N}_]+(?:['’][\\p{L}\\p{N}_]+)*|\\S");

    /** The mean over {@code texts} of {@link #of(String)} ({@code n_gram_entropy(gen_texts, agg="arith")}). */
    public static double mean(List<String> texts) {
        double sum = 0;
        for (String t : texts) {
            sum += of(t);
        }
        return sum / texts.size();
    }

    /** {@code compute_n_gram_entropy(sentence)}: mean over n of weight_n · H(n-gram frequencies of the text) in bits. */
    public static double of(String text) {
        List<String> words = words(text);
        double sum = 0;
        for (int i = 0; i < NS.length; i++) {
            sum += WEIGHTS[i] * entropy(words, NS[i]);
        }
        return sum / NS.length;
    }

    /** The Shannon entropy in bits of the frequencies of the n-grams of {@code words}; 0 when there are none. */
    static double entropy(List<String> words, int n) {
        Map<List<String>, Integer> counts = new HashMap<>();
        for (int i = 0; i + n <= words.size(); i++) {
            counts.merge(List.copyOf(words.subList(i, i + n)), 1, Integer::sum);
        }
        double total = Math.max(0, words.size() - n + 1);
        double h = 0;
        for (int c : counts.values()) {
            double f = c / total;
            h -= f * Math.log(f) / Math.log(2);
        }
        return h;
    }

    /** The words of a text as counted here (see the class comment). */
    public static List<String> words(String text) {
        List<String> out = new ArrayList<>();
        Matcher m = WORD.matcher(text);
        while (m.find()) {
            out.add(m.group());
        }
        return out;
    }
}
