package dev.locus.stream;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * A topic's partitions with their earliest and latest offsets, and how far a consumer group's committed offsets are into
 * them: the one reading of progress that {@link VersionProgress} (per announced version) and {@link KafkaProgress} (per
 * worker group) share.
 */
record TopicOffsets(List<TopicPartition> partitions, Map<TopicPartition, Long> start, Map<TopicPartition, Long> end) {

    static TopicOffsets read(Admin admin, String topic) throws Exception {
        List<TopicPartition> partitions = admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic)
                .partitions().stream().map(p -> new TopicPartition(topic, p.partition())).toList();
        return new TopicOffsets(partitions, offsets(admin, partitions, OffsetSpec.earliest()), offsets(admin, partitions, OffsetSpec.latest()));
    }

    /** Records the topic holds now. */
    long records() {
        return partitions.stream().mapToLong(p -> end.get(p) - start.get(p)).sum();
    }

    /** Records a group with these committed offsets is past (none where it has committed nothing). */
    long past(Map<TopicPartition, OffsetAndMetadata> committed) {
        return partitions.stream().mapToLong(p -> position(committed, p) - start.get(p)).sum();
    }

    /** Partitions where such a group has records left. */
    Set<TopicPartition> pending(Map<TopicPartition, OffsetAndMetadata> committed) {
        Set<TopicPartition> out = new HashSet<>();
        partitions.stream().filter(p -> position(committed, p) < end.get(p)).forEach(out::add);
        return out;
    }

    private long position(Map<TopicPartition, OffsetAndMetadata> committed, TopicPartition p) {
        OffsetAndMetadata c = committed.get(p);
        return c == null ? start.get(p) : Math.max(start.get(p), c.offset());
    }

    private static Map<TopicPartition, Long> offsets(Admin admin, List<TopicPartition> partitions, OffsetSpec spec) throws Exception {
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        partitions.forEach(p -> request.put(p, spec));
        Map<TopicPartition, Long> out = new HashMap<>();
        admin.listOffsets(request).all().get(30, TimeUnit.SECONDS).forEach((p, info) -> out.put(p, info.offset()));
        return out;
    }
}
