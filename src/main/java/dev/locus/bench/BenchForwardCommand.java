package dev.locus.bench;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.locus.model.Hooks;
import dev.locus.model.LanguageModel;
import dev.locus.model.Transformer;
import dev.locus.testbed.ModelSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Forward-pass latency and peak memory of each family: the two testbeds, and GPT-2-small and
 * Llama-3.2-1B shapes with random weights (or any checkpoint directory), one after the other in one
 * process, so the ratios between them are measured under the same machine load.
 */
@Command(name = "bench-forward", mixinStandardHelpOptions = true,
        description = "Median forward latency, tokens/s and peak RSS per model at batch 1 and 11, prompt length 16; "
                + "ratios of each pair of models as listed.")
public class BenchForwardCommand implements Runnable {
    @Option(names = {"--models", "--model"}, split = ",", defaultValue = "testbed,testbed-llama,gpt2-small,llama-3.2-1b",
            description = "testbeds (testbed, testbed-llama), random-weight shapes (gpt2-small, llama-3.2-1b) or checkpoint "
                    + "directories; each second one is compared with the one before it (default: ${DEFAULT-VALUE})")
    List<String> models;

    @Option(names = "--batches", split = ",", defaultValue = "1,11", description = "batch sizes (default: ${DEFAULT-VALUE})")
    int[] batches;

    @Option(names = "--runs", defaultValue = "30", description = "timed runs per case (after warm-up)")
    int runs;

    @Option(names = "--warmup", defaultValue = "5")
    int warmup;

    @Option(names = "--length", defaultValue = "16")
    int length;

    @Override
    public void run() {
        System.out.printf("load average at start: %s%n", Measure.loadAverage());
        boolean peaks = Measure.resetPeakRss();
        System.out.printf("%-16s %-8s %8s %6s %12s %12s %10s %8s%n", "model", "family", "params", "batch", "median ms", "tokens/s",
                peaks ? "peak RSS" : "max RSS", "load s");
        Map<String, double[]> medians = new LinkedHashMap<>();
        for (String name : models) {
            System.gc(); // the previous model's arrays are closed; let their Java side go before the next peak is taken
            Measure.resetPeakRss();
            long start = System.nanoTime();
            try (LanguageModel lm = open(name)) {
                Transformer model = lm.model();
                double loadS = (System.nanoTime() - start) / 1e9;
                double[] ms = new double[batches.length];
                for (int b = 0; b < batches.length; b++) {
                    ms[b] = median(model, batches[b]);
                }
                double peak = Measure.peakRssGiB();
                for (int b = 0; b < batches.length; b++) {
                    System.out.printf("%-16s %-8s %8s %6d %12.2f %12.0f %8.2f G %8.1f%n", name, model.dimensions().family(),
                            parameters(model), batches[b], ms[b], batches[b] * length / (ms[b] / 1000), peak, loadS);
                }
                medians.put(name, ms);
            }
        }
        List<String> names = new ArrayList<>(medians.keySet());
        for (int i = 1; i < names.size(); i += 2) {
            double[] a = medians.get(names.get(i - 1));
            double[] b = medians.get(names.get(i));
            StringBuilder line = new StringBuilder(names.get(i) + " / " + names.get(i - 1) + " latency:");
            for (int k = 0; k < batches.length; k++) {
                line.append(String.format(" batch %d %.2fx", batches[k], b[k] / a[k]));
            }
            System.out.println(line);
        }
        System.out.printf("load average at end: %s%n", Measure.loadAverage());
    }

    /** A random-weight shape (without a tokenizer: the benchmark feeds token ids) or a checkpoint. */
    private static LanguageModel open(String name) {
        return RandomShape.named(name).map(shape -> new LanguageModel(shape.create(1), null, name))
                .orElseGet(() -> ModelSource.of(name).load());
    }

    private static String parameters(Transformer model) {
        long n = model.weights().asMap().values().stream().mapToLong(a -> a.getShape().size()).sum();
        return n >= 1e9 ? String.format("%.2fB", n / 1e9) : n >= 1e6 ? String.format("%.1fM", n / 1e6) : String.format("%.0fk", n / 1e3);
    }

    private double median(Transformer model, int batch) {
        Random random = new Random(7);
        long[] ids = new long[batch * length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = random.nextInt(model.dimensions().vocabSize());
        }
        List<Double> ms = Measure.repeat(warmup, runs, () -> forward(model, ids, batch));
        return ms.stream().sorted().toList().get(runs / 2); // the upper middle of an even count, as always reported here
    }

    private void forward(Transformer model, long[] ids, int batch) {
        try (NDManager m = model.manager().newSubManager()) {
            model.forward(m.create(ids, new Shape(batch, length)), Hooks.none()).toFloatArray();
        }
    }
}
