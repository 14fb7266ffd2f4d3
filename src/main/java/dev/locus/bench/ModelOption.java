package dev.locus.bench;

import dev.locus.testbed.ModelSource;
import picocli.CommandLine.Option;

/**
 * The {@code --model} option of every command that runs a model, benchmarks and the launcher's commands
 * alike (it lives here, the lower of the two packages): a shipped testbed by name or a checkpoint directory.
 */
public final class ModelOption {
    @Option(names = "--model", defaultValue = "testbed",
            description = "testbed, testbed-llama or a Hugging Face checkpoint directory; a directory's facts.jsonl and corpus.txt,"
                    + " if it has them, are its default facts and key-statistics text (default: ${DEFAULT-VALUE})")
    String model;

    public ModelSource source() {
        return ModelSource.of(model);
    }
}
