package dev.locus.stream;

import dev.locus.config.LocusConfig;
import dev.locus.study.FactStudyRunner;
import dev.locus.study.StudySettings;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.jboss.logging.Logger;

/**
 * The worker's model and grid, from load to close. Loading happens off the startup thread (a big
 * checkpoint takes minutes) and the first fact waits for it; the instance is ready once it is
 * loaded. Facts using it are counted in flight ({@code locus_facts_in_flight{model}}), so that a
 * shutdown closes it only when none does.
 */
@ApplicationScoped
public class WorkerModel {
    private static final Logger LOG = Logger.getLogger(WorkerModel.class);

    @Inject
    LocusConfig config;

    @Inject
    MeterRegistry registry;

    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean stopping;
    private CompletableFuture<FactStudyRunner> runner;

    void start(@Observes StartupEvent event) {
        if (!Roles.worker(config.role()) || VersionEvaluator.announced(config)) {
            return; // announced versions are loaded one at a time by the VersionEvaluator
        }
        StudySettings settings = StudySettingsMapping.from(config);
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
                registry.gauge("locus_facts_in_flight", Tags.of("model", r.modelName()), inFlight);
            }
        });
    }

    /**
     * From now on no fact starts and none publishes another result ({@link #requireRunning}); a
     * fact in progress is abandoned, not acknowledged, and redone after the restart. The model is
     * closed once no fact uses it (after 10 s of waiting, it is left to the process's end).
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

    /** The model once loaded (waiting for it); refused during shutdown. */
    public FactStudyRunner await() {
        requireRunning();
        return runner.join();
    }

    /** Runs one fact's work with the fact counted in flight, so the model is not closed under it. */
    public void inFlight(Runnable work) {
        inFlight.incrementAndGet();
        try {
            work.run();
        } finally {
            inFlight.decrementAndGet();
        }
    }

    /** Throws {@link ShuttingDown} during shutdown: the fact is left unacknowledged, so it is redelivered. */
    public void requireRunning() {
        if (stopping) {
            throw new ShuttingDown();
        }
    }

    /** A fact abandoned on purpose because the worker is stopping: not the fact's fault, not an error. */
    public static final class ShuttingDown extends IllegalStateException {
        ShuttingDown() {
            super("the worker is shutting down; the fact will be redelivered");
        }
    }
}
