package dev.locus.stream;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The shutdown contract of the worker's model, without a model: no new fact or result once it starts, and no close under a fact. */
class WorkerModelTest {
    @Test
    void shutdownRefusesNewWorkAndWaitsForTheFactInFlight() throws Exception {
        WorkerModel model = new WorkerModel(); // never started: this instance is no worker
        assertTrue(model.ready());
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread fact = new Thread(() -> model.inFlight(() -> {
            started.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        fact.start();
        assertTrue(started.await(10, TimeUnit.SECONDS));
        Thread stop = new Thread(() -> {
            try {
                model.stop(null);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        stop.start();
        stop.join(500);
        assertTrue(stop.isAlive(), "the shutdown waits for the fact in flight");
        assertThrows(IllegalStateException.class, model::requireRunning, "the fact publishes nothing more");
        assertThrows(IllegalStateException.class, model::await, "no new fact starts");
        release.countDown();
        stop.join(5000);
        assertFalse(stop.isAlive(), "the shutdown goes on once no fact is in flight");
        fact.join();
    }
}
