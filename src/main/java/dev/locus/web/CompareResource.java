package dev.locus.web;

import dev.locus.stream.AggregatorService;
import dev.locus.stream.ModelAnnouncement;
import dev.locus.stream.ModelRegistry;
import dev.locus.stream.VersionComparisons;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

/**
 * A candidate version against its baseline, live (schemas/comparison.schema.json): per method × problem × metric the
 * paired per-layer differences with 95 % intervals, each version's best layer, tracing peak and R² with intervals, a
 * verdict, and the knowledge diff with fact ids. From this instance's aggregator.
 */
@Path("/api/compare")
public class CompareResource {
    @Inject
    AggregatorService aggregator;

    @Inject
    ModelRegistry registry;

    /**
     * {@code baseline} defaults to the one the candidate was announced with; {@code baseline_grid} and {@code candidate_grid}
     * to each version's grid with the most results; {@code relation} restricts it to the facts of one relation (the answer's
     * {@code relations} lists them with their fact counts; "" is facts without one).
     */
    @GET
    @Produces(MediaType.APPLICATION_JSON)
    public Response compare(@QueryParam("model") String model, @QueryParam("baseline") String baseline,
                            @QueryParam("candidate") String candidate, @QueryParam("baseline_grid") String baselineGrid,
                            @QueryParam("candidate_grid") String candidateGrid, @QueryParam("relation") String relation) {
        if (!aggregator.enabled()) {
            return Credentials.error(Response.Status.NOT_FOUND, "this instance does not aggregate (locus.role=worker); ask the aggregator");
        }
        if (model == null || candidate == null) {
            return Credentials.error(Response.Status.BAD_REQUEST, "give model and candidate (and baseline, unless the candidate was "
                    + "announced with one): /api/compare?model=NAME&baseline=VERSION&candidate=VERSION");
        }
        String base = baseline;
        if (base == null) {
            base = registry.versions().stream().filter(v -> v.name().equals(model) && v.version().equals(candidate))
                    .map(ModelAnnouncement::baseline).filter(java.util.Objects::nonNull).findFirst().orElse(null);
            if (base == null) {
                return Credentials.error(Response.Status.BAD_REQUEST, "version " + candidate + " of " + model
                        + " was not announced with a baseline: give baseline=VERSION");
            }
        }
        String b = base;
        return aggregator.compare(model, base, candidate, baselineGrid, candidateGrid, relation)
                .map(c -> Response.ok(c).build())
                .orElseGet(() -> Credentials.error(Response.Status.NOT_FOUND, "no results yet of " + model + " version " + b + " or "
                        + candidate + (baselineGrid != null || candidateGrid != null ? " on the grids asked for" : "")));
    }
}
