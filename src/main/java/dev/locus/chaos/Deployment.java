package dev.locus.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.bench.ChildJvm;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * The deployed shape on loopback, each part a child JVM of this application's jar that can be SIGKILLed and started
 * again: a standalone broker on fixed ports (restarted on its data directory), an aggregator and a worker (static group
 * membership, as in Kubernetes), each on its own HTTP port. Each part's output goes to its log, appended across restarts.
 */
final class Deployment implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration START_TIMEOUT = Duration.ofMinutes(3);

    enum Part { BROKER, AGGREGATOR, WORKER }

    private final Path jar;
    private final Path dir;
    private final Path cache;
    private final String layers;
    private final int brokerPort = ChildJvm.freePort();
    private final int controllerPort = ChildJvm.freePort();
    private final Map<Part, Integer> httpPorts = new EnumMap<>(Map.of(Part.AGGREGATOR, ChildJvm.freePort(), Part.WORKER, ChildJvm.freePort()));
    private final String key = UUID.randomUUID().toString();
    private final Map<Part, Process> running = new EnumMap<>(Part.class);
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** @param cache the editing cache (key statistics), shared by runs so that only the first computes it */
    Deployment(Path jar, Path dir, Path cache, String layers) throws IOException {
        this.jar = jar;
        this.dir = Files.createDirectories(dir);
        this.cache = cache;
        this.layers = layers;
    }

    String bootstrap() {
        return "127.0.0.1:" + brokerPort;
    }

    Path log(Part part) {
        return dir.resolve(part.name().toLowerCase() + ".log");
    }

    /** Starts the part and waits until it is ready: the broker's "broker ready" line, the others' /q/health/ready. */
    void start(Part part) throws IOException, InterruptedException {
        long readyLines = readyLines();
        List<String> cmd = ChildJvm.java();
        cmd.add("-Djava.io.tmpdir=" + Files.createDirectories(dir.resolve("tmp")));
        switch (part) {
            case BROKER -> cmd.addAll(List.of("-Xmx512m", "-jar", jar.toString(), "broker", "--data", dir.resolve("kafka").toString(),
                    "--port", Integer.toString(brokerPort), "--controller-port", Integer.toString(controllerPort)));
            case AGGREGATOR -> cmd.addAll(service(part, "-Xmx768m", "-Dlocus.role=aggregator", "-Dlocus.api.keys=" + key));
            case WORKER -> cmd.addAll(service(part, "-Xmx2g", "-Dlocus.role=worker", "-Dlocus.worker.instance-id=chaos-worker",
                    // one engine thread: the same arithmetic in every run, and a core left for the others
                    "-Dai.djl.pytorch.num_threads=1", "-Dai.djl.pytorch.num_interop_threads=1"));
        }
        Process p = ChildJvm.builder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log(part).toFile())).start();
        running.put(part, p);
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!(part == Part.BROKER ? readyLines() > readyLines : ready(part))) {
            if (!p.isAlive()) {
                throw failure(part, part + " exited with code " + p.exitValue() + " while starting");
            }
            if (System.nanoTime() > deadline) {
                throw failure(part, part + " was not ready within " + START_TIMEOUT);
            }
            Thread.sleep(200);
        }
    }

    private List<String> service(Part part, String... settings) {
        List<String> cmd = new ArrayList<>(List.of(settings));
        cmd.addAll(List.of("-Dkafka.bootstrap.servers=" + bootstrap(), "-Dquarkus.http.host=127.0.0.1",
                "-Dquarkus.http.port=" + httpPorts.get(part), "-Dlocus.grid.methods=rome", "-Dlocus.grid.problems=error_injection",
                "-Dlocus.grid.layers=" + layers, "-Dlocus.editing.cache=" + cache, "-jar", jar.toString()));
        return cmd;
    }

    private long readyLines() throws IOException {
        Path log = log(Part.BROKER);
        if (!Files.exists(log)) {
            return 0;
        }
        try (var lines = Files.lines(log)) {
            return lines.filter(l -> l.startsWith("broker ready:")).count();
        }
    }

    private boolean ready(Part part) throws InterruptedException {
        try {
            return get(part, "/q/health/ready").statusCode() == 200;
        } catch (IOException notListening) {
            return false;
        }
    }

    /** SIGKILL: no shutdown hook, no flush, no goodbye to the group or the broker. */
    void kill(Part part) throws InterruptedException {
        Process p = running.remove(part);
        p.destroyForcibly();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException(part + " (pid " + p.pid() + ") did not die within 30 s of SIGKILL");
        }
    }

    void submit(List<String> factLines) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(uri(Part.AGGREGATOR, "/api/facts")).header("X-API-Key", key)
                .header("Content-Type", "application/x-ndjson").POST(HttpRequest.BodyPublishers.ofString(String.join("\n", factLines))).build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 202) {
            throw new IllegalStateException("POST /api/facts answered " + response.statusCode() + ": " + response.body());
        }
    }

    /** The aggregator's /api/stats (progress and groups). */
    JsonNode stats() throws IOException, InterruptedException {
        HttpResponse<String> response = get(Part.AGGREGATOR, "/api/stats");
        if (response.statusCode() != 200) {
            throw new IOException("GET /api/stats answered " + response.statusCode());
        }
        return JSON.readTree(response.body());
    }

    /** Results the aggregator has counted: traces, skipped facts, edits and failed edits over all its groups. */
    static long counted(JsonNode stats) {
        long n = 0;
        for (JsonNode g : stats.path("groups")) {
            n += g.path("traced").asLong() + g.path("skipped").asLong() + g.path("edits").asLong() + g.path("failed_edits").asLong();
        }
        return n;
    }

    private HttpResponse<String> get(Part part, String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(uri(part, path)).timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private URI uri(Part part, String path) {
        return URI.create("http://127.0.0.1:" + httpPorts.get(part) + path);
    }

    /** The part's last 40 log lines with the message, for a failure someone has to read. */
    IllegalStateException failure(Part part, String message) {
        String tail;
        try {
            List<String> lines = Files.readAllLines(log(part));
            tail = String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            tail = "(no log: " + e + ")";
        }
        return new IllegalStateException(message + "; last lines of " + log(part) + ":\n" + tail);
    }

    /** Stops what runs, worker first and broker last (each SIGTERM, then SIGKILL after 30 s). */
    @Override
    public void close() {
        for (Part part : List.of(Part.WORKER, Part.AGGREGATOR, Part.BROKER)) {
            ChildJvm.stop(running.remove(part));
        }
    }
}
