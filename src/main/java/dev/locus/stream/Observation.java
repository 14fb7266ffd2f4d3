package dev.locus.stream;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.editing.EditResult;
import dev.locus.study.KnowledgeDiff;
import dev.locus.study.ResultEvent;
import dev.locus.tracing.TraceAverage;
import dev.locus.tracing.TraceJson;

/**
 * One record of {@code locus.results} as the aggregator counts it, read and checked once where it
 * comes in ({@link #read}): the group it counts in, the 64-bit prefix of its id (what the group's
 * counted-id set holds), the fact and the weights' fingerprint, what it is, for a successful edit
 * the point it adds to the statistics (null for the other kinds), and for a trace or skipped fact
 * what the unedited model knows of the fact (null for edits). A trace-only fact's trace or skipped event is
 * {@code traceOnly}, and its trace, checked to fit its tokens, is what it adds to the trace-only average
 * ({@code trace}, null for every other result).
 */
public record Observation(StatsState.GroupKey group, long id, String factId, String fingerprint, Kind kind, StatsState.Point point,
                          KnowledgeDiff.Knowledge knowledge, boolean traceOnly, TraceJson trace) {
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
        if ((kind == Kind.TRACE || kind == Kind.SKIPPED) != (knowledge != null)) {
            throw new IllegalArgumentException("knowledge is what a trace or skipped fact, and only they, add: " + kind + ", " + knowledge);
        }
        if ((kind == Kind.TRACE && traceOnly) != (trace != null) || traceOnly && kind != Kind.TRACE && kind != Kind.SKIPPED) {
            throw new IllegalArgumentException("a trace is what a trace-only fact's trace, and only that, adds: " + kind + ", " + traceOnly);
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
        String fact = absent(event.factId()) ? null : event.factId(); // counted without it, but not paired in comparisons
        String fingerprint = event.modelFingerprint();
        StatsState.GroupKey model = new StatsState.GroupKey(event.model(), version, event.gridId(), "*", "*");
        if (event instanceof ResultEvent.Trace t) {
            double p = t.trace() == null ? Double.NaN : t.trace().pClean();
            boolean traceOnly = Boolean.TRUE.equals(t.traceOnly());
            String problem = traceOnly ? TraceAverage.problem(t.trace()) : null;
            if (problem != null) {
                throw new Unreadable("a trace-only fact's trace that cannot be averaged: " + problem);
            }
            return new Observation(model, id, fact, fingerprint, Kind.TRACE, null, new KnowledgeDiff.Knowledge(p, t.answer(), t.relationId()),
                    traceOnly, traceOnly ? t.trace() : null);
        }
        if (event instanceof ResultEvent.Skipped s) {
            return new Observation(model, id, fact, fingerprint, Kind.SKIPPED, null, new KnowledgeDiff.Knowledge(s.pClean(), s.answer(), s.relationId()),
                    Boolean.TRUE.equals(s.traceOnly()), null);
        }
        ResultEvent.Edit e = (ResultEvent.Edit) event;
        EditResult edit = e.edit();
        if (edit == null || absent(edit.method()) || absent(edit.problem()) || edit.layer() < 0) {
            throw new Unreadable("an edit without its method, problem or layer");
        }
        StatsState.GroupKey group = new StatsState.GroupKey(e.model(), version, e.gridId(), edit.method(), edit.problem());
        if (!"ok".equals(edit.status())) {
            return new Observation(group, id, fact, fingerprint, Kind.FAILED_EDIT, null, null, false, null);
        }
        return new Observation(group, id, fact, fingerprint, Kind.EDIT, new StatsState.Point(edit.layer(), edit.tracingValue(),
                edit.rewriteScore(), edit.paraphraseScore(), edit.neighborhoodScore(), edit.overallScore(), edit.targetScore(),
                edit.essenceScore(), edit.fluencyPost()), null, false, null);
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
