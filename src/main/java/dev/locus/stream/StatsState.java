package dev.locus.stream;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.locus.stats.LayerStatistics;
import dev.locus.study.KnowledgeDiff;
import dev.locus.study.VersionComparison;
import dev.locus.tracing.TraceAverage;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What the aggregator knows: per (model, version, grid, method, problem) the per-layer sufficient
 * statistics of every metric, and the ids of the results already counted, so a redelivered or
 * replayed result counts once. Versions and grids are never pooled: a redeployed model with other
 * weights, or a changed grid, starts groups of its own. Trace and skipped events count per model,
 * version and grid (method and problem "*"), and there, too, trace-only facts' traces are averaged
 * ({@link TraceAverage}: per kind and token group, and the tracing peak layer). No Kafka here:
 * the aggregator reads each result into an {@link Observation}, feeds it in, and snapshots it.
 * <p>
 * Besides the statistics, each group keeps its latest {@link #SAMPLE_SIZE} observations as they
 * were, for the live page's scatter of tracing value against score (sufficient statistics cannot
 * draw one). The sample is bounded, lives in memory only and is not part of the snapshots, so it
 * starts empty after a restart while the statistics carry on; it never feeds any figure.
 * <p>
 * For comparing versions, each group also keeps its facts one by one: an edit group every successful
 * edit's layer, tracing value and scores per fact ({@value #FACT_ROW} doubles an edit), the model's
 * group ("*") what the unedited model knows of each fact (p(true) and its answer). They are part of
 * the snapshots, so a comparison after a restart is computed from exactly what was counted before.
 * Access is synchronised: the aggregator's thread folds results in while others read.
 */
public final class StatsState {
    /**
     * The four scores of an edit (ALGORITHMS.md §4), then Hase et al.'s target_score, essence score and the edited model's
     * fluency (README, "Essence and fluency"), each analysed against the tracing value. The last three count only the edits
     * that carry them (the essence metrics on): a group whose edits have none has no statistics of them at all.
     */
    public static final List<String> METRICS = List.of("rewrite", "paraphrase", "neighborhood", "overall", "target", "essence", "fluency");

    /** How many of a group's latest observations it keeps for the page's scatter. */
    public static final int SAMPLE_SIZE = 500;

    /**
     * One successful edit as observed: layer, tracing value at that layer, the four scores and, where the edit has them,
     * target_score, essence_score and fluency_post (null otherwise, and left out of the page's JSON).
     */
    public record Point(int layer, double tracing, double rewrite, double paraphrase, double neighborhood, double overall,
                        @JsonInclude(JsonInclude.Include.NON_NULL) Double target,
                        @JsonInclude(JsonInclude.Include.NON_NULL) Double essence,
                        @JsonInclude(JsonInclude.Include.NON_NULL) Double fluency) {
        /** An edit without the essence metrics. */
        public Point(int layer, double tracing, double rewrite, double paraphrase, double neighborhood, double overall) {
            this(layer, tracing, rewrite, paraphrase, neighborhood, overall, null, null, null);
        }
    }

    public record GroupKey(String model, String version, String grid, String method, String problem) implements Comparable<GroupKey> {
        private static final java.util.Comparator<GroupKey> ORDER = java.util.Comparator.comparing(GroupKey::model)
                .thenComparing(GroupKey::version).thenComparing(GroupKey::grid).thenComparing(GroupKey::method)
                .thenComparing(GroupKey::problem);

        @Override
        public int compareTo(GroupKey o) {
            return ORDER.compare(this, o);
        }

        String text() {
            return model + "|" + version + "|" + grid + "|" + method + "|" + problem;
        }
    }

    /** One group's state in its snapshot form (the value of a {@code locus.stats} record). */
    public record GroupSnapshot(
            String aggregator,
            String model,
            @JsonProperty("model_version") String version,
            @JsonProperty("grid_id") String grid,
            String method,
            String problem,
            long traced,
            long skipped,
            long edits,
            @JsonProperty("failed_edits") long failedEdits,
            @JsonProperty("counted_ids") String countedIds,
            Map<String, LayerStatistics.Snapshot> statistics,
            Map<String, LayerStatistics.Analysis> analysis,
            @JsonProperty("results_offsets") Map<Integer, Long> resultsOffsets,
            @JsonProperty("updated_at") String updatedAt,
            @JsonProperty("fact_edits") Map<String, String> factEdits,
            Map<String, KnowledgeDiff.Knowledge> knowledge,
            @JsonProperty("conflicting_facts") List<String> conflictingFacts,
            @JsonProperty("trace_only") TraceAverage.Snapshot traceOnly) {}

    /**
     * A read-only view of one group, for metrics, REST and the page. {@code latest} (oldest first,
     * at most {@link #SAMPLE_SIZE}) is left out of the stats JSON; the page fetches it for one group. {@code traceOnly}
     * is the trace-only facts' average, in a model's group ("*") that has any, else null.
     */
    public record GroupView(String model, @JsonProperty("model_version") String version, @JsonProperty("grid_id") String grid,
                            String method, String problem, long traced, long skipped, long edits,
                            @JsonProperty("failed_edits") long failedEdits, Map<String, LayerStatistics.Analysis> analysis,
                            @JsonProperty("trace_only") TraceAverage.Summary traceOnly, @JsonIgnore List<Point> latest) {}

    /** Doubles kept per successful edit of a fact: layer, tracing value and the four scores. */
    static final int FACT_ROW = 6;

    private static final class Group {
        final Set<Long> counted = new HashSet<>();
        final Map<String, double[]> factEdits = new HashMap<>();
        final Map<String, KnowledgeDiff.Knowledge> knowledge = new HashMap<>();
        final Set<String> conflicting = new java.util.TreeSet<>();
        final Map<String, LayerStatistics> metrics = new LinkedHashMap<>();
        final ArrayDeque<Point> latest = new ArrayDeque<>();
        /** Null until the group's first trace-only result. */
        TraceAverage traceOnly;
        long traced;
        long skipped;
        long edits;
        long failedEdits;
    }

    private final Map<GroupKey, Group> groups = new TreeMap<>();
    private long revision;

    /**
     * Folds one result in; returns false when it was already counted. O(1) per result: a hash
     * lookup and one statistics update per metric (or, for a trace-only fact's trace, per kind, token group and layer).
     *
     * @throws IllegalArgumentException, changing nothing, for a trace-only fact's trace that does not fit the group's
     *     (another number of layers: no worker of one model version writes one)
     */
    public synchronized boolean add(Observation result) {
        Group group = groups.computeIfAbsent(result.group(), k -> new Group());
        if (group.counted.contains(result.id())) {
            return false;
        }
        String unfit = result.trace() == null ? null
                : group.traceOnly == null ? TraceAverage.problem(result.trace()) : group.traceOnly.problemWith(result.trace());
        if (unfit != null) {
            throw new IllegalArgumentException(unfit);
        }
        group.counted.add(result.id());
        if (result.traceOnly() && group.traceOnly == null) {
            group.traceOnly = new TraceAverage();
        }
        revision++;
        if (result.knowledge() != null && result.factId() != null) {
            group.knowledge.put(result.factId(), result.knowledge());
        }
        switch (result.kind()) {
            case TRACE -> {
                group.traced++;
                if (result.trace() != null) {
                    group.traceOnly.add(result.trace());
                }
            }
            case SKIPPED -> {
                group.skipped++;
                if (result.traceOnly()) {
                    group.traceOnly.addNotAnalysed();
                }
            }
            case FAILED_EDIT -> {
                group.edits++;
                group.failedEdits++;
            }
            case EDIT -> {
                group.edits++;
                Point p = result.point();
                Double[] scores = {p.rewrite(), p.paraphrase(), p.neighborhood(), p.overall(), p.target(), p.essence(), p.fluency()}; // as METRICS
                for (int i = 0; i < scores.length; i++) {
                    if (scores[i] != null) {
                        group.metrics.computeIfAbsent(METRICS.get(i), m -> new LayerStatistics()).add(p.layer(), p.tracing(), scores[i]);
                    }
                }
                if (result.factId() != null) {
                    double[] before = group.factEdits.getOrDefault(result.factId(), new double[0]);
                    double[] after = java.util.Arrays.copyOf(before, before.length + FACT_ROW);
                    System.arraycopy(new double[] {p.layer(), p.tracing(), p.rewrite(), p.paraphrase(), p.neighborhood(), p.overall()}, 0,
                            after, before.length, FACT_ROW);
                    group.factEdits.put(result.factId(), after);
                }
                if (group.latest.size() == SAMPLE_SIZE) {
                    group.latest.removeFirst();
                }
                group.latest.addLast(p);
            }
        }
        return true;
    }

    /**
     * Why {@code result} must not be counted, or null: its fact id was counted before, in this model version and grid, with
     * other content (its trace or skipped event has an id never counted although the fact is known; then every edit of
     * that fact not counted before is the other content's too, since one worker studies one fact id's submissions in
     * order). The first content of a fact id stands: a changed fact needs a new id. Remembered in the snapshots.
     */
    public synchronized String conflict(Observation result) {
        if (result.factId() == null) {
            return null;
        }
        GroupKey k = result.group();
        Group model = groups.get(new GroupKey(k.model(), k.version(), k.grid(), "*", "*"));
        if (model == null) {
            return null;
        }
        boolean conflicting;
        if (result.knowledge() != null) {
            conflicting = model.knowledge.containsKey(result.factId()) && !model.counted.contains(result.id());
            if (conflicting) {
                model.conflicting.add(result.factId());
            }
        } else {
            Group edits = groups.get(k);
            conflicting = model.conflicting.contains(result.factId()) && (edits == null || !edits.counted.contains(result.id()));
        }
        return !conflicting ? null : "fact " + result.factId() + " was counted before with other content for " + k.model() + " version "
                + k.version() + " (grid " + k.grid() + "); the first content of a fact id stands: submit changed facts under a new id";
    }

    /** Grows with every result counted: a comparison computed at one revision holds until the next. */
    public synchronized long revision() {
        return revision;
    }

    /**
     * Every successful edit of one version and grid that names its fact, ordered by fact, method, problem and layer
     * (an order independent of arrival, so a comparison is the same however the results came in).
     */
    public synchronized List<VersionComparison.Edit> edits(String model, String version, String grid) {
        List<VersionComparison.Edit> out = new ArrayList<>();
        groups.forEach((key, g) -> {
            if (key.model().equals(model) && key.version().equals(version) && key.grid().equals(grid) && !key.method().equals("*")) {
                new TreeMap<>(g.factEdits).forEach((fact, rows) -> {
                    for (int i = 0; i < rows.length; i += FACT_ROW) {
                        out.add(new VersionComparison.Edit(fact, key.method(), key.problem(), (int) rows[i], rows[i + 1], rows[i + 2],
                                rows[i + 3], rows[i + 4], rows[i + 5]));
                    }
                });
            }
        });
        out.sort(java.util.Comparator.comparing(VersionComparison.Edit::factId).thenComparing(VersionComparison.Edit::method)
                .thenComparing(VersionComparison.Edit::problem).thenComparingInt(VersionComparison.Edit::layer));
        return out;
    }

    /** What the unedited version knows of each fact it traced or skipped, by fact id (sorted). */
    public synchronized Map<String, KnowledgeDiff.Knowledge> knowledge(String model, String version, String grid) {
        Group g = groups.get(new GroupKey(model, version, grid, "*", "*"));
        return g == null ? Map.of() : new TreeMap<>(g.knowledge);
    }

    public synchronized List<GroupView> view() {
        List<GroupView> out = new ArrayList<>();
        groups.forEach((key, g) -> out.add(new GroupView(key.model(), key.version(), key.grid(), key.method(), key.problem(),
                g.traced, g.skipped, g.edits,
                g.failedEdits, analyses(g), g.traceOnly == null ? null : g.traceOnly.summary(), List.copyOf(g.latest))));
        return out;
    }

    private static Map<String, LayerStatistics.Analysis> analyses(Group g) {
        Map<String, LayerStatistics.Analysis> out = new LinkedHashMap<>();
        g.metrics.forEach((metric, stats) -> out.put(metric, stats.analyse()));
        return out;
    }

    /** Snapshot records keyed {@code aggregator|model|version|grid|method|problem}, all stamped with the offsets they cover. */
    public synchronized Map<String, GroupSnapshot> snapshots(String aggregator, Map<Integer, Long> offsets, String now) {
        Map<String, GroupSnapshot> out = new LinkedHashMap<>();
        groups.forEach((key, g) -> {
            Map<String, LayerStatistics.Snapshot> statistics = new LinkedHashMap<>();
            g.metrics.forEach((metric, stats) -> statistics.put(metric, stats.snapshot()));
            out.put(aggregator + "|" + key.text(), new GroupSnapshot(aggregator, key.model(), key.version(), key.grid(),
                    key.method(), key.problem(), g.traced,
                    g.skipped, g.edits, g.failedEdits, packIds(g.counted), statistics, analyses(g), Map.copyOf(offsets), now,
                    packEdits(g.factEdits), new TreeMap<>(g.knowledge), List.copyOf(g.conflicting),
                    g.traceOnly == null ? null : g.traceOnly.snapshot()));
        });
        return out;
    }

    /** Restores one group from its snapshot (replacing what was there). */
    public synchronized void restore(GroupSnapshot s) {
        Group g = new Group();
        g.traced = s.traced();
        g.skipped = s.skipped();
        g.edits = s.edits();
        g.failedEdits = s.failedEdits();
        g.counted.addAll(unpackIds(s.countedIds()));
        s.statistics().forEach((metric, snap) -> g.metrics.put(metric, LayerStatistics.fromSnapshot(snap)));
        if (s.factEdits() != null) { // snapshots from before comparisons have none: those facts are not paired
            s.factEdits().forEach((fact, packed) -> g.factEdits.put(fact, unpackDoubles(packed)));
        }
        if (s.knowledge() != null) {
            g.knowledge.putAll(s.knowledge());
        }
        if (s.conflictingFacts() != null) {
            g.conflicting.addAll(s.conflictingFacts());
        }
        if (s.traceOnly() != null) {
            g.traceOnly = TraceAverage.fromSnapshot(s.traceOnly());
        }
        revision++;
        groups.put(new GroupKey(s.model(), s.version(), s.grid(), s.method(), s.problem()), g);
    }

    /** Ids as 64-bit prefixes of their SHA-256 (a collision among a million results has odds of about 1 in 10⁷). */
    private static String packIds(Set<Long> ids) {
        ByteBuffer bytes = ByteBuffer.allocate(8 * ids.size());
        ids.stream().sorted().forEach(bytes::putLong);
        return Base64.getEncoder().encodeToString(bytes.array());
    }

    /** Each fact's edits as base64 of their doubles, bit for bit. */
    private static Map<String, String> packEdits(Map<String, double[]> edits) {
        Map<String, String> out = new TreeMap<>();
        edits.forEach((fact, rows) -> {
            ByteBuffer bytes = ByteBuffer.allocate(8 * rows.length);
            for (double v : rows) {
                bytes.putDouble(v);
            }
            out.put(fact, Base64.getEncoder().encodeToString(bytes.array()));
        });
        return out;
    }

    private static double[] unpackDoubles(String packed) {
        ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(packed));
        double[] out = new double[bytes.remaining() / 8];
        for (int i = 0; i < out.length; i++) {
            out[i] = bytes.getDouble();
        }
        return out;
    }

    private static List<Long> unpackIds(String packed) {
        ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(packed));
        List<Long> out = new ArrayList<>(bytes.remaining() / 8);
        while (bytes.remaining() >= 8) {
            out.add(bytes.getLong());
        }
        return out;
    }
}
