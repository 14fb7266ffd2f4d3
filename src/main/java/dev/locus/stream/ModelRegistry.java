package dev.locus.stream;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.config.LocusConfig;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.annotation.Identifier;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.jboss.logging.Logger;

/**
 * The announced model versions: every instance reads the compacted {@code locus.models} topic from
 * its start and keeps the first announcement of each {@code name|version} (in topic order, so all
 * instances agree), and announces new ones there. Before it decides whether an announcement is new,
 * the same or a conflict, it reads the topic up to its current end, so two instances do not both
 * accept different content for one version unless they announce it at the same moment; then the
 * earlier record wins everywhere and the later one is logged and ignored. Workers report on the same
 * topic how their evaluation of a version goes ({@link VersionStatus}, keyed {@code name|version|status}).
 * <p>
 * The registry also says which results the aggregator may count ({@link #refusal}): none of a version
 * withdrawn from the topic (a tombstone: stale results), and none whose weights' fingerprint is not the
 * version's (the announced one, else the first a worker reported).
 */
@ApplicationScoped
public class ModelRegistry {
    private static final Logger LOG = Logger.getLogger(ModelRegistry.class);
    private static final ObjectMapper JSON = new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    private static final Duration CATCH_UP = Duration.ofSeconds(15);

    @Inject
    LocusConfig config;

    @Inject
    @Identifier("default-kafka-broker")
    Map<String, Object> kafka;

    private final Map<String, ModelAnnouncement> versions = new LinkedHashMap<>();
    private final Map<String, VersionStatus> statuses = new HashMap<>();
    private final Map<String, String> reportedFingerprints = new HashMap<>();
    private final java.util.Set<String> withdrawn = new java.util.HashSet<>();
    private final Map<Integer, Long> positions = new HashMap<>();
    private volatile boolean running;
    private boolean judgedBefore;
    private Thread reader;
    private KafkaConsumer<String, String> consumer;
    private KafkaConsumer<String, String> endProbe;
    private KafkaProducer<String, String> producer;

    /** What became of an announcement. */
    public sealed interface Outcome {
        ModelAnnouncement announcement();
    }

    /** New: published to the topic, with the baseline filled in where it was left out. */
    public record Announced(ModelAnnouncement announcement) implements Outcome {}

    /** Announced before with the same content: nothing published. */
    public record Unchanged(ModelAnnouncement announcement) implements Outcome {}

    /** Announced before with other content (the one returned): refused. */
    public record Conflict(ModelAnnouncement announcement) implements Outcome {}

    void start(@Observes @Priority(20) StartupEvent event) {
        if (config.role().equalsIgnoreCase("none")) {
            return;
        }
        Map<String, Object> settings = TopicSetup.textReaderSettings(kafka);
        consumer = new KafkaConsumer<>(settings);
        endProbe = new KafkaConsumer<>(settings);
        Map<String, Object> producerSettings = new HashMap<>(TopicSetup.clientSettings(kafka));
        producerSettings.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        producerSettings.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        producerSettings.put(ProducerConfig.ACKS_CONFIG, "all");
        producer = new KafkaProducer<>(producerSettings);
        List<TopicPartition> partitions = partitions();
        endProbe.assign(partitions); // it only asks for end offsets; assigned, the client does not warn about a partition it lacks
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
        running = true;
        reader = new Thread(this::read, "locus-model-registry");
        reader.setDaemon(true);
        reader.start();
    }

    void stop(@Observes ShutdownEvent event) throws InterruptedException {
        if (reader == null) {
            return;
        }
        running = false;
        consumer.wakeup();
        reader.join(10_000);
        synchronized (this) {
            endProbe.close();
            producer.close(Duration.ofSeconds(5));
        }
    }

    public boolean enabled() {
        return reader != null;
    }

    /** Every version announced, in the order announced. */
    public synchronized List<ModelAnnouncement> versions() {
        return List.copyOf(versions.values());
    }

    /** The latest status a worker reported for {@code name|version}, or null. */
    public synchronized VersionStatus status(ModelAnnouncement version) {
        return statuses.get(version.key());
    }

    /** A reason, for a dead letter, why results of this version with these weights must not be counted. */
    public record Refusal(String reason, String message) {}

    /**
     * Null if a result of {@code model} {@code version} with weights {@code fingerprint} may be counted; else why not:
     * the version was withdrawn ({@code withdrawn_version}), or its weights are not the version's ({@code fingerprint_mismatch}).
     * The first call waits (up to 15 s) for the topic to be read to its end, so that results are not judged on a partial
     * registry after a restart; later ones use what has been read so far (a fingerprint is known once its status is read).
     */
    public synchronized Refusal refusal(String model, String version, String fingerprint) throws InterruptedException {
        if (!enabled()) {
            return null;
        }
        if (!judgedBefore) {
            awaitCaughtUp();
            judgedBefore = true;
        }
        String key = model + "|" + version;
        ModelAnnouncement announced = versions.get(key);
        if (announced == null) {
            return withdrawn.contains(key) ? new Refusal("withdrawn_version", "version " + version + " of " + model
                    + " was withdrawn from " + config.topics().models() + "; results of it are stale and not counted") : null;
        }
        String expected = announced.fingerprint() != null ? announced.fingerprint() : reportedFingerprints.get(key);
        if (expected != null && fingerprint != null && !expected.equals(fingerprint)) {
            return new Refusal("fingerprint_mismatch", "version " + version + " of " + model + " has weights " + expected
                    + (announced.fingerprint() != null ? " (announced)" : " (as first loaded)") + ", this result was made with "
                    + fingerprint + ": another checkpoint under the same version; announce it as a new version");
        }
        return null;
    }

    /** Publishes a worker's status of a version and waits until the broker has it. */
    public void report(VersionStatus status) {
        try {
            producer.send(new ProducerRecord<>(config.topics().models(), status.key(), JSON.writeValueAsString(status))).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new IllegalStateException("could not report the status of " + status.versionKey() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Announces {@code announcement} ({@link ModelAnnouncement#problems} must be empty) unless this version was announced
     * before: the same content again is {@link Unchanged}, other content a {@link Conflict}. A left-out baseline is the
     * previous version of the same name, where there is one.
     */
    public synchronized Outcome announce(ModelAnnouncement announcement, String source) throws InterruptedException {
        if (!enabled()) {
            throw new IllegalStateException("this instance does not read " + config.topics().models() + " (locus.role=none)");
        }
        awaitCaughtUp();
        ModelAnnouncement existing = versions.get(announcement.key());
        if (existing != null) {
            String baseline = announcement.baseline() != null ? announcement.baseline() : existing.baseline();
            boolean same = announcement.content().withBaseline(baseline).equals(existing.content());
            return same ? new Unchanged(existing) : new Conflict(existing);
        }
        ModelAnnouncement filled = announcement.baseline() != null ? announcement : announcement.withBaseline(previousVersion(announcement.name()));
        ModelAnnouncement stamped = filled.stamped(source, Instant.now().toString());
        try {
            producer.send(new ProducerRecord<>(config.topics().models(), stamped.key(), JSON.writeValueAsString(stamped)))
                    .get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            if (e instanceof InterruptedException ie) {
                throw ie;
            }
            throw new IllegalStateException("could not publish the announcement to " + config.topics().models() + ": " + e.getMessage(), e);
        }
        versions.putIfAbsent(stamped.key(), stamped);
        return new Announced(stamped);
    }

    private String previousVersion(String name) {
        String previous = null;
        for (ModelAnnouncement a : versions.values()) {
            if (a.name().equals(name)) {
                previous = a.version();
            }
        }
        return previous;
    }

    /** Waits until the reader has applied every record that is on the topic now. */
    private void awaitCaughtUp() throws InterruptedException {
        Map<TopicPartition, Long> end = endProbe.endOffsets(partitions());
        long deadline = System.nanoTime() + CATCH_UP.toNanos();
        while (end.entrySet().stream().anyMatch(e -> positions.getOrDefault(e.getKey().partition(), 0L) < e.getValue())) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("could not read " + config.topics().models() + " to its end within " + CATCH_UP.toSeconds()
                        + " s; try again");
            }
            wait(50);
        }
    }

    private void read() {
        try {
            while (running) {
                List<ConsumerRecord<String, String>> batch = new ArrayList<>();
                consumer.poll(Duration.ofMillis(200)).forEach(batch::add);
                Map<Integer, Long> reached = new HashMap<>();
                for (TopicPartition p : consumer.assignment()) {
                    reached.put(p.partition(), consumer.position(p));
                }
                synchronized (this) {
                    batch.forEach(this::apply);
                    positions.putAll(reached);
                    notifyAll();
                }
            }
        } catch (WakeupException e) {
            // stopping
        } catch (RuntimeException e) {
            LOG.error("the model registry stopped reading " + config.topics().models(), e);
        } finally {
            consumer.close();
        }
    }

    /** The first announcement of a version stands; a tombstone withdraws it; a later, different one is ignored. */
    private void apply(ConsumerRecord<String, String> record) {
        if (record.key() != null && record.key().endsWith(VersionStatus.KEY_SUFFIX)) {
            applyStatus(record);
            return;
        }
        if (record.value() == null) {
            if (versions.remove(record.key()) != null) {
                withdrawn.add(record.key());
            }
            return;
        }
        ModelAnnouncement a;
        try {
            a = JSON.readValue(record.value(), ModelAnnouncement.class);
        } catch (Exception e) {
            LOG.warnf("ignoring an unreadable announcement at offset %d: %s", record.offset(), e.getMessage());
            return;
        }
        if (!a.problems().isEmpty() || !a.key().equals(record.key())) {
            LOG.warnf("ignoring an invalid announcement at offset %d (key %s): %s", record.offset(), record.key(), a.problems());
            return;
        }
        ModelAnnouncement first = versions.putIfAbsent(a.key(), a);
        if (first != null && !first.content().equals(a.content())) {
            LOG.warnf("ignoring a conflicting announcement of %s at offset %d; the first one stands", a.key(), record.offset());
        }
    }

    /** The latest status of a version stands; the first fingerprint reported for it is the version's (when none was announced). */
    private void applyStatus(ConsumerRecord<String, String> record) {
        if (record.value() == null) {
            return;
        }
        try {
            VersionStatus status = JSON.readValue(record.value(), VersionStatus.class);
            statuses.put(status.versionKey(), status);
            if (status.fingerprint() != null) {
                reportedFingerprints.putIfAbsent(status.versionKey(), status.fingerprint());
            }
        } catch (Exception e) {
            LOG.warnf("ignoring an unreadable version status at offset %d: %s", record.offset(), e.getMessage());
        }
    }

    private List<TopicPartition> partitions() {
        String topic = config.topics().models();
        var infos = endProbe.partitionsFor(topic, Duration.ofSeconds(30));
        if (infos == null || infos.isEmpty()) {
            throw new IllegalStateException("topic " + topic + " does not exist");
        }
        return infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
    }
}
