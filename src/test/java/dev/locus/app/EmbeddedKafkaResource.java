package dev.locus.app;

import dev.locus.stream.EmbeddedKafka;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * Starts an {@link EmbeddedKafka} broker in a fresh temporary directory for a {@code @QuarkusTest} and points
 * {@code kafka.bootstrap.servers} at it. Quarkus stops test resources after the application (and so its Kafka
 * clients) has stopped, which is the order the broker needs.
 */
public class EmbeddedKafkaResource implements QuarkusTestResourceLifecycleManager {

    private Path dir;
    private EmbeddedKafka kafka;

    @Override
    public Map<String, String> start() {
        try {
            dir = Files.createTempDirectory("locus-kafka-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        kafka = startBroker(dir);
        return config(kafka);
    }

    /** The broker, with its data under {@code dir}; a plain one here. */
    protected EmbeddedKafka startBroker(Path dir) {
        return EmbeddedKafka.start(dir);
    }

    /** What the application is told: where the broker is (and, for a secured one, how to log in). */
    protected Map<String, String> config(EmbeddedKafka broker) {
        return Map.of("kafka.bootstrap.servers", broker.bootstrapServers());
    }

    @Override
    public void stop() {
        try {
            if (kafka != null) {
                kafka.close();
            }
        } finally {
            kafka = null;
            deleteRecursively(dir);
            dir = null;
        }
    }

    static void deleteRecursively(Path root) {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
