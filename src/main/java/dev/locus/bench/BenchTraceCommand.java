package dev.locus.bench;

import dev.locus.facts.Fact;
import dev.locus.model.LanguageModel;
import dev.locus.testbed.ModelSource;
import dev.locus.tracing.FastTracer;
import dev.locus.tracing.NaiveTracer;
import dev.locus.tracing.Tracer;
import dev.locus.tracing.TracingSettings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Full traces (3 kinds × all layers × all traced tokens) of the same facts with the naive
 * reference and the fast engine, alternating in one process so both see the same machine load.
 */
@Command(name = "bench-trace", mixinStandardHelpOptions = true,
        description = "Median time per fact of a full trace: naive reference vs fast engine, and their ratio.")
public class BenchTraceCommand implements Runnable {
    @Mixin
    ModelOption model;

    @Option(names = "--facts-file", description = "facts as JSON lines or a CounterFact JSON array (default: the model's facts.jsonl)")
    Path factsFile;

    @Option(names = "--facts", defaultValue = "10", description = "facts to trace (default: ${DEFAULT-VALUE})")
    int facts;

    @Option(names = "--fast-only", description = "time only the fast engine (the naive reference is far slower on a large model)")
    boolean fastOnly;

    @Option(names = "--min-p-clean", description = "facts the model gives a lower p(target) are not analysed, and take no time "
            + "(default: ${DEFAULT-VALUE}; 0 traces every fact, as a model with random weights needs)")
    double minPClean = TracingSettings.defaults().minCleanProbability();

    @Option(names = "--warmup", defaultValue = "2", description = "untimed rounds first")
    int warmup;

    @Override
    public void run() {
        ModelSource source = model.source();
        try (LanguageModel lm = source.load()) {
            List<Fact> all = source.facts(factsFile);
            TracingSettings settings = TracingSettings.defaults().toBuilder().minCleanProbability(minPClean).build();
            double sigma = ModelSource.noiseSigma(lm, all, settings.noiseFactor(), System.err::println);
            Tracer naive = new NaiveTracer(lm, settings, sigma);
            Tracer fast = new FastTracer(lm, settings, sigma);
            List<Double> naiveMs = new ArrayList<>();
            List<Double> fastMs = new ArrayList<>();
            for (int i = -warmup; i < facts; i++) {
                Fact f = all.get(Math.floorMod(i, all.size()));
                double n = fastOnly ? Double.NaN : Measure.ms(() -> naive.trace(f.prompt(), f.subject(), f.targetTrue()));
                double q = Measure.ms(() -> fast.trace(f.prompt(), f.subject(), f.targetTrue()));
                if (i >= 0) {
                    naiveMs.add(n);
                    fastMs.add(q);
                    System.out.printf("fact %d/%d %-60s naive %8.0f ms  fast %7.0f ms  (%d prompt tokens)%n", i + 1, facts,
                            "'" + f.prompt() + "'", n, q, lm.tokenize(f.prompt()).length());
                }
            }
            printMedians(lm, settings, naiveMs, fastMs);
            // Counted on the first fact under the profiler (slower), rated against the median unprofiled times.
            Fact first = all.get(0);
            double square = MatmulFlops.squareRate(2048, 10);
            if (!fastOnly) {
                System.out.println(MatmulFlops.rate("naive, per trace", MatmulFlops.count(() -> naive.trace(first.prompt(), first.subject(),
                        first.targetTrue())), Measure.median(naiveMs), square));
            }
            System.out.println(MatmulFlops.rate("fast, per trace", MatmulFlops.count(() -> fast.trace(first.prompt(), first.subject(),
                    first.targetTrue())), Measure.median(fastMs), square));
            System.out.printf("peak RSS %.2f GiB (weights, PyTorch and the JVM)%n", Measure.peakRssGiB());
        }
    }

    private static void printMedians(LanguageModel lm, TracingSettings settings, List<Double> naiveMs, List<Double> fastMs) {
        double medianNaive = Measure.median(naiveMs);
        double medianFast = Measure.median(fastMs);
        System.out.printf("median per fact: naive %.0f ms, fast %.0f ms, speed-up %.1fx (model %d layers x %d, S=%d)%n",
                medianNaive, medianFast, medianNaive / medianFast, lm.dimensions().layers(), lm.dimensions().width(),
                settings.samples());
    }
}
