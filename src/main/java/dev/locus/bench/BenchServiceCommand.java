package dev.locus.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.config.LocusConfig;
import dev.locus.facts.Fact;
import dev.locus.facts.FactIntake;
import dev.locus.facts.FactsJsonl;
import dev.locus.study.FactStudyRunner;
import dev.locus.stream.FactWorker;
import dev.locus.study.ResultEvent;
import dev.locus.study.StudySettings;
import dev.locus.testbed.Testbed;
import dev.locus.tracing.CausalTrace;
import dev.locus.tracing.TraceOutcome;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
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
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    LocusConfig config;

    @Option(names = "--facts", defaultValue = "5", description = "timed facts per round (default: ${DEFAULT-VALUE})")
    int facts;

    @Option(names = "--rounds", defaultValue = "1", description = "rounds of library batch then service batch, each on fresh facts (default: ${DEFAULT-VALUE})")
    int rounds;

    @Option(names = "--from", defaultValue = "1",
            description = "index of the warm-up fact among the facts; the timed ones follow it (default: ${DEFAULT-VALUE})")
    int from;

    @Option(names = "--facts-file", description = "facts (JSON lines) instead of the testbed's own")
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

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Override
    public void run() {
        int t = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        // Before the engine loads (nothing has loaded it in a command); checked below all the same.
        System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(t));
        System.setProperty("ai.djl.pytorch.num_interop_threads", Integer.toString(interopThreads));
        System.out.printf("load average at start: %s%n", Measure.loadAverage());

        StudySettings base = FactWorker.settings(config);
        StudySettings s = layers == null ? base : base.withEdits(base.edits().withLayers(layers));
        List<Fact> all = facts();
        int needed = from + 1 + rounds * facts;
        if (needed > all.size()) {
            throw new IllegalArgumentException("need " + needed + " facts from index 0, have " + all.size());
        }
        Fact warmupFact = all.get(from);

        AtomicReference<Process> child = new AtomicReference<>();
        AtomicReference<Path> tmpDir = new AtomicReference<>();
        Thread killer = new Thread(() -> {
            stop(child.get());
            if (tmpDir.get() != null) {
                Measure.deleteTree(tmpDir.get());
            }
        }, "locus-bench-service-killer");
        Runtime.getRuntime().addShutdownHook(killer); // Ctrl-C, SIGTERM: the finally below does not run then
        Path tmp = null;
        try (FactStudyRunner runner = FactStudyRunner.open(s, System.err::println)) {
            tmp = Files.createTempDirectory("locus-bench-service-");
            tmpDir.set(tmp);
            String layerText = Arrays.stream(runner.grid().layers()).mapToObj(Integer::toString).collect(Collectors.joining(","));
            System.out.printf("grid %s: model %s, methods %s, problems %s, layers [%s], samples %d, editing config %s%n", runner.grid().id(),
                    runner.modelName(), runner.grid().methods(), runner.grid().problems(), layerText, s.tracing().samples(), s.editing().config());
            int libraryWarmupEvents = study(runner, warmupFact).events();
            int engineThreads = ai.djl.pytorch.jni.JniUtils.getNumThreads();
            int engineInterop = ai.djl.pytorch.jni.JniUtils.getNumInteropThreads();
            System.out.printf("threads: library process: PyTorch intra-op %d, inter-op %d (asked %d / %d)%n", engineThreads, engineInterop,
                    t, interopThreads);
            if (engineThreads != t) {
                System.out.println("WARNING: the engine was set up before this command could set its threads");
            }

            List<Double> libraryMs = new ArrayList<>();
            List<Double> serviceMs = new ArrayList<>();
            double[] libraryWork = {0, 0}; // trace, edit ms as the events report them
            double[] serviceWork = {0, 0};
            List<Double> roundOverheads = new ArrayList<>();
            double[] libraryCpu = {0, 0}; // process, this (model) thread, seconds
            Map<String, Double> serviceCpu = new java.util.TreeMap<>(); // thread group -> seconds
            Service service = null;
            for (int round = 0; round < rounds; round++) {
                List<Fact> batch = all.subList(from + 1 + round * facts, from + 1 + (round + 1) * facts);
                int expected = 0;
                double libraryBatchMs = 0;
                double libraryBatchCpu = libraryCpu[0];
                for (Fact f : batch) {
                    Work[] work = {null};
                    long cpuBefore = processCpuNanos();
                    long threadBefore = ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
                    double ms = Measure.ms(() -> work[0] = study(runner, f));
                    libraryCpu[0] += (processCpuNanos() - cpuBefore) / 1e9;
                    libraryCpu[1] += (ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() - threadBefore) / 1e9;
                    expected += work[0].events();
                    libraryWork[0] += work[0].traceMs();
                    libraryWork[1] += work[0].editMs();
                    libraryMs.add(ms);
                    libraryBatchMs += ms;
                    System.out.printf("round %d library  %-10s %9.0f ms  (%d results; trace %.0f ms, edits %.0f ms)%n", round + 1, f.id(), ms,
                            work[0].events(), work[0].traceMs(), work[0].editMs());
                }
                if (service == null) {
                    service = startService(child, tmp, s, runner.grid().layers(), t, runner.modelName());
                    System.out.printf("service: pid %d, http://127.0.0.1:%d, ready after %.1f s; %s%n", service.process.pid(), service.port,
                            service.readyS, service.threadsLine());
                    double warmS = service.submitAndWait(List.of(warmupFact), libraryWarmupEvents, runner.modelName());
                    System.out.printf("service warm-up fact %s: %.1f s (not counted)%n", warmupFact.id(), warmS);
                }
                double[] workBefore = service.work();
                Map<String, Double> cpuBefore = threadCpu(service.process.pid());
                double seconds = service.submitAndWait(batch, expected, runner.modelName());
                Map<String, Double> cpuAfter = threadCpu(service.process.pid());
                double[] workAfter = service.work();
                cpuAfter.forEach((group, sec) -> serviceCpu.merge(group, sec - cpuBefore.getOrDefault(group, 0.0), Double::sum));
                serviceWork[0] += workAfter[0] - workBefore[0];
                serviceWork[1] += workAfter[1] - workBefore[1];
                serviceMs.add(seconds * 1000);
                roundOverheads.add(seconds * 1000 / libraryBatchMs - 1);
                double roundLibraryCpu = libraryCpu[0] - libraryBatchCpu;
                double roundServiceCpu = cpuAfter.values().stream().mapToDouble(Double::doubleValue).sum()
                        - cpuBefore.values().stream().mapToDouble(Double::doubleValue).sum();
                System.out.printf("round %d service  %d facts  %9.0f ms  = %.0f ms per fact  (%d results; trace %.0f ms, edits %.0f ms)"
                        + "  round overhead %+.1f %%; CPU library %.1f s, service %.1f s (%+.1f %%)%n", round + 1, batch.size(), seconds * 1000,
                        seconds * 1000 / batch.size(), expected, workAfter[0] - workBefore[0], workAfter[1] - workBefore[1],
                        100 * roundOverheads.get(round), roundLibraryCpu, roundServiceCpu, 100 * (roundServiceCpu / roundLibraryCpu - 1));
                service.breakdown(batch);
            }
            double libraryPerFact = libraryMs.stream().mapToDouble(Double::doubleValue).sum() / libraryMs.size();
            double servicePerFact = serviceMs.stream().mapToDouble(Double::doubleValue).sum() / (rounds * facts);
            System.out.println();
            System.out.printf("library  per fact: %8.0f ms  (mean of %d facts; median %.0f ms)%n", libraryPerFact, libraryMs.size(),
                    Measure.median(libraryMs));
            System.out.printf("service  per fact: %8.0f ms  (batch time / %d facts, submission until the aggregator's view counts all results)%n",
                    servicePerFact, rounds * facts);
            System.out.printf("service overhead: %+.1f %% (service / library - 1; target <= 10 %%)%s%n", 100 * (servicePerFact / libraryPerFact - 1),
                    rounds > 1 ? String.format("; median of the %d paired rounds %+.1f %%", rounds, 100 * Measure.median(roundOverheads)) : "");
            int n = rounds * facts;
            double libraryRest = libraryPerFact - (libraryWork[0] + libraryWork[1]) / n;
            double serviceRest = servicePerFact - (serviceWork[0] + serviceWork[1]) / n;
            System.out.printf("per fact, as the results report it:   trace %7.0f ms  edits %8.0f ms  rest %7.0f ms  (library)%n",
                    libraryWork[0] / n, libraryWork[1] / n, libraryRest);
            System.out.printf("                                      trace %7.0f ms  edits %8.0f ms  rest %7.0f ms  (service; rest = wall - trace - edits:"
                    + " setup, publishing, Kafka, aggregator)%n", serviceWork[0] / n, serviceWork[1] / n, serviceRest);
            double libraryRatio = libraryPerFact / ((libraryWork[0] + libraryWork[1]) / n);
            double serviceRatio = servicePerFact / ((serviceWork[0] + serviceWork[1]) / n);
            System.out.printf("wall / (trace + edits): library %.4f, service %.4f -> overhead beyond the model work %+.2f %% "
                    + "(blind to the load's effect on the model work itself)%n", libraryRatio, serviceRatio, 100 * (serviceRatio / libraryRatio - 1));
            double serviceTotal = serviceCpu.values().stream().mapToDouble(Double::doubleValue).sum();
            System.out.printf("CPU per fact: library process %.1f s (model thread %.1f s); service process %.1f s -> CPU overhead %+.1f %%%n",
                    libraryCpu[0] / n, libraryCpu[1] / n, serviceTotal / n, 100 * (serviceTotal / libraryCpu[0] - 1));
            System.out.println("service CPU per fact by thread: " + serviceCpu.entrySet().stream()
                    .sorted(Map.Entry.<String, Double>comparingByValue().reversed()).limit(8)
                    .map(e -> String.format("%s %.2f s", e.getKey(), e.getValue() / n)).collect(Collectors.joining(", ")));
            System.out.printf("load average at end: %s%n", Measure.loadAverage());
            if (service != null) {
                service.printRejected();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } finally {
            stop(child.get());
            try {
                Runtime.getRuntime().removeShutdownHook(killer);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs anyway
            }
            if (tmp != null) {
                Path log = tmp.resolve("service.log");
                if (keepLog && Files.exists(log)) {
                    try {
                        Path kept = Files.createTempFile("locus-bench-service-", ".log");
                        Files.copy(log, kept, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                        System.out.println("service log: " + kept);
                    } catch (IOException e) {
                        System.err.println("could not keep the service log: " + e);
                    }
                }
                Measure.deleteTree(tmp);
            }
        }
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /**
     * CPU seconds (user + system) of a process's live threads, summed by thread name without its number (Linux /proc,
     * 100 ticks a second; empty elsewhere). Threads that end between two readings are lost, which only undercounts.
     */
    static Map<String, Double> threadCpu(long pid) {
        Map<String, Double> out = new java.util.HashMap<>();
        try (var tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : tasks.toList()) {
                try {
                    String stat = Files.readString(task.resolve("stat"));
                    String name = Files.readString(task.resolve("comm")).strip().replaceAll("[-#_ ]*\\d+$", "");
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    out.merge(name, (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0, Double::sum);
                } catch (IOException | RuntimeException gone) {
                    // the thread ended meanwhile
                }
            }
        } catch (IOException e) {
            // not Linux, or the process is gone
        }
        return out;
    }

    private List<Fact> facts() {
        if (factsFile == null) {
            return Testbed.facts();
        }
        try {
            return FactsJsonl.read(factsFile);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + factsFile, e);
        }
    }

    /** What one fact made through the library: result events, and the trace and edit time they report. */
    private record Work(int events, double traceMs, double editMs) {}

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

    /** Graceful stop (SIGTERM: Quarkus closes its clients, then the launcher its broker), then a kill after 30 s. */
    private static void stop(Process p) {
        if (p == null || !p.isAlive()) {
            return;
        }
        p.destroy();
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private Service startService(AtomicReference<Process> holder, Path tmp, StudySettings s, int[] gridLayers, int t, String model)
            throws IOException, InterruptedException {
        Path jar = app != null ? app : ownJar();
        int port = freePort();
        String key = UUID.randomUUID().toString();
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            // Heap and other JVM settings alike; not the ones set below, nor debugging agents.
            if ((arg.startsWith("-X") || arg.startsWith("-D")) && !arg.startsWith("-Dlocus.") && !arg.startsWith("-Dquarkus.")
                    && !arg.startsWith("-Dai.djl.pytorch.num_") && !arg.startsWith("-Djava.io.tmpdir") && !arg.startsWith("-Dkafka.")) {
                cmd.add(arg);
            }
        }
        cmd.add("-Djava.io.tmpdir=" + tmp); // the child's broker data goes here and is deleted with it
        cmd.add("-Dai.djl.pytorch.num_threads=" + t);
        cmd.add("-Dai.djl.pytorch.num_interop_threads=" + interopThreads);
        cmd.add("-Dquarkus.log.category.\"ai.djl.pytorch\".level=INFO"); // the engine logs its thread counts
        cmd.add("-Dquarkus.http.port=" + port);
        cmd.add("-Dquarkus.http.host=127.0.0.1");
        cmd.add("-Dlocus.role=both");
        cmd.add("-Dlocus.demo.publish-testbed-facts=false");
        cmd.add("-Dlocus.api.keys=" + key);
        cmd.add("-Dlocus.topics.facts=" + config.topics().facts());
        cmd.add("-Dlocus.topics.results=" + config.topics().results());
        cmd.add("-Dlocus.grid.methods=" + String.join(",", s.edits().methods()));
        cmd.add("-Dlocus.grid.problems=" + String.join(",", s.edits().problems()));
        cmd.add("-Dlocus.grid.layers=" + Arrays.stream(gridLayers).mapToObj(Integer::toString).collect(Collectors.joining(",")));
        cmd.add("-Dlocus.tracing.samples=" + s.tracing().samples());
        cmd.add("-Dlocus.tracing.seed=" + s.tracing().seed());
        cmd.add("-Dlocus.tracing.min-p-clean=" + s.tracing().minPClean());
        s.tracing().windows().forEach((kind, w) -> cmd.add("-Dlocus.tracing.windows." + kind + "=" + w));
        if (!Double.isNaN(s.tracing().noiseSigma())) {
            cmd.add("-Dlocus.tracing.noise-sigma=" + s.tracing().noiseSigma());
        }
        if (s.tracing().noiseSubjects() != null) {
            cmd.add("-Dlocus.tracing.noise-subjects=" + s.tracing().noiseSubjects().toAbsolutePath());
        }
        if (s.model().dir() != null) {
            cmd.add("-Dlocus.model.dir=" + s.model().dir().toAbsolutePath());
        }
        if (s.model().name() != null) {
            cmd.add("-Dlocus.model.name=" + s.model().name());
        }
        cmd.add("-Dlocus.editing.config=" + s.editing().config());
        if (s.editing().corpus() != null) {
            cmd.add("-Dlocus.editing.corpus=" + s.editing().corpus().toAbsolutePath());
        }
        cmd.add("-Dlocus.editing.cache=" + s.editing().cacheDir().toAbsolutePath());
        cmd.add("-jar");
        cmd.add(jar.toString());
        Path log = tmp.resolve("service.log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = pb.environment();
        env.remove("KAFKA_BOOTSTRAP_SERVERS"); // its own in-process broker
        env.keySet().removeIf(k -> k.startsWith("LOCUS_")); // the -D settings above are the whole configuration
        long start = System.nanoTime();
        Process p = pb.start();
        holder.set(p);
        Service service = new Service(p, port, key, log);
        service.awaitReady(start + startTimeout.toNanos());
        service.readyS = (System.nanoTime() - start) / 1e9;
        service.follow(model);
        return service;
    }

    private static Path ownJar() {
        try {
            // Fast-jar layout: quarkus-app/app/<application>.jar next to quarkus-app/quarkus-run.jar.
            Path code = Path.of(BenchServiceCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            for (Path dir = code.getParent(); dir != null; dir = dir.getParent()) {
                Path run = dir.resolve("quarkus-run.jar");
                if (Files.isRegularFile(run)) {
                    return run;
                }
            }
            throw new IllegalStateException("no quarkus-run.jar above " + code + "; pass --app");
        } catch (URISyntaxException | RuntimeException e) {
            throw new IllegalStateException("cannot find this application's quarkus-run.jar (pass --app): " + e.getMessage(), e);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /** The running child service and how to talk to it. */
    private final class Service {
        final Process process;
        final int port;
        final String key;
        final Path log;
        double readyS;

        Service(Process process, int port, String key, Path log) {
            this.process = process;
            this.port = port;
            this.key = key;
            this.log = log;
        }

        void awaitReady(long deadline) throws InterruptedException {
            while (true) {
                alive();
                try {
                    if (get("/q/health/ready").statusCode() == 200) {
                        return;
                    }
                } catch (IOException notYet) {
                    // not listening yet
                }
                if (System.nanoTime() > deadline) {
                    throw failure("the service was not ready within " + startTimeout);
                }
                Thread.sleep(500);
            }
        }

        long postedAtMillis;
        long doneAtMillis;

        /** The model's results in the aggregator's view as last streamed by /api/stats/stream; -1 before the first event. */
        private final java.util.concurrent.atomic.AtomicLong streamed = new java.util.concurrent.atomic.AtomicLong(-1);
        private final Object changed = new Object();

        /**
         * Follows /api/stats/stream (server-sent events: the current view, then every change) on a daemon thread, so
         * waiting for a batch costs the service no polling, and the end of a batch is seen as soon as it is counted.
         */
        void follow(String model) {
            Thread reader = new Thread(() -> {
                try {
                    http.send(HttpRequest.newBuilder(uri("/api/stats/stream")).header("Accept", "text/event-stream").GET().build(),
                            HttpResponse.BodyHandlers.ofLines()).body().forEach(line -> {
                                if (line.startsWith("data:")) {
                                    try {
                                        streamed.set(count(JSON.readTree(line.substring(5)), model));
                                    } catch (IOException e) {
                                        System.err.println("unreadable stats event: " + e.getMessage());
                                    }
                                    synchronized (changed) {
                                        changed.notifyAll();
                                    }
                                }
                            });
                } catch (IOException | java.io.UncheckedIOException e) {
                    // the service went away
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "locus-bench-stats-stream");
            reader.setDaemon(true);
            reader.start();
        }

        /**
         * Waits until the streamed count reaches {@code target} (at least 0: the first event) or the deadline passes;
         * fails at once when the service exits or, checked every 5 s, stops being ready (e.g. its facts channel failed).
         */
        private void awaitStreamed(long target, long deadline, String what) throws InterruptedException {
            long nextHealth = System.nanoTime() + 5_000_000_000L;
            while (true) {
                synchronized (changed) {
                    if (streamed.get() >= Math.max(target, 0)) {
                        return;
                    }
                    changed.wait(200);
                }
                alive();
                if (System.nanoTime() > deadline) {
                    throw failure(what);
                }
                if (System.nanoTime() > nextHealth) {
                    nextHealth = System.nanoTime() + 5_000_000_000L;
                    try {
                        HttpResponse<String> health = get("/q/health/ready");
                        if (health.statusCode() != 200) {
                            throw failure("the service is no longer ready (" + health.statusCode() + "): " + health.body());
                        }
                    } catch (IOException e) {
                        throw failure("the service does not answer: " + e);
                    }
                }
            }
        }

        /** Posts the facts in one request; seconds until the aggregator's view counts {@code results} more results of the model. */
        double submitAndWait(List<Fact> batch, int results, String model) throws IOException, InterruptedException {
            awaitStreamed(0, System.nanoTime() + 30_000_000_000L, "no event from /api/stats/stream within 30 s");
            long before = streamed.get();
            if (counted(model) != before) {
                throw failure("/api/stats counts " + counted(model) + " results, its stream " + before);
            }
            String body = batch.stream().map(FactIntake::json).collect(Collectors.joining("\n"));
            postedAtMillis = System.currentTimeMillis();
            long start = System.nanoTime();
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(uri("/api/facts")).header("X-API-Key", key)
                    .header("Content-Type", "application/x-ndjson").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 202) {
                throw failure("POST /api/facts answered " + response.statusCode() + ": " + response.body());
            }
            awaitStreamed(before + results, start + batchTimeout.toNanos(), "the service did not count the batch's " + results
                    + " results within " + batchTimeout);
            doneAtMillis = System.currentTimeMillis();
            double seconds = (System.nanoTime() - start) / 1e9;
            if (counted(model) != before + results) {
                throw failure("/api/stats counts " + (counted(model) - before) + " new results, expected " + results);
            }
            return seconds;
        }

        /** Results of the model in the aggregator's view: traces, skipped facts and edits. */
        long counted(String model) throws IOException, InterruptedException {
            HttpResponse<String> response = get("/api/stats");
            if (response.statusCode() != 200) {
                throw failure("GET /api/stats answered " + response.statusCode());
            }
            return count(JSON.readTree(response.body()), model);
        }

        private static long count(JsonNode stats, String model) {
            long n = 0;
            for (JsonNode group : stats.path("groups")) {
                if (group.path("model").asText().equals(model)) {
                    n += group.path("traced").asLong() + group.path("skipped").asLong() + group.path("edits").asLong();
                }
            }
            return n;
        }

        /** Seconds -> ms of trace and edit time the worker has recorded so far (its Micrometer timers, from /q/metrics). */
        double[] work() throws IOException, InterruptedException {
            double[] out = {0, 0};
            for (String line : get("/q/metrics").body().split("\n")) {
                if (line.startsWith("locus_trace_duration_seconds_sum")) {
                    out[0] += 1000 * Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                } else if (line.startsWith("locus_edit_duration_seconds_sum")) {
                    out[1] += 1000 * Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
            return out;
        }

        /**
         * Where the last batch's time went, from the record timestamps (set by each producer at send) on the child's
         * topics, read after the batch and outside its timing: HTTP until the facts are on the facts topic; the
         * worker's wait before each fact (consumer, intake); the time in each fact beyond its trace and edits
         * (evaluator setup, JSON, waiting for each result's acknowledgement); last result until /api/stats counted it.
         */
        void breakdown(List<Fact> batch) {
            java.util.regex.Matcher m;
            try {
                m = java.util.regex.Pattern.compile("connected to Kafka brokers '([^']+)'").matcher(Files.readString(log));
            } catch (IOException e) {
                System.out.println("breakdown unavailable: " + e);
                return;
            }
            if (!m.find()) {
                System.out.println("breakdown unavailable: no broker address in the service's log");
                return;
            }
            java.util.Set<String> ids = batch.stream().map(Fact::id).collect(Collectors.toSet());
            Map<String, Long> factAt = new java.util.HashMap<>();
            Map<String, long[]> perFact = new java.util.HashMap<>(); // trace sent, trace ms, edit ms, last result sent, results
            for (var r : readAll(m.group(1), config.topics().facts())) {
                if (ids.contains(r.key())) {
                    factAt.merge(r.key(), r.timestamp(), Math::min);
                }
            }
            for (var r : readAll(m.group(1), config.topics().results())) {
                try {
                    JsonNode e = JSON.readTree(r.value());
                    String fact = e.path("fact_id").asText();
                    if (!ids.contains(fact)) {
                        continue;
                    }
                    long[] f = perFact.computeIfAbsent(fact, k -> new long[5]);
                    switch (e.path("type").asText()) {
                        case "trace" -> {
                            f[0] = r.timestamp();
                            f[1] = e.path("duration_ms").asLong();
                        }
                        case "edit" -> f[2] += e.path("edit").path("duration_ms").asLong();
                        default -> { }
                    }
                    f[3] = Math.max(f[3], r.timestamp());
                    f[4]++;
                } catch (IOException e) {
                    System.out.println("breakdown: unreadable result: " + e.getMessage());
                }
            }
            if (perFact.size() != batch.size() || factAt.size() != batch.size()) {
                System.out.printf("breakdown unavailable: found %d facts and results of %d of the %d facts%n", factAt.size(), perFact.size(),
                        batch.size());
                return;
            }
            List<String> order = new ArrayList<>(ids);
            order.sort(java.util.Comparator.comparingLong(id -> perFact.get(id)[0] - perFact.get(id)[1]));
            long published = factAt.values().stream().mapToLong(Long::longValue).max().orElseThrow();
            long waited = 0;
            long inFact = 0;
            long previousEnd = 0;
            StringBuilder gaps = new StringBuilder();
            for (String id : order) {
                long[] f = perFact.get(id);
                long start = f[0] - f[1];
                long gap = start - Math.max(previousEnd, factAt.get(id));
                waited += gap;
                gaps.append(gaps.length() == 0 ? "" : ", ").append(gap);
                inFact += (f[3] - start) - f[1] - f[2];
                previousEnd = f[3];
            }
            System.out.printf("  breakdown (ms, whole batch): HTTP until the facts are published %d; worker waiting for a fact %d [%s]; "
                            + "in facts beyond trace + edits %d (%.1f per result); last result sent until counted in /api/stats %d%n",
                    published - postedAtMillis, waited, gaps, inFact, (double) inFact / perFact.values().stream().mapToLong(f -> f[4]).sum(),
                    doneAtMillis - previousEnd);
        }

        private List<org.apache.kafka.clients.consumer.ConsumerRecord<String, String>> readAll(String bootstrap, String topic) {
            List<org.apache.kafka.clients.consumer.ConsumerRecord<String, String>> out = new ArrayList<>();
            Map<String, Object> props = Map.of("bootstrap.servers", bootstrap,
                    "key.deserializer", org.apache.kafka.common.serialization.StringDeserializer.class.getName(),
                    "value.deserializer", org.apache.kafka.common.serialization.StringDeserializer.class.getName());
            try (var c = new org.apache.kafka.clients.consumer.KafkaConsumer<String, String>(props)) {
                List<org.apache.kafka.common.TopicPartition> parts = c.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                        .map(i -> new org.apache.kafka.common.TopicPartition(topic, i.partition())).toList();
                c.assign(parts);
                c.seekToBeginning(parts);
                Map<org.apache.kafka.common.TopicPartition, Long> end = c.endOffsets(parts);
                long deadline = System.nanoTime() + 60_000_000_000L;
                while (parts.stream().anyMatch(p -> c.position(p) < end.get(p)) && System.nanoTime() < deadline) {
                    c.poll(Duration.ofMillis(200)).forEach(out::add);
                }
            }
            return out;
        }

        void printRejected() throws IOException, InterruptedException {
            JsonNode progress = JSON.readTree(get("/api/stats").body()).path("progress");
            System.out.printf("service progress: %s%n", progress);
        }

        String threadsLine() {
            try {
                return Files.readAllLines(log).stream().filter(l -> l.contains("Number of in")).map(l -> l.replaceAll(".*(Number of)", "$1"))
                        .collect(Collectors.joining("; ", "service process: ", ""));
            } catch (IOException e) {
                return "service process threads unknown: " + e;
            }
        }

        private HttpResponse<String> get(String path) throws IOException, InterruptedException {
            return http.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
        }

        private URI uri(String path) {
            return URI.create("http://127.0.0.1:" + port + path);
        }

        private void alive() {
            if (!process.isAlive()) {
                throw failure("the service exited with code " + process.exitValue());
            }
        }

        private IllegalStateException failure(String message) {
            String tail;
            try {
                List<String> lines = Files.readAllLines(log);
                tail = String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
            } catch (IOException e) {
                tail = "(no log: " + e + ")";
            }
            return new IllegalStateException(message + "; last lines of the service's log:\n" + tail);
        }
    }
}
