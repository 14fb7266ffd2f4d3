package dev.locus.bench;

import dev.locus.model.EditedCheckpoint;
import dev.locus.model.SavableTransformer;
import dev.locus.testbed.ModelSource;
import dev.locus.testbed.Testbed;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Writes a checkpoint of a realistic shape with seeded random weights, in Hugging Face layout, so every
 * command (trace, edit, bench-edit, bench-trace, logits) can be timed at that scale without downloading
 * weights. The testbed's word-level tokenizer, facts and the first lines of its training text go beside
 * it: their ids fit any vocabulary, and the cost of a pass depends on the shape, not on which ids it gets.
 */
@Command(name = "random-checkpoint", mixinStandardHelpOptions = true,
        description = "Write a gpt2-small or llama-3.2-1b shaped checkpoint with random weights (plus the testbed's tokenizer, "
                + "facts and a short corpus) for timing and memory measurements at scale.")
public class RandomCheckpointCommand implements Callable<Integer> {
    @Option(names = "--shape", required = true, description = "gpt2-small or llama-3.2-1b")
    String shape;

    @Option(names = "--out", required = true, description = "directory to write (new or empty)")
    Path out;

    @Option(names = "--corpus-lines", defaultValue = "64", description = "lines of the testbed's training text written as "
            + "corpus.txt, the key-statistics text (default: ${DEFAULT-VALUE})")
    int corpusLines;

    @Option(names = "--seed", defaultValue = "1")
    long seed;

    @Override
    public Integer call() throws IOException {
        RandomShape random = RandomShape.named(shape).orElseThrow(() -> new IllegalArgumentException(
                "unknown shape " + shape + "; known: gpt2-small, llama-3.2-1b"));
        EditedCheckpoint.requireNewOrEmpty(out);
        long start = System.nanoTime();
        try (SavableTransformer model = random.create(seed)) {
            System.err.printf("initialised %s in %.0f s; writing %s%n", shape, (System.nanoTime() - start) / 1e9, out);
            model.save(out);
        }
        Path testbed = Testbed.GPT2.directory();
        Files.copy(testbed.resolve("tokenizer.json"), out.resolve("tokenizer.json"));
        Files.copy(testbed.resolve(ModelSource.FACTS_FILE), out.resolve(ModelSource.FACTS_FILE));
        List<String> corpus = Files.readAllLines(testbed.resolve(ModelSource.CORPUS_FILE));
        Files.write(out.resolve(ModelSource.CORPUS_FILE), corpus.subList(0, Math.min(corpus.size(), corpusLines)));
        System.err.printf("wrote %s in %.0f s%n", out, (System.nanoTime() - start) / 1e9);
        return 0;
    }
}
