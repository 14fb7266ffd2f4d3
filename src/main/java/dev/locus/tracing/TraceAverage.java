package dev.locus.tracing;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The classic causal-tracing study's figures over many facts (the ROME paper's average trace), kept as sums so that one
 * fact more is O(kinds × groups × layers) and the whole survives a snapshot: per kind, the trace averaged in
 * {@link TokenGroup}s (each fact's rows of a group averaged first, then the group over the facts that have it, as the
 * trace command's average figure does), and how often each layer is the tracing peak, the layer of the largest
 * localization value ({@link CausalTrace#localization()}, the lower layer on ties). A fact whose trace shows no effect
 * anywhere has no peak. Facts not analysed (p_clean below the threshold) are only counted.
 * <p>
 * The average trace is reported as the average indirect effect, p_restored − p_corrupt with each fact's own p_corrupt,
 * what ROME's figure shows; {@link #meanRestored} gives the plain mean of p_restored. Not thread-safe.
 */
public final class TraceAverage {
    private static final int GROUPS = TokenGroup.values().length;
    private static final List<String> GROUP_LABELS = Arrays.stream(TokenGroup.values()).map(TokenGroup::label).toList();

    /** Unknown (-1) until the first trace; every trace after it must have as many. */
    private int layers = -1;
    private long facts;
    private long notAnalysed;
    private long[] groupFacts = new long[GROUPS];
    private double[] corruptSums = new double[GROUPS];
    /** Per kind, [group][layer] sums of each fact's group mean of p_restored. */
    private final Map<TraceKind, double[][]> restoredSums = new LinkedHashMap<>();
    private long[] peaks = new long[0];

    /** What the average keeps, as written into the aggregator's snapshots; {@link #fromSnapshot} reads it back exactly. */
    public record Snapshot(long facts, @JsonProperty("not_analysed") long notAnalysed, int layers,
                           @JsonProperty("group_facts") long[] groupFacts, @JsonProperty("corrupt_sums") double[] corruptSums,
                           @JsonProperty("restored_sums") Map<String, double[][]> restoredSums,
                           @JsonProperty("peak_layers") long[] peakLayers) {}

    /**
     * The figures: per kind (hidden, mlp, attn) the average indirect effect as [group][layer], in {@code token_groups}' order,
     * a group no fact has null; {@code peak_layers[l]} the facts whose tracing peak is layer l, and their mean (null with none).
     */
    public record Summary(long facts, @JsonProperty("not_analysed") long notAnalysed, int layers,
                          @JsonProperty("token_groups") List<String> tokenGroups, @JsonProperty("group_facts") long[] groupFacts,
                          Map<String, double[][]> effect, @JsonProperty("peak_layers") long[] peakLayers,
                          @JsonProperty("mean_peak_layer") Double meanPeakLayer) {}

    /** Why {@code trace} cannot be averaged (its grids and subject span do not fit its tokens), or null if it can. */
    public static String problem(TraceJson trace) {
        if (trace == null || trace.tokens() == null || trace.restored() == null || trace.localization() == null) {
            return "a trace without its tokens, restored grids or localization";
        }
        int length = trace.tokens().size();
        if (trace.subjectStart() < 0 || trace.subjectStart() >= trace.subjectEnd() || trace.subjectEnd() > length) {
            return "subject span [" + trace.subjectStart() + ", " + trace.subjectEnd() + ") outside the trace's " + length + " tokens";
        }
        int layers = trace.localization().length;
        for (TraceKind kind : TraceKind.values()) {
            double[][] grid = trace.restored().get(kind.label());
            if (grid == null || grid.length != length || Arrays.stream(grid).anyMatch(row -> row == null || row.length != layers)) {
                return "the " + kind.label() + " grid is not " + length + " tokens × " + layers + " layers";
            }
        }
        return layers == 0 ? "a trace of no layers" : null;
    }

    /** Why {@code trace} cannot join this average ({@link #problem}, or another number of layers), or null if it can. */
    public String problemWith(TraceJson trace) {
        String problem = problem(trace);
        if (problem == null && layers >= 0 && trace.localization().length != layers) {
            problem = "a trace of " + trace.localization().length + " layers among traces of " + layers;
        }
        return problem;
    }

    /** Adds one fact's trace; nothing changes when it cannot join ({@link #problemWith}). */
    public void add(TraceJson trace) {
        String problem = problemWith(trace);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        if (layers < 0) {
            int traceLayers = trace.localization().length;
            layers = traceLayers;
            peaks = new long[layers];
            for (TraceKind kind : TraceKind.values()) {
                restoredSums.put(kind, new double[GROUPS][layers]);
            }
        }
        for (TraceKind kind : TraceKind.values()) {
            double[][] groups = TokenGroup.groupRows(trace.restored().get(kind.label()), trace.subjectStart(), trace.subjectEnd());
            double[][] sums = restoredSums.get(kind);
            for (int g = 0; g < GROUPS; g++) {
                if (groups[g] != null) {
                    for (int l = 0; l < layers; l++) {
                        sums[g][l] += groups[g][l];
                    }
                }
            }
        }
        // Which groups a fact has depends on its length and subject span alone, not on the kind.
        for (TokenGroup group : TokenGroup.values()) {
            int[] rows = group.rows(trace.subjectStart(), trace.subjectEnd(), trace.tokens().size());
            if (rows[1] > rows[0]) {
                groupFacts[group.ordinal()]++;
                corruptSums[group.ordinal()] += trace.pCorrupt();
            }
        }
        int peak = 0;
        double[] localization = trace.localization();
        for (int l = 1; l < layers; l++) {
            if (localization[l] > localization[peak]) {
                peak = l;
            }
        }
        if (localization[peak] > 0) {
            peaks[peak]++;
        }
        facts++;
    }

    /** Counts a fact that was not analysed. */
    public void addNotAnalysed() {
        notAnalysed++;
    }

    /** Facts averaged. */
    public long facts() {
        return facts;
    }

    /** Layers of the traces averaged; -1 before the first. */
    public int layers() {
        return layers;
    }

    /** The mean p_restored of {@code kind}, [group][layer]; null for a group no fact has. */
    public double[][] meanRestored(TraceKind kind) {
        double[][] out = new double[GROUPS][];
        double[][] sums = restoredSums.get(kind);
        for (int g = 0; sums != null && g < GROUPS; g++) {
            if (groupFacts[g] > 0) {
                out[g] = new double[layers];
                for (int l = 0; l < layers; l++) {
                    out[g][l] = sums[g][l] / groupFacts[g];
                }
            }
        }
        return out;
    }

    /** The mean indirect effect p_restored − p_corrupt of {@code kind}, [group][layer]; null for a group no fact has. */
    public double[][] meanEffect(TraceKind kind) {
        double[][] out = meanRestored(kind);
        for (int g = 0; g < GROUPS; g++) {
            if (out[g] != null) {
                double corrupt = corruptSums[g] / groupFacts[g];
                for (int l = 0; l < layers; l++) {
                    out[g][l] -= corrupt;
                }
            }
        }
        return out;
    }

    public Summary summary() {
        Map<String, double[][]> effect = new LinkedHashMap<>();
        for (TraceKind kind : TraceKind.values()) {
            effect.put(kind.label(), meanEffect(kind));
        }
        long peaked = Arrays.stream(peaks).sum();
        double layerSum = 0;
        for (int l = 0; l < peaks.length; l++) {
            layerSum += (double) l * peaks[l];
        }
        return new Summary(facts, notAnalysed, layers, GROUP_LABELS, groupFacts.clone(), effect, peaks.clone(),
                peaked == 0 ? null : layerSum / peaked);
    }

    public Snapshot snapshot() {
        Map<String, double[][]> sums = new LinkedHashMap<>();
        restoredSums.forEach((kind, grid) -> sums.put(kind.label(), Arrays.stream(grid).map(double[]::clone).toArray(double[][]::new)));
        return new Snapshot(facts, notAnalysed, layers, groupFacts.clone(), corruptSums.clone(), sums, peaks.clone());
    }

    public static TraceAverage fromSnapshot(Snapshot s) {
        TraceAverage average = new TraceAverage();
        average.facts = s.facts();
        average.notAnalysed = s.notAnalysed();
        average.layers = s.layers();
        average.groupFacts = s.groupFacts().clone();
        average.corruptSums = s.corruptSums().clone();
        s.restoredSums().forEach((kind, grid) -> average.restoredSums.put(TraceKind.parse(kind),
                Arrays.stream(grid).map(double[]::clone).toArray(double[][]::new)));
        average.peaks = s.peakLayers().clone();
        return average;
    }
}
