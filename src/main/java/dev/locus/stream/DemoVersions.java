package dev.locus.stream;

import dev.locus.config.LocusConfig;
import dev.locus.model.Sha256;
import dev.locus.testbed.RewrittenTestbed;
import dev.locus.testbed.Testbed;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * The one-command demo's model versions: announces the GPT-2 testbed as version "1" and, as version "2" with "1" as its
 * baseline, the testbed with {@code locus.demo.rewritten-facts} rewritten ({@link RewrittenTestbed}, written once under
 * the editing cache). The workers then evaluate both on the demo's facts and the page compares them; the rewritten facts
 * are the ones the knowledge diff must show.
 */
@ApplicationScoped
public class DemoVersions {
    private static final Logger LOG = Logger.getLogger(DemoVersions.class);
    static final String NAME = "testbed";

    @Inject
    LocusConfig config;

    @Inject
    ModelRegistry registry;

    void announce(@Observes @Priority(40) StartupEvent event) {
        List<String> chosen = config.demo().rewrittenFacts();
        if (!config.demo().publishTestbedFacts() || !VersionEvaluator.announced(config) || chosen.equals(List.of("none"))) {
            return;
        }
        List<String> rewritten = chosen.equals(List.of("auto")) ? firstOfEachPartition() : chosen;
        Thread announcer = new Thread(() -> {
            try {
                Path dir = config.editing().cache().resolve("demo")
                        .resolve("testbed-2-" + Sha256.hex(String.join(",", rewritten)).substring(0, 12));
                RewrittenTestbed.write(Testbed.GPT2, rewritten, dir, config.editing().cache(), LOG::info);
                announce(new ModelAnnouncement(NAME, "1", Testbed.GPT2.label(), null, null, null, null, null, null));
                announce(new ModelAnnouncement(NAME, "2", dir.toString(), "1", null, null, null, null, null));
                LOG.infof("demo: announced %s versions 1 (as shipped) and 2 (%s rewritten); comparison: /api/compare?model=%s&baseline=1&candidate=2",
                        NAME, rewritten, NAME);
            } catch (Exception e) {
                LOG.error("demo: could not announce the testbed's two versions", e);
            }
        }, "locus-demo-versions");
        announcer.setDaemon(true);
        announcer.start();
    }

    /** The first testbed fact (in the order DemoFacts publishes them) of each partition, by the Kafka client's default partitioner. */
    private List<String> firstOfEachPartition() {
        int partitions = config.topics().factPartitions();
        java.util.Map<Integer, String> first = new java.util.TreeMap<>();
        for (dev.locus.facts.Fact f : Testbed.GPT2.facts()) {
            if (f.targetNew() != null) {
                int p = org.apache.kafka.common.utils.Utils.toPositive(org.apache.kafka.common.utils.Utils.murmur2(
                        f.id().getBytes(java.nio.charset.StandardCharsets.UTF_8))) % partitions;
                first.putIfAbsent(p, f.id());
            }
            if (first.size() == partitions) {
                break;
            }
        }
        return List.copyOf(first.values());
    }

    private void announce(ModelAnnouncement version) throws InterruptedException {
        ModelRegistry.Outcome outcome = registry.announce(version, "demo");
        if (outcome instanceof ModelRegistry.Conflict c) {
            LOG.warnf("demo: %s was announced before with other content (%s); keeping that", version.key(), c.announcement());
        }
    }
}
