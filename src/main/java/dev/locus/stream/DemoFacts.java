package dev.locus.stream;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.config.LocusConfig;
import dev.locus.facts.Fact;
import dev.locus.testbed.Testbed;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.List;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/** The one-command demo's feed: publishes the testbed facts to {@code locus.facts} at start. */
@ApplicationScoped
public class DemoFacts {
    private static final Logger LOG = Logger.getLogger(DemoFacts.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    LocusConfig config;

    @ConfigProperty(name = "quarkus.http.port", defaultValue = "8080")
    int port;

    @Inject
    FactSubmissions facts;

    void publish(@Observes StartupEvent event) {
        if (!config.demo().publishTestbedFacts()) {
            return;
        }
        List<Fact> all = Testbed.GPT2.facts();
        List<Fact> chosen = all.subList(0, Math.min(all.size(), config.demo().facts()));
        Thread feeder = new Thread(() -> {
            for (Fact fact : chosen) {
                try {
                    facts.sendAndAwait(fact.id(), JSON.writeValueAsString(fact));
                } catch (JsonProcessingException e) {
                    throw new IllegalStateException(e);
                }
            }
            LOG.infof("demo: published %d testbed facts to %s. Live page: http://localhost:%d/  metrics: http://localhost:%d/q/metrics",
                    chosen.size(), config.topics().facts(), port, port);
        }, "locus-demo-facts");
        feeder.setDaemon(true);
        feeder.start();
    }
}
