package dev.locus.stream;

import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.Record;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.concurrent.CompletableFuture;
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

    /** Sends one result now; the future completes when the broker has acknowledged it (or fails with the send). */
    public CompletableFuture<Void> send(String key, String value) {
        return emitter.send(Record.of(key, value)).subscribeAsCompletionStage();
    }
}
