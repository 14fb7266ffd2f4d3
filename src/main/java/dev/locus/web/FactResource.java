package dev.locus.web;

import dev.locus.config.LocusConfig;
import dev.locus.facts.FactIntake;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.Record;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.microprofile.reactive.messaging.Channel;

/**
 * Fact submission: one fact (JSON) or a batch (JSON lines), in Locus's form or a CounterFact form.
 * All lines are validated first; if any is bad nothing is published and the answer is 400 with
 * the reason per line. Good facts are published, normalised, to {@code locus.facts}, keyed by id.
 */
@Path("/api/facts")
@jakarta.inject.Singleton // one count of submissions being published, for all requests
public class FactResource {
    @Inject
    LocusConfig config;

    @Inject
    Credentials credentials;

    @Inject
    @Channel("fact-submissions")
    MutinyEmitter<Record<String, String>> facts;

    public record LineError(int line, String reason, String message) {}

    public record Rejection(String error, List<LineError> lines) {}

    public record Accepted(int published, List<String> ids) {}

    private final AtomicInteger publishing = new AtomicInteger();

    @POST
    @Consumes({MediaType.APPLICATION_JSON, "application/x-ndjson", "application/jsonl", MediaType.TEXT_PLAIN})
    @Produces(MediaType.APPLICATION_JSON)
    public Response submit(@HeaderParam("X-API-Key") String apiKey, byte[] body) {
        Response refused = credentials.refusal(apiKey, "submit facts");
        if (refused != null) {
            return refused;
        }
        FactIntake intake = new FactIntake(new FactIntake.Limits(config.limits().maxMessageBytes(), config.limits().maxPromptChars()));
        List<FactIntake.Result> results = intake.acceptLines(body == null ? new byte[0] : body);
        if (results.isEmpty()) {
            return error(Response.Status.BAD_REQUEST, "no facts in the request body");
        }
        if (results.size() > config.limits().maxBatchFacts()) {
            return error(Response.Status.REQUEST_ENTITY_TOO_LARGE, "at most " + config.limits().maxBatchFacts() + " facts per request");
        }
        List<LineError> errors = new ArrayList<>();
        for (int i = 0; i < results.size(); i++) {
            if (results.get(i) instanceof FactIntake.Rejected r) {
                errors.add(new LineError(i + 1, r.reason(), r.message()));
            }
        }
        if (!errors.isEmpty()) {
            return Response.status(Response.Status.BAD_REQUEST)
                    .entity(new Rejection(errors.size() + " of " + results.size() + " facts rejected; nothing was published", errors)).build();
        }
        if (publishing.incrementAndGet() > config.limits().maxConcurrentSubmissions()) {
            publishing.decrementAndGet();
            return Response.status(429).header("Retry-After", "1").entity(Map.of("error", "more than "
                    + config.limits().maxConcurrentSubmissions() + " submissions are being published; nothing of this one was: retry it")).build();
        }
        try {
            List<String> ids = new ArrayList<>();
            for (FactIntake.Result r : results) {
                FactIntake.Accepted a = (FactIntake.Accepted) r;
                facts.sendAndAwait(Record.of(a.fact().id(), FactIntake.json(a.fact(), a.models())));
                ids.add(a.fact().id());
            }
            return Response.accepted(new Accepted(ids.size(), ids)).build();
        } finally {
            publishing.decrementAndGet();
        }
    }

    private static Response error(Response.Status status, String message) {
        return Credentials.error(status, message);
    }
}
