package dev.locus.editing;

import dev.locus.model.LanguageModel;
import dev.locus.testbed.Testbed;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Key statistics of the testbed model for tests, cached under target/ (keyed by fingerprint, so always current). */
final class TestbedEditing {
    private TestbedEditing() {}

    static KeyStatistics statistics(LanguageModel lm) {
        try {
            return new KeyStatistics(lm, Files.readAllLines(Testbed.directory().resolve("corpus.txt")),
                    Path.of("target", "locus-cache"), s -> {});
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
