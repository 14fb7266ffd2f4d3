package dev.locus.app;

import dev.locus.testbed.FactWorld;
import dev.locus.testbed.TestbedTrainer;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Regenerates a testbed: fact world, tokenizer, trained model, in Hugging Face layout. */
@Command(name = "train-testbed", mixinStandardHelpOptions = true,
        description = "Generate the fact world and train a testbed model (GPT-2 or Llama) into a Hugging Face directory.")
public class TrainTestbedCommand implements Runnable {
    @Option(names = "--architecture", defaultValue = "gpt2", converter = ArchitectureConverter.class,
            description = "gpt2 (the testbed) or llama (testbed-llama; default: ${DEFAULT-VALUE})")
    TestbedTrainer.Architecture architecture;

    @Option(names = "--out", required = true, description = "output directory, e.g. src/main/resources/testbed or src/main/resources/testbed-llama")
    Path out;

    @Option(names = "--seed", defaultValue = "1234", description = "seed of the fact world and of training")
    long seed;

    @Option(names = "--facts", defaultValue = "1000", description = "number of facts")
    int facts;

    @Option(names = "--layers", defaultValue = "12")
    int layers;

    @Option(names = "--max-epochs", defaultValue = "80")
    int maxEpochs;

    @Override
    public void run() {
        TestbedTrainer.Settings d = TestbedTrainer.Settings.defaults(architecture);
        TestbedTrainer.Settings s = new TestbedTrainer.Settings(architecture, seed, layers, d.width(), d.heads(), d.kvHeads(),
                d.mlpWidth(), d.positions(), d.batchSize(), d.learningRate(), d.beta1(), d.beta2(), d.warmupSteps(), maxEpochs,
                d.targetAccuracy(), d.fillerFraction(), d.pairedFraction());
        try {
            FactWorld world = FactWorld.generate(seed, facts);
            System.out.printf("training on %d facts, %d filler sentences -> %s%n", world.facts().size(),
                    world.fillerSentences().size(), out.toAbsolutePath());
            TestbedTrainer.Report r = new TestbedTrainer(s, System.out::println).train(world, out);
            System.out.printf("done in %.0fs after %d epochs: main acc %.3f, paraphrase acc %.3f, mean p(true) %.3f%n",
                    r.seconds(), r.epochs(), r.quality().mainAccuracy(), r.quality().paraphraseAccuracy(),
                    r.quality().meanMainProbability());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static final class ArchitectureConverter implements picocli.CommandLine.ITypeConverter<TestbedTrainer.Architecture> {
        @Override
        public TestbedTrainer.Architecture convert(String value) {
            return TestbedTrainer.Architecture.valueOf(value.toUpperCase(java.util.Locale.ROOT));
        }
    }
}
