package dev.locus.testbed;

import ai.djl.Device;
import dev.locus.editing.KeyStatistics;
import dev.locus.facts.Fact;
import dev.locus.facts.FactsJsonl;
import dev.locus.model.LanguageModel;
import dev.locus.tracing.NoiseLevel;
import dev.locus.tracing.TracingSettings;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.function.Consumer;

/**
 * The testbed model shipped in the jar (resources/testbed/, Hugging Face layout) and its facts.
 * The runtime loads checkpoints from files, so the model is copied to a temporary directory
 * once per JVM: the same loading path a user's checkpoint takes.
 */
public final class Testbed {
    static final String RESOURCES = "testbed/";
    static final List<String> FILES = List.of("config.json", "model.safetensors", "tokenizer.json", "facts.jsonl", "corpus.txt", "training.json");
    private static Path directory;

    private Testbed() {}

    public static synchronized Path directory() {
        if (directory == null) {
            try {
                Path dir = Files.createTempDirectory("locus-testbed-");
                for (String name : FILES) {
                    try (InputStream in = Testbed.class.getClassLoader().getResourceAsStream(RESOURCES + name)) {
                        if (in == null) {
                            throw new IllegalStateException("the testbed model is missing from the classpath (" + RESOURCES + name
                                    + "); regenerate it with the train-testbed command");
                        }
                        Files.copy(in, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
                    }
                    dir.resolve(name).toFile().deleteOnExit();
                }
                dir.toFile().deleteOnExit();
                directory = dir;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot extract the testbed model", e);
            }
        }
        return directory;
    }

    public static LanguageModel load() {
        return LanguageModel.load(directory(), Device.cpu());
    }

    /** σ for tracing the testbed, estimated from its own facts' subjects ({@link NoiseLevel#sigma}). */
    public static double noiseSigma(LanguageModel lm) {
        return NoiseLevel.sigma(lm, facts().stream().map(Fact::subject).toList(), TracingSettings.defaults().noiseFactor());
    }

    /** Key statistics of the testbed model over its own training text (corpus.txt), cached in {@code cache}. */
    public static KeyStatistics keyStatistics(LanguageModel lm, Path cache, Consumer<String> progress) {
        try {
            return new KeyStatistics(lm, Files.readAllLines(directory().resolve("corpus.txt")), cache, progress);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static List<Fact> facts() {
        try {
            return FactsJsonl.read(directory().resolve("facts.jsonl"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
