package dev.locus.stream;

import dev.locus.config.LocusConfig;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.annotation.Identifier;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.jboss.logging.Logger;

/**
 * Creates Locus's topics when they are missing (before the channels start), unless
 * {@code locus.topics.create=false} because an operator manages them (k8s/ declares them as
 * Strimzi KafkaTopics with the same settings).
 */
@ApplicationScoped
public class TopicSetup {
    private static final Logger LOG = Logger.getLogger(TopicSetup.class);

    @Inject
    LocusConfig config;

    @Inject
    @Identifier("default-kafka-broker")
    Map<String, Object> kafka;

    void create(@Observes @Priority(1) StartupEvent event) {
        LocusConfig.Topics t = config.topics();
        if (!t.create() || config.role().equalsIgnoreCase("none")) {
            return;
        }
        List<NewTopic> wanted = new ArrayList<>();
        wanted.add(new NewTopic(t.facts(), t.factPartitions(), (short) -1));
        // Results are keyed by model: one partition per model keeps a model's results in order at one aggregator.
        wanted.add(new NewTopic(t.results(), t.factPartitions(), (short) -1));
        wanted.add(new NewTopic(t.deadLetters(), 1, (short) -1));
        wanted.add(new NewTopic(t.stats(), 1, (short) -1).configs(Map.of("cleanup.policy", "compact", "max.message.bytes", "16777216")));
        // One partition: every instance reads all announcements in one order, so the first of a version is the same everywhere.
        wanted.add(new NewTopic(t.models(), 1, (short) -1).configs(Map.of("cleanup.policy", "compact")));
        try (Admin admin = Admin.create(clientSettings(kafka))) {
            Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            List<NewTopic> missing = wanted.stream().filter(n -> !existing.contains(n.name())).toList();
            for (var entry : admin.createTopics(missing).values().entrySet()) {
                try {
                    entry.getValue().get(30, TimeUnit.SECONDS);
                    LOG.infof("created topic %s", entry.getKey());
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw e;
                    }
                }
            }
        } catch (Exception e) {
            throw new IllegalStateException("cannot create Locus's Kafka topics (set locus.topics.create=false if they are managed "
                    + "elsewhere): " + e.getMessage(), e);
        }
    }

    /** Settings of a consumer that reads a topic as text by assignment, committing nothing (the registry's, the dead-letter counts'). */
    static Map<String, Object> textReaderSettings(Map<String, Object> kafka) {
        Map<String, Object> settings = clientSettings(kafka);
        settings.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
                StringDeserializer.class.getName());
        settings.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                StringDeserializer.class.getName());
        settings.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        return settings;
    }

    /** The Kafka client settings of the application (bootstrap servers, TLS, SASL) without the keys only SmallRye knows. */
    static Map<String, Object> clientSettings(Map<String, Object> kafka) {
        Map<String, Object> out = new HashMap<>();
        kafka.forEach((k, v) -> {
            if (!k.startsWith("health") && !k.startsWith("devservices") && !k.startsWith("snappy")) {
                out.put(k, v);
            }
        });
        return out;
    }
}
