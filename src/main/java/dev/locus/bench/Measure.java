package dev.locus.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** What the benchmarks share: wall-clock time of a run, warm-up then timed runs, medians, the machine's load, scratch cleanup. */
final class Measure {
    private Measure() {}

    /** Milliseconds {@code run} takes. */
    static double ms(Runnable run) {
        long start = System.nanoTime();
        run.run();
        return (System.nanoTime() - start) / 1e6;
    }

    /** Milliseconds of each of {@code runs} timed runs, after {@code warmup} untimed ones (JIT, first-use setup). */
    static List<Double> repeat(int warmup, int runs, Runnable run) {
        List<Double> ms = new ArrayList<>();
        for (int r = -warmup; r < runs; r++) {
            double t = ms(run);
            if (r >= 0) {
                ms.add(t);
            }
        }
        return ms;
    }

    static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** The load average and the CPUs the JVM sees, printed around a benchmark: the machine is shared, its load changes. */
    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim() + " (" + Runtime.getRuntime().availableProcessors() + " CPUs)";
        } catch (IOException e) {
            return "unknown";
        }
    }

    /**
     * The process's peak resident set size in GiB since start or the last {@link #resetPeakRss} (Linux VmHWM: model
     * weights, PyTorch's buffers and the JVM together); NaN where /proc does not tell.
     */
    static double peakRssGiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) / (1024.0 * 1024.0);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux: NaN below
        }
        return Double.NaN;
    }

    /** Starts a new peak-RSS measurement at the current RSS (Linux: writing 5 to clear_refs resets VmHWM); false if it cannot. */
    static boolean resetPeakRss() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** Deletes a scratch directory (a broker's data, the child service's log) and everything in it; says so when it cannot. */
    static void deleteTree(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            System.err.println("could not delete " + dir + ": " + e);
        }
    }
}
