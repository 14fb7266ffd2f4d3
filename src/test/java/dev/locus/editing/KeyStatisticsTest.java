package dev.locus.editing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.locus.model.LanguageModel;
import dev.locus.testbed.Testbed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Key statistics computed a few layers at a time (as a large model needs) are the same bytes as in one sweep over every layer. */
class KeyStatisticsTest {

    @Test
    void aLayerSweptAloneEqualsTheSameLayerSweptWithAllOthers(@TempDir Path all, @TempDir Path alone) throws Exception {
        try (LanguageModel lm = Testbed.LLAMA.load()) {
            List<String> corpus = Files.readAllLines(Testbed.LLAMA.directory().resolve("corpus.txt")).subList(0, 200);
            KeyStatistics together = new KeyStatistics(lm, corpus, all, message -> {});
            assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), together.sweep(5), "a small model's layers all fit one sweep");
            together.covariance(5);
            KeyStatistics single = new KeyStatistics(lm, corpus, alone, message -> {});
            single.compute(List.of(5));
            single.compute(List.of(2, 11));
            for (int layer : new int[] {2, 5, 11}) {
                assertArrayEquals(Files.readAllBytes(together.cacheFile(layer)), Files.readAllBytes(single.cacheFile(layer)), "layer " + layer);
            }
            assertEquals(List.of(0, 1, 3, 4, 6, 7, 8, 9, 10), single.sweep(0), "the next sweep takes only what is not cached");
        }
    }

    @Test
    void aSweepTakesTheUncachedLayersNearestToTheOneAskedFor() {
        Set<Integer> cached = Set.of(5);
        assertEquals(List.of(3, 4, 6), KeyStatistics.nearest(4, 16, 3, cached::contains));
        assertEquals(List.of(0, 1, 2), KeyStatistics.nearest(0, 16, 3, cached::contains));
        assertEquals(List.of(14, 15), KeyStatistics.nearest(15, 16, 2, cached::contains));
        assertEquals(List.of(7), KeyStatistics.nearest(7, 16, 1, cached::contains));
    }
}
