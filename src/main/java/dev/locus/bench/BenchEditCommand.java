package dev.locus.bench;

import dev.locus.editing.EditEvaluator;
import dev.locus.editing.EditingConfig;
import dev.locus.editing.EditingMethod;
import dev.locus.editing.EditingProblem;
import dev.locus.study.EditingStudy;
import dev.locus.editing.Editor;
import dev.locus.editing.KeyStatistics;
import dev.locus.facts.Fact;
import dev.locus.model.LanguageModel;
import dev.locus.testbed.ModelSource;
import dev.locus.tracing.FastTracer;
import dev.locus.tracing.TracingSettings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Time of one edit per method, of the whole protocol for one fact, and the facts per hour that makes. */
@Command(name = "bench-edit", mixinStandardHelpOptions = true,
        description = "Median time of one edit per method (one fact, one layer) and of the full protocol per fact.")
public class BenchEditCommand implements Runnable {
    @Mixin
    ModelOption model;

    @Option(names = "--facts-file", description = "facts as JSON lines or a CounterFact JSON array (default: the model's facts.jsonl)")
    Path factsFile;

    @Option(names = "--corpus", description = "text file (one passage per line) for the key statistics (default: the model's corpus.txt)")
    Path corpus;

    @Option(names = "--config", defaultValue = "testbed", description = "testbed, gpt-j, gpt2-xl, paper-gpt-j, paper-gpt2-xl or a JSON file (default: ${DEFAULT-VALUE})")
    String config;

    @Option(names = "--methods", split = ",", defaultValue = "rome,memit,ft-1,ft-5", description = "methods timed (default: ${DEFAULT-VALUE})")
    List<String> methods;

    @Option(names = "--runs", defaultValue = "5", description = "timed edits per method")
    int runs;

    @Option(names = "--layer", defaultValue = "4")
    int layer;

    @Option(names = "--layers", split = ",", description = "the protocol's layers (default: every layer); a reduced grid for large models")
    int[] layers;

    @Option(names = "--problems", split = ",", defaultValue = "error_injection,tracing_reversal,fact_erasure,fact_amplification,fact_forcing",
            description = "the protocol's problems (default: all five)")
    List<String> problems;

    @Option(names = "--min-p-clean", description = "facts below this p(true) are traced but not edited (default: the tracing "
            + "default, 0.02; 0 edits every fact, as a random checkpoint needs)")
    Double minPClean;

    @Option(names = "--protocol-facts", defaultValue = "1", description = "facts timed through the full protocol (0: none)")
    int protocolFacts;

    @Option(names = "--batch-rows", defaultValue = "" + EditingStudy.DEFAULT_BATCH_ROWS,
            description = "also time each protocol fact with its edits batched over the layers (ROME's v*, MEMIT's z, fine-tuning) in this many "
                    + "rows, alternating with one edit at a time, and print the ratio (0: one at a time only; default: ${DEFAULT-VALUE})")
    int batchRows;

    @Option(names = "--flops", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "count the protocol's matmul FLOPs on the first fact under PyTorch's profiler (a method x problem at a time), and print the achieved GFLOP/s "
                    + "as a fraction of a 2048^3 matmul's rate (default: on; --no-flops skips the profiled runs)")
    boolean flops;

    @Option(names = "--cache", defaultValue = "${sys:user.home}/.cache/locus")
    Path cache;

    @Override
    public void run() {
        ModelSource source = model.source();
        List<EditingMethod> timed = methods.stream().map(EditingMethod::parse).toList();
        try (LanguageModel lm = source.load()) {
            List<Fact> facts = source.facts(factsFile);
            double sigma = ModelSource.noiseSigma(lm, facts, TracingSettings.defaults().noiseFactor(), System.err::println);
            KeyStatistics statistics = timed.stream().anyMatch(EditingMethod::needsKeyStatistics)
                    ? source.keyStatistics(lm, corpus, cache, System.err::println) : null;
            EditingConfig editing = EditingConfig.named(config);
            List<String> prefixes = editing.prefixes(lm, 0);
            EditEvaluator.Setup setup = new EditEvaluator(lm, sigma, 1).setup(facts.get(0), EditingProblem.ERROR_INJECTION);
            for (EditingMethod method : timed) {
                Editor editor = editing.editor(method, EditingProblem.ERROR_INJECTION, lm, statistics, prefixes);
                // One untimed warm-up (and key statistics on first use).
                List<Double> ms = Measure.repeat(1, runs, () -> editor.apply(setup.task(), layer).close());
                System.out.printf("%-6s one edit (error injection, layer %d): median %7.0f ms%n", method, layer, Measure.median(ms));
            }
            System.out.printf("peak RSS %.2f GiB (weights, key statistics, PyTorch and the JVM)%n", Measure.peakRssGiB());
            if (protocolFacts > 0) {
                TracingSettings tracing = minPClean == null ? TracingSettings.defaults()
                        : TracingSettings.defaults().toBuilder().minCleanProbability(minPClean).build();
                FastTracer tracer = new FastTracer(lm, tracing, sigma);
                EditingStudy oneAtATime = new EditingStudy(lm, editing, statistics, prefixes, tracer, 0);
                EditingStudy batched = batchRows > 0 ? new EditingStudy(lm, editing, statistics, prefixes, tracer, batchRows) : null;
                int[] grid = layers != null ? layers : IntStream.range(0, lm.dimensions().layers()).toArray();
                timeProtocol(oneAtATime, batched, facts, grid, problems.stream().map(EditingProblem::parse).toList());
            }
        }
    }

    /** The full protocol (trace, then every method x problem x layer) on the facts after the edited one, batched and not in turn. */
    private void timeProtocol(EditingStudy oneAtATime, EditingStudy batched, List<Fact> facts, int[] layers, List<EditingProblem> grid) {
        List<Double> perFact = new ArrayList<>();
        List<Double> perFactBatched = new ArrayList<>();
        for (int i = 0; i < protocolFacts; i++) {
            Fact f = facts.get(1 + i);
            perFact.add(timeProtocol(oneAtATime, f, layers, grid, "one edit at a time"));
            if (batched != null) {
                perFactBatched.add(timeProtocol(batched, f, layers, grid, "batched in " + batchRows + " rows"));
            }
        }
        double median = Measure.median(perFact);
        System.out.printf("median protocol time per fact %.0f s -> %.1f facts per hour on this machine%n", median / 1000,
                3_600_000 / median);
        double b = batched == null ? Double.NaN : Measure.median(perFactBatched);
        if (batched != null) {
            System.out.printf("batched: median %.0f s -> %.1f facts per hour; one at a time / batched = %.2f%n", b / 1000, 3_600_000 / b,
                    median / b);
        }
        if (flops) {
            // Counted on the first fact under the profiler (slower), rated against the median unprofiled times.
            double square = MatmulFlops.squareRate(2048, 10);
            Fact f = facts.get(1);
            System.out.println(MatmulFlops.rate("one at a time, per fact", protocolFlops(oneAtATime, f, layers, grid), median, square));
            if (batched != null) {
                System.out.println(MatmulFlops.rate("batched, per fact", protocolFlops(batched, f, layers, grid), b, square));
            }
        }
    }

    /**
     * The protocol's matmul FLOPs, profiled one method × problem at a time (the profiler keeps every event in memory: a
     * whole protocol's took 24 GB): the trace alone, then each slice (which traces again) less the trace.
     */
    private static double protocolFlops(EditingStudy study, Fact f, int[] layers, List<EditingProblem> grid) {
        double trace = MatmulFlops.count(() -> study.run(f, List.of(), List.of(), layers, r -> {}));
        double total = trace;
        for (EditingMethod method : EditingMethod.all()) {
            for (EditingProblem problem : grid) {
                total += MatmulFlops.count(() -> study.run(f, List.of(method), List.of(problem), layers, r -> {})) - trace;
            }
        }
        return total;
    }

    /** The protocol's edits of {@code f}; the failed ones' errors (numbers masked) counted into {@code failed}. */
    private static int run(EditingStudy study, Fact f, int[] layers, List<EditingProblem> grid, Map<String, Integer> failed) {
        int[] edits = {0};
        study.run(f, EditingMethod.all(), grid, layers, r -> {
            edits[0]++;
            if (!"ok".equals(r.status())) {
                failed.merge(r.error() == null ? r.status() : r.error().replaceAll("\\d+", "#"), 1, Integer::sum);
            }
        });
        return edits[0];
    }

    private double timeProtocol(EditingStudy study, Fact f, int[] layers, List<EditingProblem> grid, String how) {
        int[] edits = {0};
        Map<String, Integer> failed = new TreeMap<>();
        double ms = Measure.ms(() -> edits[0] = run(study, f, layers, grid, failed));
        if (edits[0] == 0) {
            throw new IllegalStateException("fact " + f.id() + " was not edited (p(true) below the threshold: a random checkpoint "
                    + "knows no fact); time the protocol with --min-p-clean 0");
        }
        // A failed edit is fast: say so beside the time.
        System.out.printf("protocol for %s, %s: %d edits (4 methods x %d problems x %d layers) + trace in %.0f s; failed edits %s%n", f.id(),
                how, edits[0], grid.size(), layers.length, ms / 1000, failed.isEmpty() ? "none" : failed);
        return ms;
    }
}
