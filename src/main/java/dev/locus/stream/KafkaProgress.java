package dev.locus.stream;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
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
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.jboss.logging.Logger;

/**
 * Progress from what crosses Kafka, so that it is right in whichever process serves it (an aggregator on its own, as in
 * compose and Kubernetes, sees no worker's meters): facts on {@code locus.facts}, how far each worker group
 * ({@code locus-worker-MODEL}, {@code locus-version-NAME|VERSION}) has committed, which members are busy, and the dead
 * letters on {@code locus.facts.dlq} by reason (read from the start by this instance; distinct letters, so a message
 * dead-lettered again after a redelivery counts once). Read every second on a thread of its own, so that whoever
 * asks (the page's event stream on the aggregator's thread among them) never waits for the broker.
 */
@ApplicationScoped
public class KafkaProgress {
    private static final Logger LOG = Logger.getLogger(KafkaProgress.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration EVERY = Duration.ofSeconds(1);

    @Inject
    LocusConfig config;

    @Inject
    @Identifier("default-kafka-broker")
    Map<String, Object> kafka;

    private Admin admin;
    private Thread reader;
    private volatile boolean running;
    private volatile KafkaConsumer<String, String> deadLetterConsumer;
    private final Set<String> letters = new HashSet<>();
    private final Map<String, Long> byReason = new TreeMap<>();
    private volatile Now latest = Now.NONE;
    private java.util.concurrent.ScheduledExecutorService refresher;

    /** One worker group: facts it has committed (studied or passed), and members busy (a partition assigned with facts left). */
    public record Group(long completed, @JsonProperty("in_flight") long inFlight) {}

    /**
     * {@code completed}: facts every worker group has finished (the least of the groups'); {@code in_flight}: busy
     * members over all groups (each studies one fact at a time); {@code rejected}: distinct dead letters.
     */
    public record Now(long received, long completed, @JsonProperty("in_flight") long inFlight, long rejected,
                      @JsonProperty("rejected_by_reason") Map<String, Long> rejectedByReason, Map<String, Group> groups) {
        public static final Now NONE = new Now(0, 0, 0, 0, Map.of(), Map.of());
    }

    void start(@Observes @Priority(30) StartupEvent event) {
        if (config.role().equalsIgnoreCase("none")) {
            return;
        }
        deadLetterConsumer = new KafkaConsumer<>(TopicSetup.textReaderSettings(kafka));
        running = true;
        reader = new Thread(this::readDeadLetters, "locus-dead-letter-counts");
        reader.setDaemon(true);
        reader.start();
        refresher = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "locus-progress");
            t.setDaemon(true);
            return t;
        });
        refresher.scheduleWithFixedDelay(this::refresh, 0, EVERY.toMillis(), TimeUnit.MILLISECONDS);
    }

    void stop(@Observes ShutdownEvent event) throws InterruptedException {
        if (refresher != null) {
            refresher.shutdownNow();
            refresher.awaitTermination(10, TimeUnit.SECONDS);
        }
        if (reader != null) {
            running = false;
            deadLetterConsumer.wakeup();
            reader.join(10_000);
        }
        synchronized (this) {
            if (admin != null) {
                admin.close();
            }
        }
    }

    public boolean enabled() {
        return reader != null;
    }

    /** The progress as last read (about a second old; all zeros until the first read, and kept while the broker is away). */
    public Now now() {
        return latest;
    }

    private synchronized void refresh() {
        try {
            latest = read();
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            LOG.debugf("progress not read from Kafka: %s", e.toString());
        }
    }

    private Now read() throws Exception {
        if (admin == null) {
            admin = Admin.create(TopicSetup.clientSettings(kafka));
        }
        TopicOffsets facts = TopicOffsets.read(admin, config.topics().facts());
        List<String> groupIds = admin.listConsumerGroups().all().get(10, TimeUnit.SECONDS).stream().map(ConsumerGroupListing::groupId)
                .filter(g -> g.startsWith("locus-worker-") || g.startsWith("locus-version-")).sorted().toList();
        Map<String, ConsumerGroupDescription> described = groupIds.isEmpty() ? Map.of()
                : admin.describeConsumerGroups(groupIds).all().get(10, TimeUnit.SECONDS);
        Map<String, Group> groups = new TreeMap<>();
        for (String id : groupIds) {
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(id).partitionsToOffsetAndMetadata()
                    .get(10, TimeUnit.SECONDS);
            Set<TopicPartition> pending = facts.pending(committed);
            long busy = 0;
            for (MemberDescription m : described.get(id).members()) {
                if (m.assignment().topicPartitions().stream().anyMatch(pending::contains)) {
                    busy++;
                }
            }
            groups.put(id, new Group(facts.past(committed), busy));
        }
        long completed = groups.values().stream().mapToLong(Group::completed).min().orElse(0);
        long inFlight = groups.values().stream().mapToLong(Group::inFlight).sum();
        synchronized (letters) {
            return new Now(facts.records(), completed, inFlight, letters.size(), Map.copyOf(byReason), groups);
        }
    }

    private void readDeadLetters() {
        KafkaConsumer<String, String> c = deadLetterConsumer;
        try {
            String topic = config.topics().deadLetters();
            List<TopicPartition> partitions = c.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).toList();
            c.assign(partitions);
            c.seekToBeginning(partitions);
            while (running) {
                for (ConsumerRecord<String, String> record : c.poll(Duration.ofMillis(500))) {
                    count(record);
                }
            }
        } catch (WakeupException e) {
            // stopping
        } catch (RuntimeException e) {
            LOG.warn("stopped counting dead letters", e);
        } finally {
            c.close();
        }
    }

    private void count(ConsumerRecord<String, String> record) {
        try {
            JsonNode letter = JSON.readTree(record.value());
            String id = letter.path("id").asText(record.partition() + "@" + record.offset());
            synchronized (letters) {
                if (letters.add(id)) {
                    byReason.merge(letter.path("reason").asText("unknown"), 1L, Long::sum);
                }
            }
        } catch (Exception e) {
            LOG.warnf("an unreadable dead letter at offset %d: %s", record.offset(), e.getMessage());
        }
    }
}
