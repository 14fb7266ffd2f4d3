package dev.locus.testbed;

import ai.djl.Device;
import dev.locus.editing.KeyStatistics;
import dev.locus.facts.Fact;
import dev.locus.facts.FactFiles;
import dev.locus.model.LanguageModel;
import dev.locus.model.ModelLoadException;
import dev.locus.tracing.NoiseLevel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * What {@code --model} (and {@code locus.model.dir}) names: a shipped testbed by its name, or a
 * Hugging Face checkpoint directory. A directory may carry {@code facts.jsonl} and {@code corpus.txt}
 * beside the weights, as the testbeds do; they are then its default facts (whose subjects also set
 * the tracing noise σ) and the text of its key statistics. A directory literally called like a
 * testbed is written with a path: {@code ./testbed}.
 *
 * @param name      the testbed's name, else the directory's own name
 * @param directory where the checkpoint is (a testbed's extracted copy)
 */
public record ModelSource(String name, Path directory) {
    public static final String FACTS_FILE = "facts.jsonl";
    public static final String CORPUS_FILE = "corpus.txt";

    public static ModelSource of(String nameOrDirectory) {
        Optional<Testbed> testbed = Testbed.named(nameOrDirectory);
        if (testbed.isPresent()) {
            return new ModelSource(testbed.get().label(), testbed.get().directory());
        }
        Path dir = Path.of(nameOrDirectory);
        if (!Files.isDirectory(dir)) {
            throw new ModelLoadException("model " + nameOrDirectory + " is neither a shipped testbed (" + String.join(", ", Testbed.names())
                    + ") nor a directory");
        }
        return new ModelSource(dir.toAbsolutePath().normalize().getFileName().toString(), dir);
    }

    /** A directory, or the GPT-2 testbed for null. */
    public static ModelSource of(Path directoryOrNull) {
        return of(directoryOrNull == null ? Testbed.GPT2.label() : directoryOrNull.toString());
    }

    public LanguageModel load(Device device) {
        return LanguageModel.load(directory, device);
    }

    public LanguageModel load() {
        return load(Device.cpu());
    }

    /** The model's own facts file, if it carries one. */
    public Optional<Path> factsFile() {
        return Optional.of(directory.resolve(FACTS_FILE)).filter(Files::isRegularFile);
    }

    /** The facts of {@code file} (Locus JSON lines, CounterFact records or array), else the model's own. */
    public List<Fact> facts(Path file) {
        Path source = file != null ? file : factsFile().orElseThrow(() -> new IllegalArgumentException(
                "model " + name + " carries no " + FACTS_FILE + ": give a facts file"));
        try {
            return FactFiles.read(source);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + source + ": " + e.getMessage(), e);
        }
    }

    /** σ from the subjects of {@code facts}, as {@link NoiseLevel#sigma} estimates it; reported to {@code progress}. */
    public static double noiseSigma(LanguageModel lm, List<Fact> facts, double noiseFactor, Consumer<String> progress) {
        double sigma = NoiseLevel.sigma(lm, facts.stream().map(Fact::subject).toList(), noiseFactor);
        progress.accept(String.format("noise σ = %.4g (%.3g × embedding std of the first %d subjects)", sigma, noiseFactor,
                Math.min(NoiseLevel.SUBJECTS, facts.size())));
        return sigma;
    }

    /** Key statistics over {@code corpus} (one passage per line), else over the model's own corpus.txt; cached in {@code cache}. */
    public KeyStatistics keyStatistics(LanguageModel lm, Path corpus, Path cache, Consumer<String> progress) {
        Path own = directory.resolve(CORPUS_FILE);
        Path source = corpus != null ? corpus : Files.isRegularFile(own) ? own : null;
        if (source == null) {
            throw new IllegalArgumentException("ROME and MEMIT need key statistics of model " + name + ", which carries no "
                    + CORPUS_FILE + ": give a text file with one passage per line (--corpus, locus.editing.corpus)");
        }
        try {
            return new KeyStatistics(lm, Files.readAllLines(source), cache, progress);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the key-statistics corpus " + source + ": " + e.getMessage(), e);
        }
    }
}
