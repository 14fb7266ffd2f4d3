package dev.locus.tracing;

import ai.djl.ndarray.NDArray;
import dev.locus.model.LanguageModel;
import java.util.List;

/**
 * The tracing noise level σ: a factor (3 in the spec) times the std of the token embeddings of a
 * sample of subjects, each tokenized alone. The one place σ is estimated, for every command and the service.
 */
public final class NoiseLevel {
    /**
     * Subjects sampled: the first 200 of the facts, repeats kept, as the authors' code takes the subjects of
     * its fact list as they come; a few hundred give thousands of embedding values, plenty for one std.
     */
    public static final int SUBJECTS = 200;

    private NoiseLevel() {}

    /** σ = {@code factor} × {@link #embeddingStd} of the first {@link #SUBJECTS} of {@code subjects}. */
    public static double sigma(LanguageModel lm, List<String> subjects, double factor) {
        return factor * embeddingStd(lm, subjects.subList(0, Math.min(SUBJECTS, subjects.size())));
    }

    /** Sample standard deviation of all embedding values of all tokens of {@code subjects}. */
    public static double embeddingStd(LanguageModel lm, List<String> subjects) {
        NDArray table = lm.model().tokenEmbeddings();
        int width = lm.dimensions().width();
        double sum = 0;
        double sumSquares = 0;
        long count = 0;
        for (String subject : subjects) {
            for (long id : lm.tokenizer().encode(subject).ids()) { // the subject's own tokens, no BOS
                try (NDArray row = table.get(id)) {
                    for (float v : row.toFloatArray()) {
                        sum += v;
                        sumSquares += (double) v * v;
                    }
                }
                count += width;
            }
        }
        if (count < 2) {
            throw new IllegalArgumentException("need at least one subject token to estimate the noise level");
        }
        double mean = sum / count;
        return Math.sqrt((sumSquares - count * mean * mean) / (count - 1));
    }
}
