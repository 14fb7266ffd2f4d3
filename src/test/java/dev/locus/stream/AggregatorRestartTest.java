package dev.locus.stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.locus.stats.LayerStatistics;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * The aggregator survives kill -9: a separate JVM aggregates a stream of results and is killed
 * (SIGKILL, no chance to write a last snapshot) while results keep arriving, some of them
 * duplicates; a new aggregator with the same id restores the last snapshot and catches up. Its
 * figures, the trace-only facts' average among them, must equal those of one uninterrupted pass over the distinct results.
 */
class AggregatorRestartTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String RESULTS = "locus.results";
    private static final String STATS = "locus.stats";

    @Test
    void killedAggregatorRestartsWithNothingLostAndNothingCountedTwice() throws Exception {
        Path dir = Files.createTempDirectory("locus-kafka-restart-");
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir)) {
            kafka.createTopic(RESULTS, 3, Map.of());
            kafka.createTopic(STATS, 1, Map.of("cleanup.policy", "compact"));
            List<String> distinct = events(3000, new Random(7));
            List<String> stream = new ArrayList<>(distinct);
            Random random = new Random(8);
            for (int i = 0; i < 600; i++) { // redeliveries: the same results again, later in the stream
                stream.add(random.nextInt(stream.size()), distinct.get(random.nextInt(distinct.size())));
            }
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of("bootstrap.servers", kafka.bootstrapServers()),
                    new StringSerializer(), new StringSerializer())) {
                int half = stream.size() / 2;
                send(producer, stream.subList(0, half));

                Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-cp", System.getProperty("java.class.path"), AggregatorProcess.class.getName(),
                        kafka.bootstrapServers(), RESULTS, STATS, "crash-test").redirectErrorStream(true).start();
                AtomicLong childCounted = new AtomicLong();
                AtomicReference<String> lastLine = new AtomicReference<>("");
                Thread reader = new Thread(() -> {
                    try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream()))) {
                        for (String line; (line = in.readLine()) != null; ) {
                            lastLine.set(line);
                            if (line.startsWith("counted ")) {
                                childCounted.set(Long.parseLong(line.substring(8).trim()));
                            }
                        }
                    } catch (Exception ignored) {
                        // the child was killed
                    }
                });
                reader.start();
                try {
                    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
                    while (childCounted.get() < 1000 && System.nanoTime() < deadline) {
                        Thread.sleep(20);
                    }
                    assertTrue(childCounted.get() >= 1000, "the child aggregator got going: " + lastLine.get());
                    // More results arrive while it runs; it dies in the middle of them.
                    send(producer, stream.subList(half, half + 500));
                    Thread.sleep(150);
                } finally {
                    child.destroyForcibly(); // SIGKILL
                    child.waitFor();
                }
                System.out.printf("child aggregator killed after counting %d results%n", childCounted.get());
                send(producer, stream.subList(half + 500, stream.size()));
            }

            List<List<StatsState.GroupView>> views = new ArrayList<>();
            try (ResultsAggregator restarted = new ResultsAggregator(Map.of("bootstrap.servers", kafka.bootstrapServers()), RESULTS,
                    STATS, "crash-test", Duration.ofMillis(200), views::add).start()) {
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (counted(last(views)) < distinct.size() && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                Thread.sleep(500); // anything counted twice would show up now
                StatsState reference = new StatsState();
                for (String event : distinct) {
                    reference.add(Observation.read(event));
                }
                assertEquals(distinct.size(), counted(last(views)), "every distinct result counted once");
                assertSameFigures(reference.view(), last(views));
                // It resumed from the snapshot rather than replaying everything: it read only part of the stream.
                assertTrue(restarted.counted() < distinct.size() && restarted.counted() + restarted.duplicates() < stream.size(),
                        "restored from the snapshot: counted " + restarted.counted() + " of " + distinct.size());
            }
        }
    }

    private static List<StatsState.GroupView> last(List<List<StatsState.GroupView>> views) {
        synchronized (views) {
            return views.isEmpty() ? List.of() : views.get(views.size() - 1);
        }
    }

    /** Edits and traces counted. */
    private static long counted(List<StatsState.GroupView> view) {
        return view.stream().mapToLong(g -> g.edits() + g.traced()).sum();
    }

    private static void assertSameFigures(List<StatsState.GroupView> expected, List<StatsState.GroupView> actual) {
        assertEquals(expected.size(), actual.size());
        for (int g = 0; g < expected.size(); g++) {
            StatsState.GroupView e = expected.get(g);
            StatsState.GroupView a = actual.get(g);
            assertEquals(e.model() + e.version() + e.grid() + e.method() + e.problem(), a.model() + a.version() + a.grid() + a.method() + a.problem());
            assertEquals(e.traceOnly() == null, a.traceOnly() == null);
            if (e.traceOnly() != null) {
                assertEquals(e.traceOnly().facts(), a.traceOnly().facts());
                assertEquals(Arrays.toString(e.traceOnly().peakLayers()), Arrays.toString(a.traceOnly().peakLayers()));
                assertEquals(e.traceOnly().meanPeakLayer(), a.traceOnly().meanPeakLayer(), 1e-9);
                for (String kind : e.traceOnly().effect().keySet()) {
                    double[][] x = e.traceOnly().effect().get(kind);
                    double[][] y = a.traceOnly().effect().get(kind);
                    for (int group = 0; group < x.length; group++) {
                        assertArrayEquals(x[group], y[group], 1e-9, kind + ", group " + group);
                    }
                }
            }
            for (String metric : e.analysis().keySet()) {
                LayerStatistics.Analysis x = e.analysis().get(metric);
                LayerStatistics.Analysis y = a.analysis().get(metric);
                assertEquals(x.observations(), y.observations());
                assertEquals(x.layerR2(), y.layerR2(), 1e-9);
                assertEquals(x.tracingR2(), y.tracingR2(), 1e-9);
                assertEquals(x.bothR2(), y.bothR2(), 1e-9);
                assertEquals(x.correlation(), y.correlation(), 1e-9);
                assertEquals(x.gainTest().pValue(), y.gainTest().pValue(), 1e-9);
                for (int l = 0; l < x.layers().size(); l++) {
                    assertEquals(x.layers().get(l).meanScore(), y.layers().get(l).meanScore(), 1e-9);
                    assertEquals(x.layers().get(l).meanTracing(), y.layers().get(l).meanTracing(), 1e-9);
                }
            }
        }
    }

    private static void send(KafkaProducer<String, String> producer, List<String> events) throws Exception {
        for (String event : events) {
            producer.send(new ProducerRecord<>(RESULTS, JSON.readTree(event).get("model").asText(), event));
        }
        producer.flush();
    }

    /**
     * Edit results of two models in two versions each, two methods, 12 layers; scores depend on the layer and a little on tracing.
     * Every tenth result is a trace-only fact's trace of random values instead.
     */
    private static List<String> events(int count, Random random) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            if (i % 10 == 9) {
                out.add(traceOnly(i, random));
                continue;
            }
            int layer = random.nextInt(12);
            double tracing = random.nextDouble();
            ObjectNode edit = JSON.createObjectNode().put("method", i % 3 == 0 ? "memit" : "rome").put("problem", "error_injection")
                    .put("layer", layer).put("status", "ok").put("tracing_value", tracing);
            for (String metric : StatsState.METRICS) {
                edit.put(metric + "_score", Math.exp(-layer / 4.0) + 0.1 * tracing + 0.05 * random.nextGaussian());
            }
            ObjectNode event = JSON.createObjectNode().put("type", "edit").put("id", String.format("%016x%016x", i * 0x9E3779B97F4A7C15L, (long) i))
                    .put("model", i % 2 == 0 ? "model-a" : "model-b").put("model_version", i % 4 < 2 ? "1" : "2")
                    .put("grid_id", "0123456789abcdef").put("fact_id", "f" + i);
            event.set("edit", edit);
            out.add(event.toString());
        }
        return out;
    }

    /** A trace-only fact's trace of 4 to 7 tokens with the subject from token 1, 12 layers of random values. */
    private static String traceOnly(int i, Random random) {
        int tokens = 4 + random.nextInt(4);
        Map<String, double[][]> restored = new java.util.LinkedHashMap<>();
        for (String kind : List.of("hidden", "mlp", "attn")) {
            double[][] grid = new double[tokens][12];
            for (double[] row : grid) {
                Arrays.setAll(row, l -> random.nextDouble());
            }
            restored.put(kind, grid);
        }
        double[] localization = new double[12];
        Arrays.setAll(localization, l -> random.nextDouble());
        ObjectNode trace = JSON.createObjectNode().put("subject_start", 1).put("subject_end", 2 + random.nextInt(tokens - 2))
                .put("p_corrupt", 0.1 * random.nextDouble());
        trace.set("tokens", JSON.valueToTree(java.util.Collections.nCopies(tokens, " t")));
        trace.set("restored", JSON.valueToTree(restored));
        trace.set("localization", JSON.valueToTree(localization));
        ObjectNode event = JSON.createObjectNode().put("type", "trace").put("trace_only", true)
                .put("id", String.format("%016x%016x", i * 0x9E3779B97F4A7C15L, (long) i))
                .put("model", i % 2 == 0 ? "model-a" : "model-b").put("model_version", i % 4 < 2 ? "1" : "2")
                .put("grid_id", "0123456789abcdef").put("fact_id", "known-" + i);
        event.set("trace", trace);
        return event.toString();
    }
}
