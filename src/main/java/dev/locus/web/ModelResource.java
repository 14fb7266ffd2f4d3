package dev.locus.web;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.config.LocusConfig;
import dev.locus.stream.ModelAnnouncement;
import dev.locus.stream.ModelRegistry;
import dev.locus.stream.VersionProgress;
import dev.locus.stream.VersionStatus;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Model versions: announce one ({@code POST /api/models}, or MLflow's {@code model_version.created}
 * webhook at {@code POST /api/models/mlflow}) and list them with how far their evaluation has come.
 */
@Path("/api/models")
public class ModelResource {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    LocusConfig config;

    @Inject
    Credentials credentials;

    @Inject
    ModelRegistry registry;

    @Inject
    VersionProgress progress;

    /**
     * A version as listed: its announcement and its status — announced (no worker has taken it up), loading, evaluating,
     * done (every fact of the facts topic studied; it goes back to evaluating when new facts arrive) or failed (with the
     * reason) — with the facts done of those on the topic, from the version's consumer-group offsets, and an ETA at the
     * rate this instance has seen. {@code fingerprint}, {@code worker} and {@code updated_at} are from the latest report.
     */
    public record Listed(ModelAnnouncement announcement, String status, @JsonProperty("facts_done") long factsDone,
                         @JsonProperty("facts_total") long factsTotal, @JsonProperty("eta_seconds") Long etaSeconds, String fingerprint,
                         String reason, String worker, @JsonProperty("updated_at") String updatedAt) {}

    public record Refused(String error, List<String> problems) {}

    public record Conflicting(String error, ModelAnnouncement announced) {}

    @GET
    @Produces(MediaType.APPLICATION_JSON)
    public List<Listed> list() {
        return registry.versions().stream().map(this::listed).toList();
    }

    private Listed listed(ModelAnnouncement a) {
        VersionStatus reported = registry.status(a);
        VersionProgress.Count count = progress.count(a);
        String status;
        if (reported != null && reported.state().equals(VersionStatus.FAILED)) {
            status = VersionStatus.FAILED;
        } else if (count.total() > 0 && count.finished()) {
            status = "done";
        } else if (reported == null) {
            status = count.done() > 0 ? VersionStatus.EVALUATING : "announced";
        } else {
            status = reported.state();
        }
        Long eta = status.equals(VersionStatus.EVALUATING) || status.equals("done") ? progress.etaSeconds(a, count) : null;
        return reported == null ? new Listed(a, status, count.done(), count.total(), eta, null, null, null, null)
                : new Listed(a, status, count.done(), count.total(), eta, reported.fingerprint(), reported.reason(), reported.worker(),
                reported.at());
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response announce(@HeaderParam("X-API-Key") String apiKey, byte[] body) throws InterruptedException {
        Response refused = credentials.refusal(apiKey, "announce model versions");
        if (refused != null) {
            return refused;
        }
        ModelAnnouncement announcement;
        try {
            announcement = JSON.readValue(body == null ? new byte[0] : body, ModelAnnouncement.class);
        } catch (java.io.IOException e) {
            String reason = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            return Response.status(Response.Status.BAD_REQUEST).entity(new Refused("not an announcement", List.of(reason))).build();
        }
        return announce(announcement, "api");
    }

    /**
     * MLflow's model-registry webhook. The version's checkpoint directory comes from its tag {@code locus.checkpoint}, else from
     * its {@code source} where that is a local path; tags {@code locus.baseline} and {@code locus.editing_config} set those.
     * Events other than model_version.created are acknowledged and ignored, so MLflow does not retry them.
     */
    @POST
    @Path("/mlflow")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response mlflow(@HeaderParam("X-MLflow-Signature") String signature, @HeaderParam("X-MLflow-Delivery-Id") String deliveryId,
                           @HeaderParam("X-MLflow-Timestamp") String timestamp, byte[] body) throws InterruptedException {
        Optional<String> secret = config.api().mlflowWebhookSecret();
        if (secret.isEmpty()) {
            return Credentials.error(Response.Status.NOT_FOUND, "the MLflow webhook is off: set locus.api.mlflow-webhook-secret");
        }
        byte[] payload = body == null ? new byte[0] : body;
        if (!MlflowSignature.valid(secret.get(), deliveryId, timestamp, payload, signature)) {
            return Credentials.error(Response.Status.UNAUTHORIZED, "missing or invalid X-MLflow-Signature (HMAC-SHA256 of "
                    + "'<X-MLflow-Delivery-Id>.<X-MLflow-Timestamp>.<body>' with the webhook's secret)");
        }
        if (!MlflowSignature.fresh(timestamp, System.currentTimeMillis() / 1000)) {
            return Credentials.error(Response.Status.BAD_REQUEST, "X-MLflow-Timestamp is more than " + MlflowSignature.MAX_AGE_SECONDS
                    + " s away from now: a replayed or delayed delivery");
        }
        JsonNode event;
        try {
            event = JSON.readTree(payload);
        } catch (java.io.IOException e) {
            return Response.status(Response.Status.BAD_REQUEST).entity(new Refused("the payload is not JSON", List.of(e.getMessage()))).build();
        }
        if (!event.path("entity").asText().equals("model_version") || !event.path("action").asText().equals("created")) {
            return Response.ok(Map.of("ignored", "not a model_version.created event")).build();
        }
        return announce(fromMlflow(event.path("data")), "mlflow");
    }

    private static ModelAnnouncement fromMlflow(JsonNode data) {
        JsonNode tags = data.path("tags");
        String source = data.path("source").asText(null);
        String checkpoint = tags.path("locus.checkpoint").asText(null);
        if (checkpoint == null && source != null && (source.startsWith("/") || source.startsWith("file:"))) {
            checkpoint = source.startsWith("file://") ? source.substring(7) : source.startsWith("file:") ? source.substring(5) : source;
        }
        return new ModelAnnouncement(data.path("name").asText(null), data.path("version").asText(null), checkpoint,
                tags.path("locus.baseline").asText(null), tags.path("locus.editing_config").asText(null), null,
                tags.path("locus.fingerprint").asText(null), null, null);
    }

    private Response announce(ModelAnnouncement announcement, String source) throws InterruptedException {
        List<String> problems = announcement.problems();
        if (!problems.isEmpty()) {
            return Response.status(Response.Status.BAD_REQUEST)
                    .entity(new Refused("the announcement of " + announcement.name() + " " + announcement.version() + " is invalid", problems))
                    .build();
        }
        ModelRegistry.Outcome outcome = registry.announce(announcement, source);
        if (outcome instanceof ModelRegistry.Conflict c) {
            return Response.status(Response.Status.CONFLICT).entity(new Conflicting("version " + announcement.version() + " of "
                    + announcement.name() + " was announced before with other content; announce a new version instead", c.announcement())).build();
        }
        return Response.status(outcome instanceof ModelRegistry.Announced ? Response.Status.ACCEPTED : Response.Status.OK)
                .entity(outcome.announcement()).build();
    }
}
