package dev.locus.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * What the chaos run sees of Kafka, read from the beginning on a thread of its own through every broker restart: every
 * record of the results topic (its raw value and producer timestamp), and the aggregator's latest snapshot of each
 * group on the stats topic (how many results it covers).
 */
final class TopicTail implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One record of the results topic as it was written (with its producer's timestamp) and when this tail read it. */
    record Result(String id, String type, String factId, String value, long timestampMillis, long readAtMillis) {}

    /** This reader warns every second while the broker is down on purpose; the report says how long. Kept reachable: a logger's level goes with it. */
    private static final java.util.logging.Logger CLIENT_LOG = java.util.logging.Logger.getLogger("org.apache.kafka.clients.NetworkClient");

    private final KafkaConsumer<String, String> consumer;
    private final String resultsTopic;
    private final String statsTopic;
    private final String aggregatorId;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile RuntimeException failure;

    private final List<Result> results = new ArrayList<>();
    private final Map<String, Long> snapshotCounts = new LinkedHashMap<>();
    private int traces;
    private int lastTrace = -1;
    private long caughtUpAtNanos;

    TopicTail(String bootstrap, String resultsTopic, String statsTopic, String aggregatorId) {
        CLIENT_LOG.setLevel(java.util.logging.Level.SEVERE);
        this.resultsTopic = resultsTopic;
        this.statsTopic = statsTopic;
        this.aggregatorId = aggregatorId;
        this.consumer = new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName(),
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName(),
                ConsumerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 1000,
                ConsumerConfig.CLIENT_ID_CONFIG, "locus-chaos-tail"));
        this.thread = new Thread(this::run, "locus-chaos-tail");
        thread.setDaemon(true);
    }

    TopicTail start() {
        thread.start();
        return this;
    }

    private void run() {
        try {
            List<TopicPartition> partitions = new ArrayList<>();
            for (String topic : List.of(resultsTopic, statsTopic)) {
                consumer.partitionsFor(topic, Duration.ofSeconds(60)).forEach(i -> partitions.add(new TopicPartition(topic, i.partition())));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            List<TopicPartition> resultPartitions = partitions.stream().filter(p -> p.topic().equals(resultsTopic)).toList();
            long nextEndCheck = 0;
            while (running) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(100))) {
                    take(r);
                }
                if (System.nanoTime() > nextEndCheck) {
                    nextEndCheck = System.nanoTime() + 500_000_000L;
                    checkCaughtUp(resultPartitions);
                }
            }
        } catch (WakeupException stopping) {
            // closed
        } catch (RuntimeException e) {
            failure = e;
        } finally {
            consumer.close();
            synchronized (this) {
                notifyAll();
            }
        }
    }

    private void checkCaughtUp(List<TopicPartition> partitions) {
        try {
            long start = System.nanoTime();
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions, Duration.ofSeconds(2));
            if (partitions.stream().allMatch(p -> consumer.position(p) >= end.get(p))) {
                synchronized (this) {
                    caughtUpAtNanos = start;
                    notifyAll();
                }
            }
        } catch (org.apache.kafka.common.errors.TimeoutException brokerAway) {
            // asked again in half a second
        }
    }

    private synchronized void take(ConsumerRecord<String, String> r) {
        JsonNode value;
        try {
            value = r.value() == null ? null : JSON.readTree(r.value());
        } catch (IOException e) {
            throw new IllegalStateException("an unreadable record on " + r.topic() + " at " + r.partition() + "@" + r.offset(), e);
        }
        if (r.topic().equals(statsTopic)) {
            if (value != null && r.key() != null && r.key().startsWith(aggregatorId + "|")) {
                snapshotCounts.put(r.key(), value.path("traced").asLong() + value.path("skipped").asLong() + value.path("edits").asLong()
                        + value.path("failed_edits").asLong());
            }
        } else if (value != null) {
            Result result = new Result(value.path("id").asText(), value.path("type").asText(), value.path("fact_id").asText(), r.value(),
                    r.timestamp(), System.currentTimeMillis());
            results.add(result);
            if (result.type().equals("trace")) {
                traces++;
                lastTrace = results.size() - 1;
            }
        }
        notifyAll();
    }

    /** Waits until {@code condition} (checked under this tail's lock, after every record) holds; false if {@code timeout} passes first. */
    synchronized boolean await(BooleanSupplier condition, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (failure != null) {
                throw new IllegalStateException("reading the topics failed", failure);
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            wait(Math.max(1, Math.min(200, left / 1_000_000)));
        }
        return true;
    }

    synchronized int size() {
        return results.size();
    }

    synchronized int traces() {
        return traces;
    }

    /** The fact of the last trace read, or null before the first. */
    synchronized String lastTracedFact() {
        return lastTrace < 0 ? null : results.get(lastTrace).factId();
    }

    /** Results of the last traced fact read since its trace (a redone fact's earlier ones not counted). */
    synchronized int sinceLastTrace() {
        String fact = lastTracedFact();
        return fact == null ? 0 : (int) results.subList(lastTrace, results.size()).stream().filter(r -> r.factId().equals(fact)).count();
    }

    /** Results the aggregator's latest snapshots cover (their groups' counts added up). */
    synchronized long snapshotCovered() {
        return snapshotCounts.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Whether this tail has read the results topic to an end offset asked for after {@code sinceNanos}. */
    synchronized boolean caughtUpSince(long sinceNanos) {
        return caughtUpAtNanos > sinceNanos;
    }

    /** Of the results written (producer time) after {@code millis}, the first this tail read; null if none. */
    synchronized Result firstAfter(long millis) {
        return results.stream().filter(r -> r.timestampMillis() > millis).findFirst().orElse(null);
    }

    synchronized List<Result> results() {
        return List.copyOf(results);
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        consumer.wakeup();
        thread.join(10_000);
    }
}
