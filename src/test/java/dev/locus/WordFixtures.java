package dev.locus;

import dev.locus.testbed.WordLevelTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Words for the random tiny fixtures of ../shared, which ship no tokenizer: "w000", "w001", … one per id (a random model's
 * greedy answer must decode to something), and a corpus of sentences of the first of them for ROME's and MEMIT's key
 * statistics.
 */
public final class WordFixtures {
    /** Words the corpus draws from. */
    public static final int CORPUS_WORDS = 60;

    private WordFixtures() {}

    public static String word(int id) {
        return String.format("w%03d", id);
    }

    /** A word-level tokenizer with a word for every id of a {@code vocabulary} but the two special tokens'. */
    public static void writeTokenizer(Path file, int vocabulary) throws IOException {
        List<String> words = new ArrayList<>();
        for (int i = 0; i < vocabulary - 2; i++) {
            words.add(word(i));
        }
        WordLevelTokenizer.write(file, WordLevelTokenizer.vocabulary(words));
    }

    /** 300 seeded sentences of 4–8 of the first {@value #CORPUS_WORDS} words. */
    public static List<String> corpus() {
        Random random = new Random(5);
        List<String> corpus = new ArrayList<>();
        for (int s = 0; s < 300; s++) {
            StringBuilder line = new StringBuilder();
            for (int w = 0, n = 4 + random.nextInt(5); w < n; w++) {
                line.append(w == 0 ? "" : " ").append(word(random.nextInt(CORPUS_WORDS)));
            }
            corpus.add(line.toString());
        }
        return corpus;
    }
}
