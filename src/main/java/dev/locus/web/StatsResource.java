package dev.locus.web;

import dev.locus.stream.AggregatorService;
import dev.locus.stream.StatsState;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.smallrye.mutiny.Multi;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
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

    /** A group's latest observations (oldest first): the scatter's points, not a basis for any figure. */
    public record Sample(String model, @JsonProperty("model_version") String version, @JsonProperty("grid_id") String grid,
                         String method, String problem, int capacity, List<StatsState.Point> points) {}

    @GET
    @Produces(MediaType.APPLICATION_JSON)
    public Stats current() {
        return new Stats(aggregator.enabled(), progress.now(), aggregator.view());
    }

    @GET
    @Path("/sample")
    @Produces(MediaType.APPLICATION_JSON)
    public Sample sample(@QueryParam("model") String model, @QueryParam("version") String version, @QueryParam("grid") String grid,
                         @QueryParam("method") String method, @QueryParam("problem") String problem) {
        return aggregator.view().stream()
                .filter(g -> g.model().equals(model) && g.version().equals(version) && g.grid().equals(grid)
                        && g.method().equals(method) && g.problem().equals(problem))
                .findFirst()
                .map(g -> new Sample(g.model(), g.version(), g.grid(), g.method(), g.problem(), StatsState.SAMPLE_SIZE, g.latest()))
                .orElseThrow(() -> new NotFoundException("no group " + String.join(" / ", model, version, grid, method, problem)));
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
