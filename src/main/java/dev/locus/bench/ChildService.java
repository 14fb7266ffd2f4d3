package dev.locus.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.config.LocusConfig;
import dev.locus.facts.Fact;
import dev.locus.facts.FactIntake;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * The service bench-service started as a child process, and how it is observed: readiness, the aggregator's live view
 * on /api/stats/stream, batches posted to /api/facts, the worker's timers, its threads' CPU, and its topics.
 */
final class ChildService {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final Process process;
    private final int port;
    private final String key;
    private final Path log;
    private final Duration batchTimeout;

    /** Wall-clock times of the last batch's POST and of its last result counted, for the breakdown. */
    private long postedAtMillis;
    private long doneAtMillis;

    /** The model's results in the aggregator's view as last streamed by /api/stats/stream; -1 before the first event. */
    private final AtomicLong streamed = new AtomicLong(-1);
    private final Object changed = new Object();

    ChildService(Process process, int port, String key, Path log, Duration batchTimeout) {
        this.process = process;
        this.port = port;
        this.key = key;
        this.log = log;
        this.batchTimeout = batchTimeout;
    }

    long pid() {
        return process.pid();
    }

    /** Waits until /q/health/ready answers 200; fails when the child exits first or {@code deadline} passes. */
    void awaitReady(long deadline, Duration timeout) throws InterruptedException {
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
                throw failure("the service was not ready within " + timeout);
            }
            Thread.sleep(500);
        }
    }

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
            } catch (IOException | UncheckedIOException e) {
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
     * facts and results topics, read after the batch and outside its timing (see {@link Breakdown}).
     */
    Breakdown breakdown(List<Fact> batch, LocusConfig.Topics topics) {
        Matcher m;
        try {
            m = Pattern.compile("connected to Kafka brokers '([^']+)'").matcher(Files.readString(log));
        } catch (IOException e) {
            return Breakdown.unavailable(e.toString());
        }
        if (!m.find()) {
            return Breakdown.unavailable("no broker address in the service's log");
        }
        Set<String> ids = batch.stream().map(Fact::id).collect(Collectors.toSet());
        Map<String, Long> factAt = new HashMap<>();
        for (var r : readAll(m.group(1), topics.facts())) {
            if (ids.contains(r.key())) {
                factAt.merge(r.key(), r.timestamp(), Math::min);
            }
        }
        return Breakdown.of(batch.size(), ids, factAt, resultTimes(m.group(1), topics.results(), ids), postedAtMillis, doneAtMillis);
    }

    /** Per fact of {@code ids}: trace sent, trace ms, edit ms, last result sent, results. */
    private static Map<String, long[]> resultTimes(String bootstrap, String topic, Set<String> ids) {
        Map<String, long[]> perFact = new HashMap<>();
        for (var r : readAll(bootstrap, topic)) {
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
        return perFact;
    }

    /** Every record on the topic, from the beginning to the end offsets as of now (60 s at most). */
    private static List<ConsumerRecord<String, String>> readAll(String bootstrap, String topic) {
        List<ConsumerRecord<String, String>> out = new ArrayList<>();
        Map<String, Object> props = Map.of("bootstrap.servers", bootstrap,
                "key.deserializer", StringDeserializer.class.getName(),
                "value.deserializer", StringDeserializer.class.getName());
        try (var c = new KafkaConsumer<String, String>(props)) {
            List<TopicPartition> parts = c.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts);
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (parts.stream().anyMatch(p -> c.position(p) < end.get(p)) && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }

    /** The aggregator's progress block (facts accepted, rejected, ...). */
    JsonNode progress() throws IOException, InterruptedException {
        return JSON.readTree(get("/api/stats").body()).path("progress");
    }

    /**
     * CPU seconds (user + system) of the child's live threads, summed by thread name without its number (Linux /proc,
     * 100 ticks a second; empty elsewhere). Threads that end between two readings are lost, which only undercounts.
     */
    Map<String, Double> threadCpu() {
        Map<String, Double> out = new HashMap<>();
        try (var tasks = Files.list(Path.of("/proc", Long.toString(process.pid()), "task"))) {
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

    /** The engine's thread counts as the child logged them. */
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
