package dev.locus.stream;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.jboss.logging.Logger;

/**
 * The aggregator's loop: reads {@code locus.results}, folds each result into {@link StatsState}
 * and every few seconds writes the state, with the results offsets it covers, to the compacted
 * {@code locus.stats} topic. At start it restores the latest snapshot and resumes reading from
 * the offsets in it, so after a crash (even kill -9) the results since the last snapshot are read
 * again into the state as it was when they had not yet been counted: nothing lost, nothing twice.
 * The snapshot's own id set absorbs duplicates that the workers publish (a fact redelivered to a
 * worker after a crash produces its results again, with the same ids).
 * <p>
 * Why a plain consumer instead of a SmallRye channel or Kafka Streams: the state must be restored
 * together with the exact offsets it covers, which needs manual assignment and seeking; SmallRye's
 * checkpoint strategy needs an external state store (Redis or a database) that this service would
 * otherwise not have, and the state (sufficient statistics + ids) is small enough for one record per group.
 */
public final class ResultsAggregator implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ResultsAggregator.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, Object> kafka;
    private final String resultsTopic;
    private final String statsTopic;
    private final String id;
    private final Duration snapshotInterval;
    private final Consumer<List<StatsState.GroupView>> listener;
    private final StatsState state = new StatsState();
    private final Map<Integer, Long> offsets = new HashMap<>();
    private final Thread thread;
    private volatile boolean running = true;
    private volatile KafkaConsumer<String, String> consumer;
    private volatile long counted;
    private volatile long duplicates;
    private volatile long unreadable;
    private volatile long refused;
    private volatile long snapshotFailures;
    private VersionCheck versionCheck = (model, version, fingerprint) -> null;
    private String deadLetterTopic;

    /** Says why results of a model version with given weights must not be counted (null if they may be): {@link ModelRegistry#refusal}. */
    @FunctionalInterface
    public interface VersionCheck {
        ModelRegistry.Refusal refusal(String model, String version, String fingerprint) throws InterruptedException;
    }

    /**
     * @param kafka    client settings (bootstrap servers, security) shared by its consumer and producer
     * @param listener hears the new view after every batch that changed something (on the aggregator's thread)
     */
    public ResultsAggregator(Map<String, Object> kafka, String resultsTopic, String statsTopic, String id, Duration snapshotInterval,
                             Consumer<List<StatsState.GroupView>> listener) {
        this.kafka = Map.copyOf(kafka);
        this.resultsTopic = resultsTopic;
        this.statsTopic = statsTopic;
        this.id = id;
        this.snapshotInterval = snapshotInterval;
        this.listener = listener;
        this.thread = new Thread(this::run, "locus-aggregator-" + id);
    }

    /** Results {@code check} refuses are dead letters on {@code topic} (with their reason and bytes) instead of being counted. Before {@link #start}. */
    public ResultsAggregator checkingVersions(String topic, VersionCheck check) {
        this.deadLetterTopic = topic;
        this.versionCheck = check;
        return this;
    }

    /** The state itself, for figures computed from it on demand (its methods are synchronised). */
    public StatsState state() {
        return state;
    }

    public ResultsAggregator start() {
        thread.start();
        return this;
    }

    public long counted() {
        return counted;
    }

    /** Results seen again (a redelivered fact's, a replay) and not counted twice. */
    public long duplicates() {
        return duplicates;
    }

    /** Records that are no result event (logged, never counted, never fatal). */
    public long unreadable() {
        return unreadable;
    }

    /** Group snapshots that could not be written (each logged with its size). */
    public long snapshotFailures() {
        return snapshotFailures;
    }

    /** Results of a withdrawn version, with weights that are not their version's, or of a fact id resubmitted with other content: dead letters, never counted. */
    public long refused() {
        return refused;
    }

    private void run() {
        Map<String, Object> consumerSettings = new HashMap<>(kafka);
        consumerSettings.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        consumerSettings.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        consumerSettings.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        consumerSettings.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        consumerSettings.put(ConsumerConfig.CLIENT_ID_CONFIG, "locus-aggregator-" + id);
        Map<String, Object> producerSettings = new HashMap<>(kafka);
        producerSettings.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        producerSettings.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        producerSettings.put(ProducerConfig.ACKS_CONFIG, "all");
        producerSettings.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 16 << 20);
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(consumerSettings);
             KafkaProducer<String, String> producer = new KafkaProducer<>(producerSettings)) {
            consumer = c;
            restore(c);
            List<TopicPartition> partitions = partitions(c, resultsTopic);
            c.assign(partitions);
            for (TopicPartition p : partitions) {
                Long offset = offsets.get(p.partition());
                if (offset == null) {
                    c.seekToBeginning(List.of(p));
                } else {
                    c.seek(p, offset);
                }
            }
            listener.accept(state.view());
            long lastSnapshot = System.nanoTime();
            boolean dirty = false;
            while (running) {
                ConsumerRecords<String, String> batch;
                try {
                    batch = c.poll(Duration.ofMillis(200));
                } catch (WakeupException e) {
                    break;
                }
                boolean changed = false;
                for (ConsumerRecord<String, String> record : batch) {
                    changed |= fold(record, producer);
                    offsets.put(record.partition(), record.offset() + 1);
                    dirty = true;
                }
                if (changed) {
                    listener.accept(state.view());
                }
                if (dirty && System.nanoTime() - lastSnapshot > snapshotInterval.toNanos()) {
                    snapshot(producer);
                    lastSnapshot = System.nanoTime();
                    dirty = false;
                }
            }
            if (dirty) {
                snapshot(producer);
            }
        } catch (RuntimeException e) {
            LOG.error("the aggregator stopped", e);
        }
    }

    /** Reads the result, here and only here, and folds it in: counted, a duplicate (counted before) or unreadable. */
    private boolean fold(ConsumerRecord<String, String> record, KafkaProducer<String, String> producer) {
        Observation result;
        try {
            result = Observation.read(record.value());
        } catch (Observation.Unreadable e) {
            unreadable++;
            LOG.warnf("unreadable result at %s-%d@%d: %s", record.topic(), record.partition(), record.offset(), e.getMessage());
            return false;
        }
        ModelRegistry.Refusal refusal;
        try {
            refusal = versionCheck.refusal(result.group().model(), result.group().version(), result.fingerprint());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while checking a result's version", e);
        }
        String conflict = refusal == null ? state.conflict(result) : null;
        if (conflict != null) {
            refusal = new ModelRegistry.Refusal("conflicting_fact", conflict);
        }
        if (refusal != null) {
            deadLetter(record, refusal, result.group().model(), producer);
            return false;
        }
        boolean added;
        try {
            added = state.add(result);
        } catch (IllegalArgumentException e) { // a trace-only trace that does not fit its group's; the state is unchanged
            unreadable++;
            LOG.warnf("uncountable result at %s-%d@%d: %s", record.topic(), record.partition(), record.offset(), e.getMessage());
            return false;
        }
        if (added) {
            counted++;
            return true;
        }
        duplicates++;
        return false;
    }

    /** The refused result as a dead letter, on the broker before the aggregator reads on (so its offset is not passed without it). */
    private void deadLetter(ConsumerRecord<String, String> record, ModelRegistry.Refusal refusal, String model,
                            KafkaProducer<String, String> producer) {
        byte[] original = record.value().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        DeadLetter letter = DeadLetters.letter("aggregator", refusal.reason(), refusal.message(), record.topic(), record.partition(),
                record.offset(), record.key(), original, model);
        try {
            producer.send(new ProducerRecord<>(deadLetterTopic, record.key(), JSON.writeValueAsString(letter))).get();
        } catch (Exception e) {
            throw new IllegalStateException("could not dead-letter a refused result: " + e.getMessage(), e);
        }
        refused++;
        LOG.warnf("refused result at %s-%d@%d: %s", record.topic(), record.partition(), record.offset(), refusal.message());
    }

    /** Reads the stats topic to its end and restores this aggregator's latest snapshot of every group. */
    private void restore(KafkaConsumer<String, String> c) {
        List<TopicPartition> partitions = partitions(c, statsTopic);
        c.assign(partitions);
        c.seekToBeginning(partitions);
        Map<TopicPartition, Long> end = c.endOffsets(partitions);
        Map<String, StatsState.GroupSnapshot> latest = new HashMap<>();
        while (partitions.stream().anyMatch(p -> c.position(p) < end.get(p))) {
            for (ConsumerRecord<String, String> record : c.poll(Duration.ofMillis(200))) {
                if (record.key() == null || !record.key().startsWith(id + "|")) {
                    continue;
                }
                try {
                    StatsState.GroupSnapshot snapshot = JSON.readValue(record.value(), StatsState.GroupSnapshot.class);
                    if (snapshot.version() == null || snapshot.grid() == null) {
                        // Written before versions: without them its results cannot be placed, so they are read again instead.
                        LOG.infof("ignoring snapshot %s from before model versions; its results are read again", record.key());
                        continue;
                    }
                    latest.put(record.key(), snapshot);
                } catch (Exception e) {
                    LOG.warnf("ignoring an unreadable snapshot %s: %s", record.key(), e.getMessage());
                }
            }
        }
        // Resume from the earliest offset any group covers; groups that are further on skip what they counted by id.
        for (StatsState.GroupSnapshot s : latest.values()) {
            state.restore(s);
            s.resultsOffsets().forEach((p, o) -> offsets.merge(p, o, Math::min));
        }
        if (!latest.isEmpty()) {
            LOG.infof("aggregator %s restored %d group(s) from %s; resuming %s at %s", id, latest.size(), statsTopic, resultsTopic, offsets);
        }
    }

    /**
     * Writes every group's snapshot; one that cannot be written (over the stats topic's max.message.bytes, say) is logged
     * with its size and counted ({@link #snapshotFailures}), and the group goes on counting: after a restart its results
     * since its last written snapshot are read again (the aggregator resumes from the earliest offset any group covers,
     * and the others skip what they counted by id), so nothing is lost or counted twice, only read again.
     */
    private void snapshot(KafkaProducer<String, String> producer) {
        String now = Instant.now().toString();
        Map<String, java.util.concurrent.Future<?>> sent = new java.util.LinkedHashMap<>();
        Map<String, Integer> sizes = new HashMap<>();
        for (Map.Entry<String, StatsState.GroupSnapshot> e : state.snapshots(id, offsets, now).entrySet()) {
            try {
                String json = JSON.writeValueAsString(e.getValue());
                sizes.put(e.getKey(), json.length());
                sent.put(e.getKey(), producer.send(new ProducerRecord<>(statsTopic, e.getKey(), json)));
            } catch (Exception ex) {
                failedSnapshot(e.getKey(), -1, ex);
            }
        }
        sent.forEach((key, future) -> {
            try {
                future.get();
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            } catch (Exception ex) {
                failedSnapshot(key, sizes.get(key), ex);
            }
        });
    }

    private void failedSnapshot(String key, int bytes, Exception e) {
        snapshotFailures++;
        Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
        LOG.warnf("the snapshot of %s (%,d bytes) was not written: %s. The group keeps counting; after a restart its results "
                + "since its last written snapshot are read again (see the README's limits)", key, bytes, cause.toString());
    }

    private static List<TopicPartition> partitions(KafkaConsumer<String, String> c, String topic) {
        List<PartitionInfo> infos = c.partitionsFor(topic, Duration.ofSeconds(30));
        if (infos == null || infos.isEmpty()) {
            throw new IllegalStateException("topic " + topic + " does not exist");
        }
        return infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
    }

    /** Stops reading, writes a last snapshot and closes the clients. */
    @Override
    public void close() throws InterruptedException {
        running = false;
        KafkaConsumer<String, String> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        thread.join(30_000);
    }
}
