package dev.locus.web;

import dev.locus.stream.AggregatorService;
import dev.locus.stream.StatsState;
import io.smallrye.mutiny.Multi;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.util.List;
import java.util.Map;
import org.jboss.resteasy.reactive.RestStreamElementType;

/** The live analysis as JSON, and as a server-sent-event stream of every update. */
@Path("/api/stats")
public class StatsResource {
    @Inject
    AggregatorService aggregator;

    @Inject
    Progress progress;

    public record Stats(boolean aggregating, Map<String, Object> progress, List<StatsState.GroupView> groups) {}

    @GET
    @Produces(MediaType.APPLICATION_JSON)
    public Stats current() {
        return new Stats(aggregator.enabled(), progress.now(), aggregator.view());
    }

    @GET
    @Path("/stream")
    @Produces(MediaType.SERVER_SENT_EVENTS)
    @RestStreamElementType(MediaType.APPLICATION_JSON)
    public Multi<Stats> stream() {
        // The current state first, so a new subscriber draws at once; then every update.
        return Multi.createBy().concatenating().streams(Multi.createFrom().item(current()),
                aggregator.updates().map(view -> new Stats(true, progress.now(), view)));
    }
}
