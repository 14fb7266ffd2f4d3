package dev.locus.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.locus.model.Gpt2;
import dev.locus.model.Hooks;
import dev.locus.model.ModelConfig;
import dev.locus.model.Transformer;
import dev.locus.testbed.Testbed;
import dev.locus.model.LanguageModel;
import java.util.List;
import java.util.Random;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Forward-pass latency of the testbed model and of a GPT-2-small-shaped model with random weights. */
@Command(name = "bench-forward", mixinStandardHelpOptions = true,
        description = "Median forward latency and tokens/s at batch 1 and 11, prompt length 16.")
public class BenchForwardCommand implements Runnable {
    @Option(names = "--runs", defaultValue = "30", description = "timed runs per case (after warm-up)")
    int runs;

    @Option(names = "--warmup", defaultValue = "5")
    int warmup;

    @Option(names = "--length", defaultValue = "16")
    int length;

    @Override
    public void run() {
        System.out.printf("%-22s %6s %12s %12s%n", "model", "batch", "median ms", "tokens/s");
        try (LanguageModel testbed = Testbed.load()) {
            measure("testbed " + testbed.dimensions().layers() + "x" + testbed.dimensions().width(), testbed.model());
        }
        ModelConfig small = new ModelConfig(12, 768, 12, 1024, 50257, 3072, 1e-5f, "gelu_new");
        try (Gpt2 gpt2 = Gpt2.initialize(small, 1, Device.cpu())) {
            measure("gpt2-small (random)", gpt2);
        }
    }

    private void measure(String name, Transformer model) {
        Random random = new Random(7);
        for (int batch : new int[] {1, 11}) {
            long[] ids = new long[batch * length];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = random.nextInt(model.dimensions().vocabSize());
            }
            List<Double> ms = Measure.repeat(warmup, runs, () -> forward(model, ids, batch));
            double median = ms.stream().sorted().toList().get(runs / 2); // the upper middle of an even count, as always reported here
            System.out.printf("%-22s %6d %12.2f %12.0f%n", name, batch, median, batch * length / (median / 1000));
        }
    }

    private void forward(Transformer model, long[] ids, int batch) {
        try (NDManager m = model.manager().newSubManager()) {
            model.forward(m.create(ids, new Shape(batch, length)), Hooks.none()).toFloatArray();
        }
    }
}
