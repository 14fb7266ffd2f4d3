package dev.locus.stream;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.config.LocusConfig;
import dev.locus.facts.FactIntake;
import dev.locus.study.FactStudyRunner;
import dev.locus.study.ResultEvent;
import dev.locus.study.StudySettings;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.reactive.messaging.annotations.Blocking;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
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

    /** Results sent and not yet acknowledged by the broker, at most (well below the emitter's buffer). */
    static final int MAX_UNACKNOWLEDGED = 64;

    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean stopping;
    private CompletableFuture<FactStudyRunner> runner;
    private FactIntake intake;
    private List<String> knownModels;

    void start(@Observes StartupEvent event) {
        if (!Roles.worker(config.role())) {
            return;
        }
        intake = new FactIntake(new FactIntake.Limits(config.limits().maxMessageBytes(), config.limits().maxPromptChars()));
        StudySettings settings = settings(config);
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

    /**
     * A fact in progress at shutdown is abandoned, not acknowledged: its next result is not
     * published, the exception leaves its offset uncommitted, and the fact is redone after the
     * restart (the results it already published come again with the same ids and count once).
     * The model is closed only when no fact uses it any more.
     */
    void stop(@Observes ShutdownEvent event) throws InterruptedException {
        stopping = true;
        for (int i = 0; i < 100 && inFlight.get() > 0; i++) {
            Thread.sleep(100);
        }
        if (runner != null && inFlight.get() == 0) {
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
        requireRunning();
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
        List<CompletableFuture<Void>> sent = new ArrayList<>();
        try {
            r.run(accepted.fact(), event -> publish(event, sent));
            awaitAll(sent); // every result is on the broker before the fact is acknowledged
            registry.counter("locus_facts_completed", "model", model).increment();
        } catch (IllegalArgumentException e) { // InvalidFactException among them
            // e.g. a prompt longer than the model's context, or a subject the tokenizer cannot place
            requireRunning();
            deadLetters.publish("worker", "invalid_for_model", e.getMessage(), record, model);
        } catch (RuntimeException e) {
            requireRunning(); // a failure caused by the shutdown is no fault of the fact

            LOG.errorf(e, "fact %s failed", accepted.fact().id());
            deadLetters.publish("worker", "processing_failed", e.getClass().getSimpleName() + ": " + e.getMessage(), record, model);
        } finally {
            inFlight.decrementAndGet();
        }
    }

    private void requireRunning() {
        if (stopping) {
            throw new IllegalStateException("the worker is shutting down; the fact will be redelivered");
        }
    }

    /**
     * Sends a result without waiting for the broker, so the acknowledgement overlaps the next edit; the caller awaits
     * them all before the fact is acknowledged. At most {@link #MAX_UNACKNOWLEDGED} are outstanding at a time.
     */
    private void publish(ResultEvent event, List<CompletableFuture<Void>> sent) {
        requireRunning();
        try {
            sent.add(results.send(event.key(), JSON.writeValueAsString(event)));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        if (sent.size() >= MAX_UNACKNOWLEDGED) {
            awaitAll(sent);
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

    /** Waits until the broker has acknowledged every result sent (a failed send fails the fact) and forgets them. */
    private static void awaitAll(List<CompletableFuture<Void>> sent) {
        CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).join();
        sent.clear();
    }

    private Timer timer(String name, String... tags) {
        return Timer.builder(name).tags(tags).publishPercentileHistogram().register(registry);
    }

    public static StudySettings settings(LocusConfig c) {
        Map<String, Integer> windows = c.tracing().windows();
        int[] layers = c.grid().layers().map(l -> l.stream().mapToInt(Integer::intValue).toArray()).orElse(null);
        return new StudySettings(
                new StudySettings.Model(c.model().dir().orElse(null), c.model().name().orElse(null), c.model().device()),
                new StudySettings.Edits(c.grid().methods(), c.grid().problems(), layers),
                new StudySettings.Tracing(c.tracing().samples(), c.tracing().seed(), windows, c.tracing().noiseSigma().orElse(Double.NaN),
                        c.tracing().noiseSubjects().orElse(null), c.tracing().minPClean()),
                new StudySettings.Editing(c.editing().config(), c.editing().corpus().orElse(null), c.editing().cache()));
    }
}
