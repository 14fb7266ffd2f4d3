package dev.locus.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Plain JUnit test (no Quarkus) of the in-process KRaft broker: topics, produce, consume, offsets, two instances. */
class EmbeddedKafkaTest {

    private static final String EVENTS = "ek-events";
    private static final String COMPACTED = "ek-compacted";
    private static final String GROUP = "ek-group";

    @TempDir
    Path dir1;

    @TempDir
    Path dir2;

    @Test
    void brokerServesProducersConsumersAndGroups() throws Exception {
        long t0 = System.nanoTime();
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir1)) {
            long startMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            System.out.println("EmbeddedKafka: first broker started in " + startMs + " ms at " + kafka.bootstrapServers());
            String bootstrap = kafka.bootstrapServers();
            assertTrue(bootstrap.startsWith("127.0.0.1:"), bootstrap);

            kafka.createTopic(EVENTS, 3, Map.of());
            kafka.createTopic(COMPACTED, 1, Map.of("cleanup.policy", "compact"));
            kafka.createTopic(EVENTS, 3, Map.of()); // an existing topic is left as it is
            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
                Map<String, TopicDescription> topics =
                        admin.describeTopics(List.of(EVENTS, COMPACTED)).allTopicNames().get(30, TimeUnit.SECONDS);
                assertEquals(3, topics.get(EVENTS).partitions().size());
                assertEquals(1, topics.get(COMPACTED).partitions().size());
                ConfigResource compacted = new ConfigResource(ConfigResource.Type.TOPIC, COMPACTED);
                Config config = admin.describeConfigs(List.of(compacted)).all().get(30, TimeUnit.SECONDS).get(compacted);
                assertEquals("compact", config.get("cleanup.policy").value());
            }

            try (KafkaProducer<String, String> producer = producer(bootstrap)) {
                for (int i = 0; i < 100; i++) {
                    producer.send(new ProducerRecord<>(EVENTS, "k" + i, "v" + i));
                }
                for (int i = 0; i < 10; i++) {
                    producer.send(new ProducerRecord<>(COMPACTED, "key" + (i % 3), "value" + i)).get(30, TimeUnit.SECONDS);
                }
                producer.flush();
            }

            // Consume all 100 back with a consumer group, then commit.
            Map<String, String> seen = new HashMap<>();
            Set<Integer> partitions = new HashSet<>();
            try (KafkaConsumer<String, String> consumer = consumer(bootstrap, GROUP)) {
                consumer.subscribe(List.of(EVENTS));
                Map<Integer, Long> lastOffset = new TreeMap<>();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (seen.size() < 100 && System.nanoTime() < deadline) {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                        assertEquals(null, seen.put(r.key(), r.value()), "duplicate " + r.key());
                        Long previous = lastOffset.put(r.partition(), r.offset());
                        assertTrue(previous == null || previous < r.offset(), "offsets increase within a partition");
                        partitions.add(r.partition());
                    }
                }
                consumer.commitSync(Duration.ofSeconds(30));
            }
            assertEquals(100, seen.size());
            for (int i = 0; i < 100; i++) {
                assertEquals("v" + i, seen.get("k" + i));
            }
            assertEquals(3, partitions.size(), "keys spread over the 3 partitions");

            // Ten more records; a new consumer of the same group starts at the committed offsets and sees only those.
            try (KafkaProducer<String, String> producer = producer(bootstrap)) {
                for (int i = 100; i < 110; i++) {
                    producer.send(new ProducerRecord<>(EVENTS, "k" + i, "v" + i));
                }
                producer.flush();
            }
            List<String> resumed = new ArrayList<>();
            try (KafkaConsumer<String, String> consumer = consumer(bootstrap, GROUP)) {
                Set<TopicPartition> tps = Set.of(new TopicPartition(EVENTS, 0), new TopicPartition(EVENTS, 1),
                        new TopicPartition(EVENTS, 2));
                Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(tps, Duration.ofSeconds(30));
                assertEquals(100L, committed.values().stream().mapToLong(OffsetAndMetadata::offset).sum());
                consumer.subscribe(List.of(EVENTS));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (resumed.size() < 10 && System.nanoTime() < deadline) {
                    consumer.poll(Duration.ofMillis(500)).forEach(r -> resumed.add(r.key()));
                }
                // Anything re-delivered from before the commit would show up here.
                consumer.poll(Duration.ofMillis(500)).forEach(r -> resumed.add(r.key()));
            }
            assertEquals(10, resumed.size(), resumed.toString());
            for (int i = 100; i < 110; i++) {
                assertTrue(resumed.contains("k" + i), resumed.toString());
            }

            // A second broker, side by side, in another directory and on other ports.
            long t1 = System.nanoTime();
            try (EmbeddedKafka second = EmbeddedKafka.start(dir2)) {
                System.out.println("EmbeddedKafka: second broker started in "
                        + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t1) + " ms at " + second.bootstrapServers());
                assertNotEquals(kafka.bootstrapServers(), second.bootstrapServers());
                try (KafkaProducer<String, String> producer = producer(second.bootstrapServers())) {
                    producer.send(new ProducerRecord<>("ek-auto", "only", "one")).get(30, TimeUnit.SECONDS);
                }
                try (KafkaConsumer<String, String> consumer = consumer(second.bootstrapServers(), "ek-other")) {
                    consumer.subscribe(List.of("ek-auto"));
                    List<String> values = new ArrayList<>();
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                    while (values.isEmpty() && System.nanoTime() < deadline) {
                        consumer.poll(Duration.ofMillis(500)).forEach(r -> values.add(r.value()));
                    }
                    assertEquals(List.of("one"), values);
                }
                try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, second.bootstrapServers()))) {
                    Set<String> names = admin.listTopics().names().get(30, TimeUnit.SECONDS);
                    assertTrue(names.contains("ek-auto") && !names.contains(EVENTS), names.toString());
                }
                long c1 = System.nanoTime();
                second.close();
                System.out.println("EmbeddedKafka: second broker closed in "
                        + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - c1) + " ms");
            }
            long c0 = System.nanoTime();
            kafka.close();
            kafka.close(); // idempotent
            System.out.println("EmbeddedKafka: first broker closed in "
                    + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - c0) + " ms");
        }

        // A restart on the same directory keeps the data and the group's committed offsets.
        long t2 = System.nanoTime();
        try (EmbeddedKafka again = EmbeddedKafka.start(dir1)) {
            System.out.println("EmbeddedKafka: restart on the same directory in "
                    + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t2) + " ms at " + again.bootstrapServers());
            try (KafkaConsumer<String, String> consumer = consumer(again.bootstrapServers(), GROUP)) {
                Set<TopicPartition> tps = Set.of(new TopicPartition(EVENTS, 0), new TopicPartition(EVENTS, 1),
                        new TopicPartition(EVENTS, 2));
                assertEquals(110L, consumer.endOffsets(tps, Duration.ofSeconds(30)).values().stream()
                        .mapToLong(Long::longValue).sum());
                assertEquals(100L, consumer.committed(tps, Duration.ofSeconds(30)).values().stream()
                        .mapToLong(OffsetAndMetadata::offset).sum());
            }
        }
    }

    /** On fixed ports a broker restarted on its data directory is where its clients expect it, with its records. */
    @Test
    void restartsOnFixedPortsWithItsData() throws Exception {
        int[] ports;
        try (ServerSocket a = new ServerSocket(0); ServerSocket b = new ServerSocket(0)) {
            ports = new int[] {a.getLocalPort(), b.getLocalPort()};
        }
        Map<String, String> fixed = EmbeddedKafka.fixedPorts(ports[0], ports[1]);
        for (int run = 0; run < 2; run++) {
            try (EmbeddedKafka kafka = EmbeddedKafka.start(dir2, fixed, EmbeddedKafka.DEFAULT_START_TIMEOUT)) {
                assertEquals("127.0.0.1:" + ports[0], kafka.bootstrapServers());
                Map<String, Object> client = Map.of("bootstrap.servers", kafka.bootstrapServers());
                if (run == 0) {
                    kafka.createTopic("ek-restart", 1, Map.of());
                    try (var producer = new KafkaProducer<>(client,
                            new StringSerializer(), new StringSerializer())) {
                        producer.send(new ProducerRecord<>("ek-restart", "k", "kept")).get();
                    }
                    continue;
                }
                try (var consumer = new KafkaConsumer<>(client,
                        new StringDeserializer(), new StringDeserializer())) {
                    var partition = new TopicPartition("ek-restart", 0);
                    consumer.assign(List.of(partition));
                    consumer.seekToBeginning(List.of(partition));
                    List<String> read = new ArrayList<>();
                    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                    while (read.isEmpty() && System.nanoTime() < deadline) {
                        consumer.poll(Duration.ofMillis(200)).forEach(r -> read.add(r.value()));
                    }
                    assertEquals(List.of("kept"), read, "the record survived the restart");
                }
            }
        }
    }

    @Test
    void badConfigurationGivesAClearError() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> EmbeddedKafka.start(dir2, Map.of("num.partitions", "many"), Duration.ofSeconds(10)));
        assertTrue(e.getMessage().contains("num.partitions"), e.getMessage());
    }

    private static KafkaProducer<String, String> producer(String bootstrap) {
        Map<String, Object> conf = new HashMap<>();
        conf.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        conf.put(ProducerConfig.ACKS_CONFIG, "all");
        conf.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        return new KafkaProducer<>(conf, new StringSerializer(), new StringSerializer());
    }

    private static KafkaConsumer<String, String> consumer(String bootstrap, String group) {
        Map<String, Object> conf = new HashMap<>();
        conf.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        conf.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        conf.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        conf.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        return new KafkaConsumer<>(conf, new StringDeserializer(), new StringDeserializer());
    }
}
