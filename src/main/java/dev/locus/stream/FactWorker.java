package dev.locus.stream;

import dev.locus.config.LocusConfig;
import dev.locus.facts.Fact;
import dev.locus.facts.FactIntake;
import dev.locus.study.FactStudyRunner;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.reactive.messaging.annotations.Blocking;
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

/**
 * The worker: takes facts from {@code locus.facts} one at a time, routes each (dead letter, another
 * worker's, or this model's) and studies it with the model ({@link WorkerModel}), publishing every
 * result as it comes ({@link ResultPublisher}). The fact's offset is acknowledged only when the
 * method returns, i.e. after the broker has every result of the fact (or its dead letter); an
 * exception, as at shutdown, leaves it unacknowledged, and the redelivered fact's results get the same ids.
 */
@ApplicationScoped
public class FactWorker {
    private static final Logger LOG = Logger.getLogger(FactWorker.class);

    @Inject
    LocusConfig config;

    @Inject
    WorkerModel model;

    @Inject
    ResultPublisher results;

    @Inject
    DeadLetters deadLetters;

    @Inject
    MeterRegistry registry;

    private FactIntake intake;

    @PostConstruct
    void init() {
        intake = new FactIntake(new FactIntake.Limits(config.limits().maxMessageBytes(), config.limits().maxPromptChars()));
    }

    /**
     * Acknowledged (and so committed) once the fact's results or dead letter are on the broker. A fact abandoned because
     * the worker is stopping is neither acknowledged nor failed: one log line, and it is redelivered after the restart
     * (a nack would fail the channel and log three stack traces for a deliberate stop).
     */
    @Incoming("facts")
    @Blocking("locus-model")
    public CompletionStage<Void> onFact(Message<byte[]> message) {
        @SuppressWarnings("unchecked")
        ConsumerRecord<String, byte[]> record = message.getMetadata(IncomingKafkaRecordMetadata.class)
                .orElseThrow(() -> new IllegalStateException("a fact without its Kafka record")).getRecord();
        try {
            FactStudyRunner runner = model.await();
            List<String> known = config.model().known().orElse(List.of(runner.modelName()));
            model.inFlight(() -> handle(record, runner, known, model::requireRunning));
        } catch (WorkerModel.ShuttingDown e) {
            LOG.infof("stopping: the fact at %s-%d@%d (key %s) is left unacknowledged and will be redone after the restart",
                    record.topic(), record.partition(), record.offset(), record.key());
            return new CompletableFuture<>(); // never completes: neither acknowledged nor failed
        }
        return message.ack();
    }

    /**
     * Routes one fact and studies it with {@code runner}: a dead letter if it is unusable or names none of the {@code known}
     * models, ignored if it is meant for another model, else studied. Returns once its results (or its dead letter) are on
     * the broker; {@code requireRunning} throws during shutdown, which leaves the fact to be redone. The announced-version
     * evaluator ({@link VersionEvaluator}) routes its facts here too.
     */
    void handle(ConsumerRecord<String, byte[]> record, FactStudyRunner runner, List<String> known, Runnable requireRunning) {
        String name = runner.modelName();
        registry.counter("locus_facts_received", "model", name).increment();
        FactIntake.Result result = intake.accept(record.value() == null ? new byte[0] : record.value());
        if (result instanceof FactIntake.Rejected rejected) {
            deadLetters.publish("intake", rejected.reason(), rejected.message(), record, name);
            return;
        }
        FactIntake.Accepted accepted = (FactIntake.Accepted) result;
        List<String> unknown = accepted.models().stream().filter(m -> !known.contains(m)).toList();
        if (!unknown.isEmpty()) {
            deadLetters.publish("intake", "unknown_model", "unknown model(s) " + unknown + "; known: " + known, record, name);
            return;
        }
        if (!accepted.models().isEmpty() && !accepted.models().contains(name)) {
            registry.counter("locus_facts_ignored", "model", name).increment(); // meant for another worker group
            return;
        }
        study(record, runner, accepted.fact(), requireRunning);
    }

    /** A fault of the fact is its dead letter and the worker goes on; a failure caused by the shutdown is no fault of the fact. */
    private void study(ConsumerRecord<String, byte[]> record, FactStudyRunner runner, Fact fact, Runnable requireRunning) {
        String name = runner.modelName();
        ResultPublisher.FactResults sent = results.forFact(requireRunning);
        try {
            runner.run(fact, sent);
            sent.awaitAll(); // every result is on the broker before the fact is acknowledged
            registry.counter("locus_facts_completed", "model", name).increment();
        } catch (IllegalArgumentException e) { // InvalidFactException among them
            // e.g. a prompt longer than the model's context, or a subject the tokenizer cannot place
            requireRunning.run();
            deadLetters.publish("worker", "invalid_for_model", e.getMessage(), record, name);
        } catch (RuntimeException e) {
            requireRunning.run();
            LOG.errorf(e, "fact %s failed", fact.id());
            deadLetters.publish("worker", "processing_failed", e.getClass().getSimpleName() + ": " + e.getMessage(), record, name);
        }
    }
}
