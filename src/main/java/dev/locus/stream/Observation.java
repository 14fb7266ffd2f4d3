package dev.locus.stream;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.editing.EditResult;
import dev.locus.study.ResultEvent;

/**
 * One record of {@code locus.results} as the aggregator counts it, read and checked once where it
 * comes in ({@link #read}): the group it counts in, the 64-bit prefix of its id (what the group's
 * counted-id set holds), what it is, and for a successful edit the point it adds to the statistics.
 * {@code point} is null for the other kinds.
 */
public record Observation(StatsState.GroupKey group, long id, Kind kind, StatsState.Point point) {
    public enum Kind { TRACE, SKIPPED, EDIT, FAILED_EDIT }

    /** A record that is no result event the aggregator can count: not JSON, an unknown type, no model or grid, no usable id. */
    public static final class Unreadable extends Exception {
        Unreadable(String message) {
            super(message);
        }
    }

    /** Fields the aggregator does not use may be missing, and ones it does not know (a newer worker's) are ignored. */
    static final ObjectMapper JSON = new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    public Observation {
        if ((kind == Kind.EDIT) != (point != null)) {
            throw new IllegalArgumentException("a point is what a successful edit, and only one, adds: " + kind + ", " + point);
        }
    }

    /** The result event written as {@code json} (null for a tombstone). */
    public static Observation read(String json) throws Unreadable {
        if (json == null) {
            throw new Unreadable("no value");
        }
        try {
            return of(JSON.readValue(json, ResultEvent.class));
        } catch (JsonProcessingException e) {
            throw new Unreadable(e.getOriginalMessage());
        }
    }

    public static Observation of(ResultEvent event) throws Unreadable {
        if (absent(event.model())) {
            throw new Unreadable("no model");
        }
        // Results of workers from before versions carry none: their weights' fingerprint is their version, as it is now by default.
        String version = !absent(event.modelVersion()) ? event.modelVersion() : event.modelFingerprint();
        if (absent(version) || absent(event.gridId())) {
            throw new Unreadable("no model version or fingerprint, or no grid id");
        }
        long id = idPrefix(event.id());
        if (!(event instanceof ResultEvent.Edit e)) {
            return new Observation(new StatsState.GroupKey(event.model(), version, event.gridId(), "*", "*"), id,
                    event instanceof ResultEvent.Trace ? Kind.TRACE : Kind.SKIPPED, null);
        }
        EditResult edit = e.edit();
        if (edit == null || absent(edit.method()) || absent(edit.problem()) || edit.layer() < 0) {
            throw new Unreadable("an edit without its method, problem or layer");
        }
        StatsState.GroupKey group = new StatsState.GroupKey(e.model(), version, e.gridId(), edit.method(), edit.problem());
        if (!"ok".equals(edit.status())) {
            return new Observation(group, id, Kind.FAILED_EDIT, null);
        }
        return new Observation(group, id, Kind.EDIT, new StatsState.Point(edit.layer(), edit.tracingValue(), edit.rewriteScore(),
                edit.paraphraseScore(), edit.neighborhoodScore(), edit.overallScore()));
    }

    private static boolean absent(String s) {
        return s == null || s.isEmpty();
    }

    /** Ids are hex SHA-256 prefixes; 64 bits of them tell results apart (see StatsState). */
    private static long idPrefix(String id) throws Unreadable {
        try {
            return Long.parseUnsignedLong(id.substring(0, 16), 16);
        } catch (RuntimeException e) { // null, shorter than 16 or not hex
            throw new Unreadable("no id of 16 hex digits or more: " + id);
        }
    }
}
