package dev.locus.stream;

import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.Record;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.reactive.messaging.Channel;

/**
 * The results channel behind a normal-scoped bean. {@link FactWorker}'s startup observer creates
 * the worker in every mode, and the emitter of a channel that is switched off (as it is when a
 * command runs) cannot be injected; through this bean's client proxy the emitter is only looked
 * up when the first result is sent.
 */
@ApplicationScoped
public class ResultsChannel {
    @Inject
    @Channel("results")
    MutinyEmitter<Record<String, String>> emitter;

    /** Sends one result and waits for the broker's acknowledgement. */
    public void sendAndAwait(String key, String value) {
        emitter.sendAndAwait(Record.of(key, value));
    }
}
