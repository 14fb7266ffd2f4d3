package dev.locus.stream;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.app.LocusConfig;
import dev.locus.facts.FactIntake;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.reactive.messaging.annotations.Blocking;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

/**
 * The worker: takes facts from {@code locus.facts} one at a time, traces and edits each with the
 * configured grid, and publishes every result as soon as it exists. The fact's offset is
 * acknowledged only when the method returns, i.e. after the broker has every result of the fact
 * (or its dead letter); a crash before that redelivers the fact, and its results get the same ids.
 */
@ApplicationScoped
public class FactWorker {
    private static final Logger LOG = Logger.getLogger(FactWorker.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    LocusConfig config;

    @Inject
    DeadLetters deadLetters;

    @Inject
    MeterRegistry registry;

    @Inject
    ResultsChannel results;

    private final AtomicInteger inFlight = new AtomicInteger();
    private CompletableFuture<FactStudyRunner> runner;
    private FactIntake intake;
    private List<String> knownModels;

    void start(@Observes StartupEvent event) {
        if (!Roles.worker(config.role())) {
            return;
        }
        intake = new FactIntake(new FactIntake.Limits(config.limits().maxMessageBytes(), config.limits().maxPromptChars()));
        WorkerSettings settings = settings(config);
        // Loading happens off the startup thread; the first fact waits for it.
        runner = CompletableFuture.supplyAsync(() -> {
            long start = System.nanoTime();
            FactStudyRunner r = FactStudyRunner.open(settings, LOG::info);
            LOG.infof("worker ready: model %s (%s), grid %s, %.1f s", r.modelName(), r.fingerprint(), r.grid().id(),
                    (System.nanoTime() - start) / 1e9);
            return r;
        });
        runner.whenComplete((r, failure) -> {
            if (failure != null) {
                LOG.error("the worker's model could not be set up; no facts will be processed", failure);
            } else {
                knownModels = config.model().known().orElse(List.of(r.modelName()));
                registry.gauge("locus_facts_in_flight", List.of(io.micrometer.core.instrument.Tag.of("model", r.modelName())), inFlight);
            }
        });
    }

    void stop(@Observes ShutdownEvent event) {
        if (runner != null) {
            runner.thenAccept(FactStudyRunner::close);
        }
    }

    /** Readiness: the model is loaded (or this instance is no worker). */
    public boolean ready() {
        return runner == null || (runner.isDone() && !runner.isCompletedExceptionally());
    }

    @Incoming("facts")
    @Blocking("locus-model")
    public void onFact(ConsumerRecord<String, byte[]> record) {
        FactStudyRunner r = runner.join();
        String model = r.modelName();
        registry.counter("locus_facts_received", "model", model).increment();
        FactIntake.Result result = intake.accept(record.value() == null ? new byte[0] : record.value());
        if (result instanceof FactIntake.Rejected rejected) {
            deadLetters.publish("intake", rejected.reason(), rejected.message(), record, model);
            return;
        }
        FactIntake.Accepted accepted = (FactIntake.Accepted) result;
        List<String> unknown = accepted.models().stream().filter(m -> !knownModels.contains(m)).toList();
        if (!unknown.isEmpty()) {
            deadLetters.publish("intake", "unknown_model", "unknown model(s) " + unknown + "; known: " + knownModels, record, model);
            return;
        }
        if (!accepted.models().isEmpty() && !accepted.models().contains(model)) {
            registry.counter("locus_facts_ignored", "model", model).increment(); // meant for another worker group
            return;
        }
        inFlight.incrementAndGet();
        try {
            r.run(accepted.fact(), this::publish);
            registry.counter("locus_facts_completed", "model", model).increment();
        } catch (IllegalArgumentException e) { // InvalidFactException among them
            // e.g. a prompt longer than the model's context, or a subject the tokenizer cannot place
            deadLetters.publish("worker", "invalid_for_model", e.getMessage(), record, model);
        } catch (RuntimeException e) {
            LOG.errorf(e, "fact %s failed", accepted.fact().id());
            deadLetters.publish("worker", "processing_failed", e.getClass().getSimpleName() + ": " + e.getMessage(), record, model);
        } finally {
            inFlight.decrementAndGet();
        }
    }

    private void publish(ResultEvent event) {
        try {
            results.sendAndAwait(event.key(), JSON.writeValueAsString(event));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
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

    public static WorkerSettings settings(LocusConfig c) {
        Map<String, Integer> windows = c.tracing().windows();
        int[] layers = c.grid().layers().map(l -> l.stream().mapToInt(Integer::intValue).toArray()).orElse(null);
        return new WorkerSettings(c.model().dir().orElse(null), c.model().name().orElse(null), c.grid().methods(), c.grid().problems(),
                layers, c.tracing().samples(), c.tracing().seed(), windows, c.tracing().noiseSigma().orElse(Double.NaN),
                c.tracing().noiseSubjects().orElse(null), c.tracing().minPClean(), c.editing().config(),
                c.editing().corpus().orElse(null), c.editing().cache());
    }
}
