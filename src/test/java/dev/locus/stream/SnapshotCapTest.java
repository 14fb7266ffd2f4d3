package dev.locus.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * At the cap: a group whose snapshot outgrows the stats topic's max.message.bytes (here 4 KiB instead of 16 MiB) is not
 * written — counted and logged, never silent — yet the aggregator keeps counting every result, and one restarted on the
 * same topics reads the unwritten group's results again and ends with the same figures: nothing lost, nothing twice.
 */
class SnapshotCapTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String RESULTS = "cap.results";
    private static final String STATS = "cap.stats";

    @TempDir
    Path dir;

    @Test
    void aGroupOverTheCapKeepsCountingAndIsReadAgainAfterARestart() throws Exception {
        List<String> results = new ArrayList<>();
        ObjectNode edit = (ObjectNode) JSON.valueToTree(ResultEventJsonTest.examples().get(1));
        for (int f = 0; f < 60; f++) {
            ObjectNode e = edit.deepCopy();
            e.put("id", String.format("%016x%016x", 1000 + f, 0)).put("fact_id", "cap-" + f);
            ((ObjectNode) e.get("edit")).put("fact_id", "cap-" + f);
            results.add(JSON.writeValueAsString(e));
        }
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir)) {
            kafka.createTopic(RESULTS, 1, Map.of());
            kafka.createTopic(STATS, 1, Map.of("cleanup.policy", "compact", "max.message.bytes", "4096"));
            Map<String, Object> client = Map.of("bootstrap.servers", kafka.bootstrapServers());
            List<StatsState.GroupView> first;
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(client, new StringSerializer(), new StringSerializer())) {
                send(producer, results.subList(0, 30));
                try (ResultsAggregator aggregator = new ResultsAggregator(client, RESULTS, STATS, "cap", Duration.ofMillis(200), v -> {})
                        .start()) {
                    await(aggregator::snapshotFailures, 1, "a snapshot over the cap");
                    send(producer, results.subList(30, 60)); // it keeps counting after the failure
                    await(aggregator::counted, 60, "every result counted");
                    first = aggregator.state().view();
                    assertTrue(aggregator.snapshotFailures() >= 1);
                }
            }
            try (ResultsAggregator restarted = new ResultsAggregator(client, RESULTS, STATS, "cap", Duration.ofMillis(200), v -> {})
                    .start()) {
                await(() -> restarted.state().view().stream().mapToLong(StatsState.GroupView::edits).sum(), 60, "the restart to catch up");
                Thread.sleep(500); // anything counted twice would show now
                List<StatsState.GroupView> again = restarted.state().view();
                assertEquals(first.stream().map(StatsState.GroupView::edits).toList(), again.stream().map(StatsState.GroupView::edits).toList());
                assertEquals(first.get(first.size() - 1).analysis().get("rewrite").observations(),
                        again.get(again.size() - 1).analysis().get("rewrite").observations());
                assertTrue(restarted.counted() > 30, "the unwritten group's results read again (" + restarted.counted() + "), each once");
            }
        }
    }

    private static void send(KafkaProducer<String, String> producer, List<String> values) throws Exception {
        for (String v : values) {
            producer.send(new ProducerRecord<>(RESULTS, "testbed", v)).get();
        }
    }

    private static void await(LongSupplier value, long atLeast, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (value.getAsLong() < atLeast) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what + " (" + value.getAsLong() + " of " + atLeast + ")");
            }
            Thread.sleep(20);
        }
    }
}
