package dev.locus.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.locus.model.LanguageModel;
import dev.locus.model.Transformer;
import dev.locus.testbed.ModelSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The engine's float32 matmul rate on this machine: what a protocol's achieved GFLOP/s is a fraction of. The shapes are
 * the model's own — its projections (width → 3·width for attention, width ↔ MLP width) and its LM head (width → vocabulary)
 * at the row counts the protocol feeds them (one prompt, a ROME step's 22 prompts, a trace's corrupted runs) — and a large
 * square one, timed one after the other in one process under the same load.
 */
@Command(name = "bench-gemm", mixinStandardHelpOptions = true,
        description = "float32 matmul GFLOP/s of the engine at the model's projection and LM-head shapes for several row counts, "
                + "and at a large square shape.")
public class BenchGemmCommand implements Runnable {
    @Mixin
    ModelOption model;

    @Option(names = "--rows", split = ",", defaultValue = "17,374,2860,17160",
            description = "row counts (tokens in a batch): one prompt, a ROME step (22 × 17), a trace pass (10 noise samples × 286), "
                    + "60 such (default: ${DEFAULT-VALUE})")
    int[] rows;

    @Option(names = "--square", defaultValue = "2048", description = "size of the large square matmul (default: ${DEFAULT-VALUE})")
    int square;

    @Option(names = "--runs", defaultValue = "20", description = "timed runs per shape (default: ${DEFAULT-VALUE})")
    int runs;

    @Option(names = "--warmup", defaultValue = "3")
    int warmup;

    private record Gemm(String what, long m, long k, long n) {
        double flops() {
            return 2.0 * m * k * n;
        }
    }

    @Override
    public void run() {
        Transformer.Dimensions d;
        ModelSource source = model.source();
        try (LanguageModel lm = source.load()) {
            d = lm.dimensions();
        }
        System.out.printf("load average at start: %s%n", Measure.loadAverage());
        System.out.printf("engine threads: %d intra-op; model %s: width %d, MLP width %d, vocabulary %d%n",
                ai.djl.pytorch.jni.JniUtils.getNumThreads(), source.name(), d.width(), d.mlpWidth(), d.vocabSize());
        List<Gemm> shapes = new ArrayList<>();
        for (int r : rows) {
            shapes.add(new Gemm("attention in (x·W_qkv)", r, d.width(), 3L * d.width()));
            shapes.add(new Gemm("MLP in (x·W_fc)", r, d.width(), d.mlpWidth()));
            shapes.add(new Gemm("MLP out (h·W_proj)", r, d.mlpWidth(), d.width()));
            shapes.add(new Gemm("LM head (x·Eᵀ)", r, d.width(), d.vocabSize()));
        }
        shapes.add(new Gemm("square", square, square, square));
        System.out.printf("%-24s %8s %6s %6s %12s %10s%n", "matmul", "rows", "k", "n", "median ms", "GFLOP/s");
        Map<String, Double> best = new LinkedHashMap<>();
        try (NDManager m = NDManager.newBaseManager()) {
            for (Gemm g : shapes) {
                NDArray a = m.randomNormal(new Shape(g.m(), g.k()));
                NDArray b = m.randomNormal(new Shape(g.k(), g.n()));
                // libtorch's CPU kernels are synchronous: the product exists when matMul returns.
                List<Double> ms = Measure.repeat(warmup, runs, () -> a.matMul(b).close());
                double median = Measure.median(ms);
                double rate = g.flops() / (median / 1000) / 1e9;
                best.merge(g.what(), rate, Math::max);
                System.out.printf("%-24s %8d %6d %6d %12.3f %10.1f%n", g.what(), g.m(), g.k(), g.n(), median, rate);
                a.close();
                b.close();
            }
        }
        System.out.println();
        best.forEach((what, rate) -> System.out.printf("best %-24s %8.1f GFLOP/s (%.0f %% of the square's)%n", what, rate,
                100 * rate / best.get("square")));
        System.out.printf("load average at end: %s%n", Measure.loadAverage());
    }
}
