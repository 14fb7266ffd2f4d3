package dev.locus.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Through a real broker, the aggregator's exported counts keep a duplicate and an unreadable
 * record apart: one result, the same result again, and a record of an unknown type count 1, 1, 1.
 */
class AggregatorCountsTest {
    private static final String RESULTS = "counts.results";
    private static final String STATS = "counts.stats";

    @TempDir
    Path dir;

    @Test
    void duplicatesAndUnreadableResultsAreCountedApart() throws Exception {
        String result = new ObjectMapper().writeValueAsString(ResultEventJsonTest.examples().get(1));
        String unreadable = result.replace("\"type\":\"edit\"", "\"type\":\"guess\"");
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir)) {
            kafka.createTopic(RESULTS, 1, Map.of());
            kafka.createTopic(STATS, 1, Map.of("cleanup.policy", "compact"));
            Map<String, Object> client = Map.of("bootstrap.servers", kafka.bootstrapServers());
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(client, new StringSerializer(), new StringSerializer())) {
                for (String value : List.of(result, result, unreadable)) {
                    producer.send(new ProducerRecord<>(RESULTS, "testbed", value)).get();
                }
            }
            MeterRegistry registry = new SimpleMeterRegistry();
            try (ResultsAggregator aggregator = new ResultsAggregator(client, RESULTS, STATS, "counts", Duration.ofSeconds(1), v -> {})
                    .start()) {
                AggregatorService.registerCounts(registry, aggregator);
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (aggregator.counted() + aggregator.duplicates() + aggregator.unreadable() < 3 && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertEquals(1, count(registry, "locus_results_counted"));
                assertEquals(1, count(registry, "locus_results_duplicates"));
                assertEquals(1, count(registry, "locus_results_unreadable"));
            }
        }
    }

    private static double count(MeterRegistry registry, String name) {
        return registry.get(name).functionCounter().count();
    }
}
