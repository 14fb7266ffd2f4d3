package dev.locus.study;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import dev.locus.editing.EditResult;
import dev.locus.tracing.TraceJson;

/**
 * An event on {@code locus.results}: a trace, an edit, or a fact that was skipped (not analysed).
 * Every event names the model, its version and the fingerprint of its weights, the fact and the
 * grid, and has a deterministic id, so a redelivered or replayed result is recognised where it is
 * counted. Statistics are kept per model, version and grid, never pooled across them. Trace and
 * skipped events also carry the unedited model's {@code answer} (its greedy continuation of the
 * prompt, as long as the true object) next to p(true), what a version comparison's knowledge diff compares,
 * and the fact's {@code relation_id} where it has one, by which comparisons are broken down. A trace-only fact's
 * trace or skipped event says so ({@code trace_only: true}; absent for other facts, whose events are as they were), and
 * no edit ever follows it.
 * <p>
 * Read back by the {@code "type"} every event already carries ({@code EXISTING_PROPERTY}: writing
 * adds nothing, so the JSON stays as it was).
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, include = JsonTypeInfo.As.EXISTING_PROPERTY, property = "type", visible = true)
@JsonSubTypes({
        @JsonSubTypes.Type(value = ResultEvent.Trace.class, name = "trace"),
        @JsonSubTypes.Type(value = ResultEvent.Edit.class, name = "edit"),
        @JsonSubTypes.Type(value = ResultEvent.Skipped.class, name = "skipped")})
public sealed interface ResultEvent permits ResultEvent.Trace, ResultEvent.Edit, ResultEvent.Skipped {
    String id();

    String type();

    String model();

    /** The model version; the weights' fingerprint where none was configured, so new weights are a new version. */
    @JsonProperty("model_version")
    String modelVersion();

    @JsonProperty("model_fingerprint")
    String modelFingerprint();

    @JsonProperty("grid_id")
    String gridId();

    @JsonProperty("fact_id")
    String factId();

    /** Kafka key: all results of one model land in one partition, hence with one aggregator. */
    default String key() {
        return model();
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Trace(String id, String type, String model, @JsonProperty("model_version") String modelVersion,
                 @JsonProperty("model_fingerprint") String modelFingerprint,
                 @JsonProperty("fact_id") String factId, @JsonProperty("grid_id") String gridId, Grid grid,
                 TraceJson trace, String answer, @JsonProperty("relation_id") String relationId,
                 @JsonProperty("duration_ms") long durationMs, @JsonProperty("trace_only") Boolean traceOnly) implements ResultEvent {}

    record Edit(String id, String type, String model, @JsonProperty("model_version") String modelVersion,
                @JsonProperty("model_fingerprint") String modelFingerprint,
                @JsonProperty("fact_id") String factId, @JsonProperty("grid_id") String gridId, Grid grid,
                EditResult edit) implements ResultEvent {}

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Skipped(String id, String type, String model, @JsonProperty("model_version") String modelVersion,
                   @JsonProperty("model_fingerprint") String modelFingerprint,
                   @JsonProperty("fact_id") String factId, @JsonProperty("grid_id") String gridId, Grid grid,
                   @JsonProperty("p_clean") double pClean, String answer, @JsonProperty("relation_id") String relationId, String reason,
                   @JsonProperty("duration_ms") long durationMs, @JsonProperty("trace_only") Boolean traceOnly)
            implements ResultEvent {}
}
