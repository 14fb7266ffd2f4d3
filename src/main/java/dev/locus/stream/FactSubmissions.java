package dev.locus.stream;

import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.Record;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.reactive.messaging.Channel;

/** The fact-submissions channel behind a normal-scoped bean, for {@link DemoFacts} (see {@link ResultsChannel} for why). */
@ApplicationScoped
public class FactSubmissions {
    @Inject
    @Channel("fact-submissions")
    MutinyEmitter<Record<String, String>> emitter;

    public void sendAndAwait(String key, String value) {
        emitter.sendAndAwait(Record.of(key, value));
    }
}
