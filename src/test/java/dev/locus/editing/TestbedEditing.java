package dev.locus.editing;

import dev.locus.model.LanguageModel;
import dev.locus.testbed.Testbed;
import java.nio.file.Path;

/** Key statistics of the testbed model for tests, cached under target/ (keyed by fingerprint, so always current). */
final class TestbedEditing {
    private TestbedEditing() {}

    static KeyStatistics statistics(LanguageModel lm) {
        return Testbed.GPT2.keyStatistics(lm, Path.of("target", "locus-cache"), s -> {});
    }
}
