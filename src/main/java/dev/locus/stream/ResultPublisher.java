package dev.locus.stream;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.study.ResultEvent;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.Record;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.jboss.logging.Logger;

/**
 * Publishes results to {@code locus.results} as they come and measures them: the trace's and each
 * edit's duration ({@code locus_trace_duration}, {@code locus_edit_duration}), and the facts not
 * analysed ({@code locus_facts_not_analysed}).
 * <p>
 * Normal-scoped on purpose: the worker beans exist in every mode, and the emitter of a switched-off
 * channel (as it is when a command runs) cannot be injected; through the client proxy this bean,
 * and with it the emitter, is only created when the first result is sent.
 */
@ApplicationScoped
public class ResultPublisher {
    private static final Logger LOG = Logger.getLogger(ResultPublisher.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Results sent and not yet acknowledged by the broker, at most (well below the emitter's buffer). */
    static final int MAX_UNACKNOWLEDGED = 64;

    @Inject
    @Channel("results")
    MutinyEmitter<Record<String, String>> emitter;

    @Inject
    MeterRegistry registry;

    /** A sink for one fact's results; {@code beforeEach} runs before each is sent and may refuse it by throwing. */
    public FactResults forFact(Runnable beforeEach) {
        return new FactResults(beforeEach);
    }

    /**
     * One fact's results. Each is sent without waiting for the broker, so its acknowledgement
     * overlaps the next edit, with at most {@link #MAX_UNACKNOWLEDGED} outstanding; the worker
     * calls {@link #awaitAll} before it acknowledges the fact.
     */
    public final class FactResults implements Consumer<ResultEvent> {
        private final Runnable beforeEach;
        private final List<CompletableFuture<Void>> sent = new ArrayList<>();

        private FactResults(Runnable beforeEach) {
            this.beforeEach = beforeEach;
        }

        @Override
        public void accept(ResultEvent event) {
            beforeEach.run();
            try {
                sent.add(emitter.send(Record.of(event.key(), JSON.writeValueAsString(event))).subscribeAsCompletionStage());
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
            if (sent.size() >= MAX_UNACKNOWLEDGED) {
                awaitAll();
            }
            measure(event);
        }

        /** Waits until the broker has acknowledged every result sent (a failed send fails the fact) and forgets them. */
        public void awaitAll() {
            CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).join();
            sent.clear();
        }
    }

    private void measure(ResultEvent event) {
        if (event instanceof ResultEvent.Trace t) {
            timer("locus_trace_duration", "model", t.model()).record(Duration.ofMillis(t.durationMs()));
        } else if (event instanceof ResultEvent.Edit e) {
            if (!e.edit().status().equals("ok")) {
                LOG.warnf("edit failed: fact %s, %s %s at layer %d: %s", e.factId(), e.edit().method(), e.edit().problem(),
                        e.edit().layer(), e.edit().error());
            }
            timer("locus_edit_duration", "model", e.model(), "method", e.edit().method(), "problem", e.edit().problem())
                    .record(Duration.ofMillis(e.edit().durationMs()));
        } else {
            registry.counter("locus_facts_not_analysed", "model", event.model()).increment();
        }
    }

    private Timer timer(String name, String... tags) {
        return Timer.builder(name).tags(tags).publishPercentileHistogram().register(registry);
    }
}
