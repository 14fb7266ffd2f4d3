package dev.locus.stream;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * What a worker reports about its evaluation of a model version, on {@code locus.models} under the key
 * {@code name|version|status} (compaction keeps the latest): it is {@code loading} the checkpoint, {@code evaluating} it
 * (with the fingerprint of the weights it loaded), or the version {@code failed} (with the reason; workers do not take it
 * up again). How many facts are done is not reported here: it is the version's consumer-group offsets, which say it exactly.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record VersionStatus(String name, String version, String state, String fingerprint, String reason, String worker, String at) {
    public static final String LOADING = "loading";
    public static final String EVALUATING = "evaluating";
    public static final String FAILED = "failed";

    static final String KEY_SUFFIX = "|status";

    public String key() {
        return name + "|" + version + KEY_SUFFIX;
    }

    public String versionKey() {
        return name + "|" + version;
    }
}
