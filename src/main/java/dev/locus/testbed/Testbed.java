package dev.locus.testbed;

import ai.djl.Device;
import dev.locus.editing.KeyStatistics;
import dev.locus.facts.Fact;
import dev.locus.model.LanguageModel;
import dev.locus.tracing.NoiseLevel;
import dev.locus.tracing.TracingSettings;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The testbed models shipped in the jar (resources/testbed/ and resources/testbed-llama/, Hugging
 * Face layout), trained on the same fact world, with their facts and training text. The runtime
 * loads checkpoints from files, so a testbed is copied to a temporary directory once per JVM: the
 * same loading path a user's checkpoint takes.
 */
public enum Testbed {
    /** A 12-layer GPT-2: LayerNorm, learned positions, GELU MLP. */
    GPT2("testbed"),
    /** A 12-layer Llama: RMSNorm, rotary positions, SwiGLU MLP, grouped-query attention. */
    LLAMA("testbed-llama");

    static final List<String> FILES = List.of("config.json", "model.safetensors", "tokenizer.json", "facts.jsonl", "corpus.txt", "training.json");

    private final String name;
    private Path directory;

    Testbed(String name) {
        this.name = name;
    }

    /** The name results are tagged with and {@code --model} accepts. */
    public String label() {
        return name;
    }

    /** The testbed called {@code name} ("testbed", "testbed-llama"), if there is one. */
    public static Optional<Testbed> named(String name) {
        return Arrays.stream(values()).filter(t -> t.name.equals(name)).findFirst();
    }

    public static List<String> names() {
        return Arrays.stream(values()).map(Testbed::label).toList();
    }

    public synchronized Path directory() {
        if (directory == null) {
            try {
                Path dir = Files.createTempDirectory("locus-" + name + "-");
                for (String file : FILES) {
                    String resource = name + "/" + file;
                    try (InputStream in = Testbed.class.getClassLoader().getResourceAsStream(resource)) {
                        if (in == null) {
                            throw new IllegalStateException("the " + name + " model is missing from the classpath (" + resource
                                    + "); regenerate it with the train-testbed command");
                        }
                        Files.copy(in, dir.resolve(file), StandardCopyOption.REPLACE_EXISTING);
                    }
                    dir.resolve(file).toFile().deleteOnExit();
                }
                dir.toFile().deleteOnExit();
                directory = dir;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot extract the " + name + " model", e);
            }
        }
        return directory;
    }

    public LanguageModel load() {
        return LanguageModel.load(directory(), Device.cpu());
    }

    /** σ for tracing this testbed, estimated from its own facts' subjects ({@link NoiseLevel#sigma}). */
    public double noiseSigma(LanguageModel lm) {
        return NoiseLevel.sigma(lm, facts().stream().map(Fact::subject).toList(), TracingSettings.defaults().noiseFactor());
    }

    /** Key statistics of this testbed over its own training text (corpus.txt), cached in {@code cache}. */
    public KeyStatistics keyStatistics(LanguageModel lm, Path cache, Consumer<String> progress) {
        return source().keyStatistics(lm, null, cache, progress);
    }

    public List<Fact> facts() {
        return source().facts(null);
    }

    public ModelSource source() {
        return new ModelSource(name, directory());
    }
}
