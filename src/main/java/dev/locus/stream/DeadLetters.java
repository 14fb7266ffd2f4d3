package dev.locus.stream;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.model.Sha256;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.Record;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.Base64;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.reactive.messaging.Channel;

/** Publishes unusable input to {@code locus.facts.dlq} with the original bytes and the reason, and counts it by reason. */
@ApplicationScoped
public class DeadLetters {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    @Channel("dead-letters")
    MutinyEmitter<Record<String, String>> emitter;

    @Inject
    MeterRegistry registry;

    /** Publishes and waits until the broker has the record, so the caller may then acknowledge the input. */
    public DeadLetter publish(String stage, String reason, String message, ConsumerRecord<String, byte[]> source, String model) {
        DeadLetter letter = letter(stage, reason, message, source, model);
        try {
            emitter.sendAndAwait(Record.of(source.key(), JSON.writeValueAsString(letter)));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        registry.counter("locus_facts_rejected", "model", model, "stage", stage, "reason", reason).increment();
        return letter;
    }

    /**
     * The dead letter of {@code source}; its id depends only on where the message was, the stage and the model.
     * A null message (an exception without one) becomes the reason: the record always says why.
     */
    static DeadLetter letter(String stage, String reason, String message, ConsumerRecord<String, byte[]> source, String model) {
        return letter(stage, reason, message, source.topic(), source.partition(), source.offset(), source.key(),
                source.value() == null ? new byte[0] : source.value(), model);
    }

    /** The same for a message known by where it was and its bytes (the aggregator's, read as text). */
    static DeadLetter letter(String stage, String reason, String message, String topic, int partition, long offset, String key,
                             byte[] original, String model) {
        String id = Sha256.hex(topic + "|" + partition + "|" + offset + "|" + stage + "|" + model).substring(0, 32);
        return new DeadLetter(id, stage, reason, message == null ? reason : message, Base64.getEncoder().encodeToString(original), topic,
                partition, offset, key, model, Instant.now().toString());
    }
}
