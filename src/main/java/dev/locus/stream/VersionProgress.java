package dev.locus.stream;

import dev.locus.config.LocusConfig;
import io.quarkus.runtime.ShutdownEvent;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * How far each announced version's evaluation has come, from what Kafka itself records: the facts on
 * {@code locus.facts} (end minus start offsets) against the offsets the version's consumer group
 * has committed. Workers commit a fact's offset once its results are on the broker, so this count is
 * exact in whichever process asks, whatever runs where.
 */
@ApplicationScoped
public class VersionProgress {
    @Inject
    LocusConfig config;

    @Inject
    @Identifier("default-kafka-broker")
    Map<String, Object> kafka;

    private Admin admin;
    private final Map<String, long[]> firstSeen = new HashMap<>(); // version → {nanos, done} when this instance first saw it unfinished

    /** Facts of the topic that the version's group is past, of all facts the topic holds. */
    public record Count(long done, long total) {
        public boolean finished() {
            return done >= total;
        }
    }

    /** The consumer group that reads the facts topic for one version: its committed offsets are the version's progress. */
    public static String group(ModelAnnouncement version) {
        return "locus-version-" + version.key(); // '|' is in neither names nor versions, so no two versions share a group
    }

    public synchronized Count count(ModelAnnouncement version) {
        try {
            TopicOffsets facts = TopicOffsets.read(admin(), config.topics().facts());
            Map<TopicPartition, OffsetAndMetadata> committed = admin().listConsumerGroupOffsets(group(version)).partitionsToOffsetAndMetadata()
                    .get(30, TimeUnit.SECONDS);
            return new Count(facts.past(committed), facts.records());
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new IllegalStateException("cannot read the progress of " + version.key() + " from Kafka: " + e.getMessage(), e);
        }
    }

    /**
     * Seconds until {@code version} is done at the rate this instance has seen it progress since it first saw it
     * unfinished; null until it has seen a fact done.
     */
    public synchronized Long etaSeconds(ModelAnnouncement version, Count count) {
        if (count.finished()) {
            firstSeen.remove(version.key());
            return 0L;
        }
        long now = System.nanoTime();
        long[] first = firstSeen.computeIfAbsent(version.key(), k -> new long[] {now, count.done()});
        double seconds = (now - first[0]) / 1e9;
        long progressed = count.done() - first[1];
        return progressed <= 0 || seconds <= 0 ? null : Math.round((count.total() - count.done()) * seconds / progressed);
    }

    private Admin admin() {
        if (admin == null) {
            admin = Admin.create(TopicSetup.clientSettings(kafka));
        }
        return admin;
    }

    synchronized void stop(@Observes ShutdownEvent event) {
        if (admin != null) {
            admin.close();
        }
    }
}
