package dev.locus.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import dev.locus.chaos.Deployment.Part;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The chaos experiment: the testbed's facts through the deployed shape (broker, aggregator, worker as separate JVMs)
 * twice, once without faults and once with SIGKILLs at seeded random moments, and what came out of both compared
 * ({@link ChaosReport}). The kills: a worker mid-fact (after a fact's trace is out, before its last edit), an aggregator
 * between a count and the snapshot that would cover it (so that the restarted one must read those results again), a
 * broker (restarted on its data directory after a seeded pause). Each kill waits for the one before to have recovered.
 * The grid is ROME on error injection at the given layers: one trace and one edit per layer for each fact.
 */
public final class ChaosExperiment {
    private static final String AGGREGATOR_ID = "default";
    private static final Pattern RESUMED = Pattern.compile("restored \\d+ group\\(s\\) from \\S+; resuming \\S+ at \\{([^}]*)}");

    /** What to run: facts {@code from} .. {@code from + facts - 1} of the testbed, the kills, where to keep logs and data. */
    public record Settings(int facts, int from, int[] layers, long seed, int workerKills, int aggregatorKills, int brokerKills,
                           Path work, Path jar, Duration timeout) {
        public Settings {
            if (facts < 1 || from < 0) {
                throw new IllegalArgumentException("need at least one fact from index 0 on: --facts " + facts + " --from " + from);
            }
            if (layers.length == 0) {
                throw new IllegalArgumentException("give at least one layer to edit (--layers)");
            }
            if (workerKills < 0 || aggregatorKills < 0 || brokerKills < 0) {
                throw new IllegalArgumentException("kill counts cannot be negative");
            }
            if (!Files.isRegularFile(jar)) {
                throw new IllegalArgumentException("no application jar at " + jar + ": build it with ./mvnw package -DskipTests");
            }
        }

        int resultsPerFact() {
            return 1 + layers.length;
        }
    }

    /** One planned kill: of what, after how many new results, how long after that, and (a broker) how long it stays down. */
    public record Kill(Part part, int afterResults, long delayMillis, long downMillis) {
        @Override
        public String toString() {
            return part.name().toLowerCase() + " after " + afterResults + " new result(s) + " + delayMillis + " ms"
                    + (part == Part.BROKER ? ", down " + downMillis + " ms" : "");
        }
    }

    /** A kill as it happened: when (seconds into the run), what it hit, and how long until things moved again. */
    public record Struck(Kill kill, double atSeconds, String detail, boolean asIntended, double recoverySeconds) {}

    /** One run: the aggregator's final view and progress, every record of the results topic, the kills, the time taken. */
    public record Outcome(String name, JsonNode groups, JsonNode progress, List<TopicTail.Result> results, List<Struck> kills, double seconds) {}

    private final Settings settings;
    private final Consumer<String> log;

    public ChaosExperiment(Settings settings, Consumer<String> log) {
        this.settings = settings;
        this.log = log;
    }

    /** The kills in a seeded random order with seeded triggers. */
    public static List<Kill> plan(Settings s) {
        Random random = new Random(s.seed());
        List<Part> parts = new ArrayList<>();
        parts.addAll(Collections.nCopies(s.workerKills(), Part.WORKER));
        parts.addAll(Collections.nCopies(s.aggregatorKills(), Part.AGGREGATOR));
        parts.addAll(Collections.nCopies(s.brokerKills(), Part.BROKER));
        Collections.shuffle(parts, random);
        return parts.stream().map(p -> new Kill(p, 1 + random.nextInt(3), random.nextInt(600), 1000 + random.nextInt(2000))).toList();
    }

    public ChaosReport run() throws IOException, InterruptedException {
        List<String> facts = testbedFacts(settings.from(), settings.facts());
        List<Kill> plan = plan(settings);
        log.accept("chaos: " + facts.size() + " testbed facts from index " + settings.from() + ", ROME x error_injection at layers "
                + layerList() + ", seed " + settings.seed() + "; kills planned: " + plan);
        for (String run : List.of("fault-free", "chaos")) {
            if (Files.exists(settings.work().resolve(run))) {
                throw new IllegalArgumentException(settings.work().resolve(run) + " exists (a run's broker data and logs): pick another --work");
            }
        }
        Files.createDirectories(settings.work());
        Path cache = settings.work().resolve("cache");
        Outcome faultFree = once("fault-free", facts, List.of(), cache);
        Outcome chaos = once("chaos", facts, plan, cache);
        return new ChaosReport(settings, plan, faultFree, chaos);
    }

    private Outcome once(String name, List<String> facts, List<Kill> plan, Path cache) throws IOException, InterruptedException {
        long start = System.nanoTime();
        long deadline = start + settings.timeout().toNanos();
        try (Deployment d = new Deployment(settings.jar(), settings.work().resolve(name), cache, layerList())) {
            for (Part part : Part.values()) {
                d.start(part);
            }
            log.accept(name + ": broker, aggregator and worker ready after " + fmt(seconds(start)) + " s (logs in " + settings.work().resolve(name) + ")");
            try (TopicTail tail = new TopicTail(d.bootstrap(), "locus.results", "locus.stats", AGGREGATOR_ID).start()) {
                d.submit(facts);
                List<Struck> kills = new ArrayList<>();
                for (Kill kill : plan) {
                    Struck s = strike(d, tail, kill, facts.size(), start, deadline);
                    log.accept(name + ": " + (s == null ? kill + ": not done, every fact was finished first"
                            : "SIGKILL " + kill.part().name().toLowerCase() + " at " + fmt(s.atSeconds()) + " s: " + s.detail()));
                    if (s != null) {
                        kills.add(s);
                    }
                }
                JsonNode stats = awaitCompletion(d, tail, facts.size(), deadline, name);
                Outcome outcome = new Outcome(name, stats.path("groups"), stats.path("progress"), tail.results(), kills, seconds(start));
                log.accept(name + ": every fact done after " + fmt(outcome.seconds()) + " s, " + outcome.results().size() + " result records");
                return outcome;
            }
        }
    }

    /** Waits for the kill's trigger, strikes, restarts, and waits for recovery; null when the facts ran out before the trigger. */
    private Struck strike(Deployment d, TopicTail tail, Kill kill, int facts, long start, long deadline) throws IOException, InterruptedException {
        int seen = tail.size();
        Duration left = Duration.ofNanos(deadline - System.nanoTime());
        boolean triggered = tail.await(() -> tail.size() >= seen + kill.afterResults(), left);
        if (triggered && kill.part() == Part.WORKER) {
            // mid-fact: the next fact's trace is out, its edits are not (yet)
            int traces = tail.traces();
            triggered = tail.await(() -> tail.traces() > traces, Duration.ofNanos(deadline - System.nanoTime()));
        }
        if (!triggered || finished(d, facts)) {
            return null;
        }
        Thread.sleep(kill.delayMillis());
        return switch (kill.part()) {
            case WORKER -> killWorker(d, tail, kill, start);
            case AGGREGATOR -> killAggregator(d, tail, kill, start, deadline);
            case BROKER -> killBroker(d, tail, kill, start);
        };
    }

    private Struck killWorker(Deployment d, TopicTail tail, Kill kill, long start) throws IOException, InterruptedException {
        String fact = tail.lastTracedFact();
        int out = tail.sinceLastTrace();
        long killedAt = System.currentTimeMillis();
        double at = seconds(start);
        d.kill(Part.WORKER);
        d.start(Part.WORKER);
        double recovery = nextResultSeconds(tail, killedAt);
        boolean midFact = out < settings.resultsPerFact();
        return new Struck(kill, at, (midFact ? "mid-fact " : "between facts, after ") + fact + " ("
                + out + " of its " + settings.resultsPerFact() + " results out since its trace); next result " + fmt(recovery) + " s after the kill",
                midFact, recovery);
    }

    /** Kills the aggregator once it has counted results that its latest snapshot does not cover. */
    private Struck killAggregator(Deployment d, TopicTail tail, Kill kill, long start, long deadline) throws IOException, InterruptedException {
        long counted;
        long covered;
        while (true) {
            counted = Deployment.counted(d.stats());
            covered = tail.snapshotCovered();
            if (counted > covered || System.nanoTime() > deadline) {
                break;
            }
            Thread.sleep(20);
        }
        int records = tail.size();
        long killedAt = System.nanoTime();
        double at = seconds(start);
        d.kill(Part.AGGREGATOR);
        String logBefore = Files.exists(d.log(Part.AGGREGATOR)) ? Files.readString(d.log(Part.AGGREGATOR)) : "";
        d.start(Part.AGGREGATOR);
        while (Deployment.counted(d.stats()) < counted && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        double recovery = (System.nanoTime() - killedAt) / 1e9;
        String restarted = Files.readString(d.log(Part.AGGREGATOR)).substring(logBefore.length());
        Matcher m = RESUMED.matcher(restarted);
        long resumedAt = m.find() ? Pattern.compile("\\d+=(\\d+)").matcher(m.group(1)).results().mapToLong(r -> Long.parseLong(r.group(1))).sum() : 0;
        long reread = records - resumedAt;
        return new Struck(kill, at, counted + " results counted, " + covered + " in its latest snapshot; "
                + "restarted, it read " + reread + " result record(s) again" + (resumedAt == 0 ? " (from the start: no snapshot yet)" : "")
                + " and counted all again " + fmt(recovery) + " s after the kill", counted > covered && reread > 0, recovery);
    }

    private Struck killBroker(Deployment d, TopicTail tail, Kill kill, long start) throws IOException, InterruptedException {
        long killedAt = System.currentTimeMillis();
        double at = seconds(start);
        d.kill(Part.BROKER);
        Thread.sleep(kill.downMillis());
        d.start(Part.BROKER);
        double recovery = nextResultSeconds(tail, killedAt);
        return new Struck(kill, at, "down " + kill.downMillis() + " ms, restarted on its data; "
                + "next result " + fmt(recovery) + " s after the kill", true, recovery);
    }

    /**
     * Seconds from {@code killedAtMillis} until a reader has the first result written after it (NaN if none comes within
     * 5 minutes): when it is read, not its timestamp, which a producer sets at send, before a broker that is away takes it.
     */
    private static double nextResultSeconds(TopicTail tail, long killedAtMillis) throws InterruptedException {
        if (!tail.await(() -> tail.firstAfter(killedAtMillis) != null, Duration.ofMinutes(5))) {
            return Double.NaN;
        }
        return (tail.firstAfter(killedAtMillis).readAtMillis() - killedAtMillis) / 1e3;
    }

    private static boolean finished(Deployment d, int facts) throws IOException, InterruptedException {
        return d.stats().path("progress").path("completed").asLong() >= facts;
    }

    /**
     * Every fact committed by the worker (so all its results are on the topic), this tail at the topic's end, and the
     * aggregator's count equal to the distinct results on it: then the final view is taken.
     */
    private JsonNode awaitCompletion(Deployment d, TopicTail tail, int facts, long deadline, String name) throws IOException, InterruptedException {
        while (true) {
            JsonNode stats = stats(d);
            if (stats != null && stats.path("progress").path("completed").asLong() >= facts) {
                long since = System.nanoTime();
                if (tail.await(() -> tail.caughtUpSince(since), Duration.ofSeconds(30))) {
                    long distinct = tail.results().stream().map(TopicTail.Result::id).distinct().count();
                    JsonNode latest = stats(d);
                    if (latest != null && Deployment.counted(latest) == distinct) {
                        return latest;
                    }
                }
            }
            if (System.nanoTime() > deadline) {
                throw d.failure(Part.WORKER, name + ": not every fact was done within " + settings.timeout() + " (progress "
                        + (stats == null ? "unknown" : stats.path("progress")) + ")");
            }
            Thread.sleep(500);
        }
    }

    /** The aggregator's view, or null while it (or the broker under it) is not answering. */
    private static JsonNode stats(Deployment d) throws InterruptedException {
        try {
            return d.stats();
        } catch (IOException e) {
            return null;
        }
    }

    static List<String> testbedFacts(int from, int n) throws IOException {
        var in = ChaosExperiment.class.getResourceAsStream("/testbed/facts.jsonl");
        if (in == null) {
            throw new IllegalStateException("the testbed's facts.jsonl is not on the class path");
        }
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            List<String> lines = r.lines().filter(l -> !l.isBlank()).skip(from).limit(n).toList();
            if (lines.size() < n) {
                throw new IllegalArgumentException("the testbed has no " + n + " facts from index " + from);
            }
            return lines;
        }
    }

    private String layerList() {
        return Arrays.stream(settings.layers()).mapToObj(Integer::toString).collect(Collectors.joining(","));
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    static String fmt(double seconds) {
        return String.format("%.1f", seconds);
    }
}
