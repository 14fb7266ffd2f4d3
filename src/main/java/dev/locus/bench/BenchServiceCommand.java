package dev.locus.bench;

import dev.locus.bench.ServiceReport.LibraryFact;
import dev.locus.bench.ServiceReport.Round;
import dev.locus.bench.ServiceReport.ServiceBatch;
import dev.locus.bench.ServiceReport.Work;
import dev.locus.config.LocusConfig;
import dev.locus.facts.Fact;
import dev.locus.stream.StudySettingsMapping;
import dev.locus.study.FactStudyRunner;
import dev.locus.study.ResultEvent;
import dev.locus.study.Grid;
import dev.locus.study.StudySettings;
import dev.locus.testbed.ModelSource;
import dev.locus.testbed.Testbed;
import dev.locus.tracing.CausalTrace;
import dev.locus.tracing.TraceOutcome;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * End-to-end time per fact through the service against the library on the same facts.
 * <p>
 * (a) Library: {@link FactStudyRunner#open} in this process, one untimed warm-up fact, then each
 * fact's {@code run} timed (the sink only counts events). (b) Service: this application started as
 * a child process with its own in-process broker, the same grid, tracing and editing settings and
 * the same thread settings; after it is ready and has studied one warm-up fact, the same facts are
 * posted in one request to {@code /api/facts} and the clock runs until the aggregator's live view
 * (followed on {@code /api/stats/stream}, so waiting costs the service no polling) counts every one
 * of their results, so the figure covers HTTP, the facts
 * topic, the worker, the results topic and the aggregator. Rounds alternate (a) and (b) on fresh
 * facts, never concurrently; the child is started only after the first library batch and is
 * killed on every way out (normal end, exception, Ctrl-C / SIGTERM of this process).
 * <p>
 * Threads: PyTorch's intra-op threads are set to {@code --threads} (default 1: on a shared machine
 * two OpenMP threads that are preempted in turn wait for each other at every barrier, which made
 * a fact an order of magnitude slower and the figures noise) and inter-op threads to
 * {@code --interop-threads} (default 1) in both processes through
 * {@code ai.djl.pytorch.num_threads} / {@code num_interop_threads}; the child inherits this
 * process's environment (OMP_NUM_THREADS, MKL_NUM_THREADS, ... alike) and its -X / -D JVM options.
 * Both figures are printed as each process's engine reports them.
 */
@Command(name = "bench-service", mixinStandardHelpOptions = true,
        description = "Time per fact through the service (HTTP -> Kafka -> worker -> Kafka -> aggregator) vs the library, same facts, same threads.")
public class BenchServiceCommand implements Runnable {
    @Inject
    LocusConfig config;

    @Option(names = "--facts", defaultValue = "5", description = "timed facts per round (default: ${DEFAULT-VALUE})")
    int facts;

    @Option(names = "--rounds", defaultValue = "1", description = "rounds of library batch then service batch, each on fresh facts (default: ${DEFAULT-VALUE})")
    int rounds;

    @Option(names = "--from", defaultValue = "1",
            description = "index of the warm-up fact among the facts; the timed ones follow it (default: ${DEFAULT-VALUE})")
    int from;

    @Option(names = "--model", description = "testbed, testbed-llama or a Hugging Face checkpoint directory (default: locus.model.dir, "
            + "else testbed); a directory's facts.jsonl and corpus.txt are its default facts and key-statistics text")
    String model;

    @Option(names = "--facts-file", description = "facts (JSON lines, or a CounterFact JSON array) instead of the model's facts.jsonl")
    Path factsFile;

    @Option(names = "--layers", split = ",", description = "layers to edit (default: every layer, as the demo)")
    int[] layers;

    @Option(names = "--threads", defaultValue = "1",
            description = "PyTorch intra-op threads in both processes (default: ${DEFAULT-VALUE}; 0 = the CPUs the JVM sees)")
    int threads;

    @Option(names = "--interop-threads", defaultValue = "1", description = "PyTorch inter-op threads in both processes (default: ${DEFAULT-VALUE})")
    int interopThreads;

    @Option(names = "--app", description = "the application's quarkus-run.jar (default: the one this command runs from)")
    Path app;

    @Option(names = "--start-timeout", defaultValue = "PT5M", description = "wait this long for the service to be ready")
    Duration startTimeout;

    @Option(names = "--batch-timeout", defaultValue = "PT60M", description = "wait this long for a batch's results")
    Duration batchTimeout;

    @Option(names = "--keep-log", description = "keep the service's log (it is printed on failure either way)")
    boolean keepLog;

    @Override
    public void run() {
        int t = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        // Before the engine loads (nothing has loaded it in a command); checked below all the same.
        System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(t));
        System.setProperty("ai.djl.pytorch.num_interop_threads", Integer.toString(interopThreads));
        System.out.printf("load average at start: %s%n", Measure.loadAverage());

        StudySettings configured = StudySettingsMapping.from(config);
        StudySettings base = model == null ? configured
                : configured.withModel(new StudySettings.Model(Path.of(model), configured.model().name(), configured.model().version(),
                        configured.model().device()));
        StudySettings s = layers == null ? base : base.withEdits(base.edits().withLayers(layers));
        List<Fact> all = ModelSource.of(s.model().dir()).facts(factsFile);
        int needed = from + 1 + rounds * facts;
        if (needed > all.size()) {
            throw new IllegalArgumentException("need " + needed + " facts from index 0, have " + all.size());
        }
        Leftovers leftovers = new Leftovers();
        Runtime.getRuntime().addShutdownHook(leftovers.hook); // Ctrl-C, SIGTERM: the finally below does not run then
        try (FactStudyRunner runner = FactStudyRunner.open(s, System.err::println)) {
            leftovers.dir.set(Files.createTempDirectory("locus-bench-service-"));
            benchmark(runner, s, all, t, leftovers);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } finally {
            leftovers.close();
        }
    }

    /** The library warm-up, then the rounds (the child started after the first library batch), then the report. */
    private void benchmark(FactStudyRunner runner, StudySettings s, List<Fact> all, int t, Leftovers leftovers)
            throws IOException, InterruptedException {
        String layerText = Arrays.stream(runner.grid().layers()).mapToObj(Integer::toString).collect(Collectors.joining(","));
        System.out.printf("grid %s: model %s, methods %s, problems %s, layers [%s], samples %d, editing config %s%n", runner.grid().id(),
                runner.modelName(), runner.grid().methods(), runner.grid().problems(), layerText, runner.grid().samples(), runner.grid().editingConfig());
        Fact warmupFact = all.get(from);
        int libraryWarmupEvents = study(runner, warmupFact).events();
        printEngineThreads(t);
        List<Round> measured = new ArrayList<>();
        ChildService service = null;
        for (int round = 0; round < rounds; round++) {
            List<Fact> batch = all.subList(from + 1 + round * facts, from + 1 + (round + 1) * facts);
            List<LibraryFact> library = libraryBatch(runner, batch, round);
            if (service == null) {
                service = startService(leftovers, s, runner.grid(), t, runner.modelName());
                double warmS = service.submitAndWait(List.of(warmupFact), libraryWarmupEvents, runner.modelName());
                System.out.printf("service warm-up fact %s: %.1f s (not counted)%n", warmupFact.id(), warmS);
            }
            int results = library.stream().mapToInt(f -> f.work().events()).sum();
            Round r = new Round(library, serviceBatch(service, batch, results, runner.modelName()));
            measured.add(r);
            ServiceReport.printRound(round, r);
            System.out.println(service.breakdown(batch, config.topics()).line());
        }
        ServiceReport.printSummary(measured, rounds * facts);
        System.out.printf("load average at end: %s%n", Measure.loadAverage());
        if (service != null) {
            System.out.printf("service progress: %s%n", service.progress());
        }
    }

    private void printEngineThreads(int t) {
        int engineThreads = ai.djl.pytorch.jni.JniUtils.getNumThreads();
        int engineInterop = ai.djl.pytorch.jni.JniUtils.getNumInteropThreads();
        System.out.printf("threads: library process: PyTorch intra-op %d, inter-op %d (asked %d / %d)%n", engineThreads, engineInterop,
                t, interopThreads);
        if (engineThreads != t) {
            System.out.println("WARNING: the engine was set up before this command could set its threads");
        }
    }

    /** Each fact through the library, timed, with CPU of this process and of this (model) thread; a line as each ends. */
    private static List<LibraryFact> libraryBatch(FactStudyRunner runner, List<Fact> batch, int round) {
        List<LibraryFact> library = new ArrayList<>();
        for (Fact f : batch) {
            Work[] work = {null};
            long cpuBefore = processCpuNanos();
            long threadBefore = ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
            double ms = Measure.ms(() -> work[0] = study(runner, f));
            LibraryFact fact = new LibraryFact(f, work[0], ms, (processCpuNanos() - cpuBefore) / 1e9,
                    (ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() - threadBefore) / 1e9);
            ServiceReport.printLibraryFact(round, fact);
            library.add(fact);
        }
        return library;
    }

    /** The batch in one request to the child, until its view counts {@code results} more; its timers and CPU around that. */
    private static ServiceBatch serviceBatch(ChildService service, List<Fact> batch, int results, String model)
            throws IOException, InterruptedException {
        double[] workBefore = service.work();
        Map<String, Double> cpuBefore = service.threadCpu();
        double seconds = service.submitAndWait(batch, results, model);
        Map<String, Double> cpuAfter = service.threadCpu();
        double[] workAfter = service.work();
        Map<String, Double> byThread = new HashMap<>();
        cpuAfter.forEach((group, sec) -> byThread.put(group, sec - cpuBefore.getOrDefault(group, 0.0)));
        double cpuS = cpuAfter.values().stream().mapToDouble(Double::doubleValue).sum()
                - cpuBefore.values().stream().mapToDouble(Double::doubleValue).sum();
        return new ServiceBatch(results, seconds, workAfter[0] - workBefore[0], workAfter[1] - workBefore[1], byThread, cpuS);
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** Studies one fact through the library; the sink only counts events and adds up the durations they carry. */
    private static Work study(FactStudyRunner runner, Fact fact) {
        int[] n = {0};
        long[] ms = {0, 0};
        TraceOutcome outcome = runner.run(fact, e -> {
            n[0]++;
            if (e instanceof ResultEvent.Trace t) {
                ms[0] += t.durationMs();
            } else if (e instanceof ResultEvent.Edit edit) {
                ms[1] += edit.edit().durationMs();
            }
        });
        if (!(outcome instanceof CausalTrace)) {
            System.out.println("note: " + fact.id() + " was not analysed (skipped event only)");
        }
        return new Work(n[0], ms[0], ms[1]);
    }

    /** Starts the child on a free port with a fresh API key, waits until it is ready, and follows its live view. */
    private ChildService startService(Leftovers leftovers, StudySettings s, Grid grid, int t, String model)
            throws IOException, InterruptedException {
        Path jar = app != null ? app : ChildJvm.ownJar();
        int port = ChildJvm.freePort();
        String key = UUID.randomUUID().toString();
        Path tmp = leftovers.dir.get();
        Path log = tmp.resolve("service.log");
        // Its own in-process broker; the -D settings are its whole configuration.
        ProcessBuilder pb = ChildJvm.builder(childCommand(jar, tmp, s, grid, t, port, key)).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        long start = System.nanoTime();
        Process p = pb.start();
        leftovers.child.set(p);
        ChildService service = new ChildService(p, port, key, log, batchTimeout);
        service.awaitReady(start + startTimeout.toNanos(), startTimeout);
        double readyS = (System.nanoTime() - start) / 1e9;
        service.follow(model);
        System.out.printf("service: pid %d, http://127.0.0.1:%d, ready after %.1f s; %s%n", service.pid(), port, readyS,
                service.threadsLine());
        return service;
    }

    /** The child's command line: this JVM's settings, the same threads, the same study settings, its own broker and port. */
    private List<String> childCommand(Path jar, Path tmp, StudySettings s, Grid grid, int t, int port, String key) {
        List<String> cmd = ChildJvm.java();
        cmd.add("-Djava.io.tmpdir=" + tmp); // the child's broker data goes here and is deleted with it
        cmd.add("-Dai.djl.pytorch.num_threads=" + t);
        cmd.add("-Dai.djl.pytorch.num_interop_threads=" + interopThreads);
        cmd.add("-Dquarkus.log.category.\"ai.djl.pytorch\".level=INFO"); // the engine logs its thread counts
        cmd.add("-Dquarkus.http.port=" + port);
        cmd.add("-Dquarkus.http.host=127.0.0.1");
        cmd.add("-Dlocus.role=both");
        cmd.add("-Dlocus.demo.publish-testbed-facts=false");
        cmd.add("-Dlocus.worker.versions=deployed"); // the demo's default (announced versions) would leave the posted facts unread
        cmd.add("-Dlocus.api.keys=" + key);
        cmd.add("-Dlocus.topics.facts=" + config.topics().facts());
        cmd.add("-Dlocus.topics.results=" + config.topics().results());
        studyOptions(cmd, s, grid);
        cmd.add("-jar");
        cmd.add(jar.toString());
        return cmd;
    }

    /** The grid as resolved by the library's runner (protocol and overrides) and the model and editing settings as -D options. */
    static void studyOptions(List<String> cmd, StudySettings s, Grid grid) {
        if (grid.protocol() != null) {
            cmd.add("-Dlocus.grid.protocol=" + grid.protocol());
        }
        cmd.add("-Dlocus.grid.methods=" + String.join(",", grid.methods()));
        cmd.add("-Dlocus.grid.problems=" + String.join(",", grid.problems()));
        cmd.add("-Dlocus.grid.layers=" + Arrays.stream(grid.layers()).mapToObj(Integer::toString).collect(Collectors.joining(",")));
        cmd.add("-Dlocus.tracing.samples=" + grid.samples());
        cmd.add("-Dlocus.tracing.seed=" + grid.seed());
        cmd.add("-Dlocus.tracing.min-p-clean=" + grid.minPClean());
        cmd.add("-Dlocus.tracing.known-continuation=" + (grid.knownContinuation() == null ? 0 : grid.knownContinuation()));
        grid.windows().forEach((kind, w) -> cmd.add("-Dlocus.tracing.windows." + kind + "=" + w));
        cmd.add("-Dlocus.tracing.noise-sigma=" + grid.noiseSigma());
        if (s.model().dir() != null) {
            String dir = s.model().dir().toString();
            cmd.add("-Dlocus.model.dir=" + (Testbed.named(dir).isPresent() ? dir : s.model().dir().toAbsolutePath()));
        }
        if (s.model().name() != null) {
            cmd.add("-Dlocus.model.name=" + s.model().name());
        }
        cmd.add("-Dlocus.editing.config=" + grid.editingConfig());
        if (s.editing().corpus() != null) {
            cmd.add("-Dlocus.editing.corpus=" + s.editing().corpus().toAbsolutePath());
        }
        cmd.add("-Dlocus.editing.cache=" + s.editing().cacheDir().toAbsolutePath());
        cmd.add("-Dlocus.editing.batch-rows=" + s.editing().batchRows());
        // Only the essence settings that are set: the rest are the protocol's, and a "null" would not convert (the child exits).
        StudySettings.EssenceSet essence = s.editing().essence();
        Map<String, Object> set = new LinkedHashMap<>();
        set.put("essence", essence.enabled());
        set.put("essence-samples", essence.samples());
        set.put("essence-length", essence.length());
        set.put("essence-top-k", essence.topK());
        set.forEach((name, value) -> {
            if (value != null) {
                cmd.add("-Dlocus.editing." + name + "=" + value);
            }
        });
    }

    /**
     * The child and the scratch directory (its broker's data, its log), undone on every way out: by {@link #close}
     * from run's finally, or by the shutdown hook on Ctrl-C / SIGTERM, when that finally does not run.
     */
    private final class Leftovers {
        final AtomicReference<Process> child = new AtomicReference<>();
        final AtomicReference<Path> dir = new AtomicReference<>();
        final Thread hook = new Thread(() -> {
            ChildJvm.stop(child.get());
            if (dir.get() != null) {
                Measure.deleteTree(dir.get());
            }
        }, "locus-bench-service-killer");

        void close() {
            ChildJvm.stop(child.get());
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs anyway
            }
            if (dir.get() != null) {
                keepServiceLog(dir.get().resolve("service.log"));
                Measure.deleteTree(dir.get());
            }
        }

        private void keepServiceLog(Path log) {
            if (keepLog && Files.exists(log)) {
                try {
                    Path kept = Files.createTempFile("locus-bench-service-", ".log");
                    Files.copy(log, kept, StandardCopyOption.REPLACE_EXISTING);
                    System.out.println("service log: " + kept);
                } catch (IOException e) {
                    System.err.println("could not keep the service log: " + e);
                }
            }
        }
    }
}
