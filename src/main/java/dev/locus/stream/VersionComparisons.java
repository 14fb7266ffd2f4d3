package dev.locus.stream;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.locus.stats.PairedBootstrap;
import dev.locus.study.KnowledgeDiff;
import dev.locus.study.VersionComparison;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * A candidate version against its baseline, live: {@link VersionComparison} and {@link KnowledgeDiff} computed from what
 * the aggregator has counted of each ({@link StatsState#edits}, {@link StatsState#knowledge}), in an order that does not
 * depend on how the results arrived, so the figures are the batch computation's over the same results, before and after
 * a restart. No Kafka here.
 *
 * @param revision the state's revision the figures were computed at
 */
public record VersionComparisons(String model, String baseline, String candidate, @JsonProperty("baseline_grid") String baselineGrid,
                                 @JsonProperty("candidate_grid") String candidateGrid, @JsonProperty("paired_facts") long pairedFacts,
                                 int replicates, List<VersionComparison> comparisons, KnowledgeDiff knowledge, long revision) {

    /** What a comparison is computed with: bootstrap replicates, the knowledge diff's p(true) threshold and exemplar count. */
    public record Settings(int replicates, double knowledgeThreshold, int exemplars) {
        public static final Settings DEFAULT = new Settings(PairedBootstrap.DEFAULT_REPLICATES, 0.2, 20);
    }

    /**
     * The comparison of {@code candidate} with {@code baseline} of {@code model}, each on its grid (null: the grid with
     * the most results of that version). Empty when either version has no results.
     */
    public static Optional<VersionComparisons> compute(StatsState state, String model, String baseline, String candidate,
                                                       String baselineGrid, String candidateGrid, Settings settings) {
        long revision = state.revision();
        Optional<String> bg = baselineGrid != null ? Optional.of(baselineGrid) : mainGrid(state, model, baseline);
        Optional<String> cg = candidateGrid != null ? Optional.of(candidateGrid) : mainGrid(state, model, candidate);
        if (bg.isEmpty() || cg.isEmpty()) {
            return Optional.empty();
        }
        List<VersionComparison> comparisons = VersionComparison.compareEdits(state.edits(model, baseline, bg.get()),
                state.edits(model, candidate, cg.get()), settings.replicates());
        KnowledgeDiff knowledge = KnowledgeDiff.of(state.knowledge(model, baseline, bg.get()), state.knowledge(model, candidate, cg.get()),
                settings.knowledgeThreshold(), settings.exemplars());
        long paired = comparisons.stream().mapToLong(c -> c.overall().facts()).max().orElse(0);
        return Optional.of(new VersionComparisons(model, baseline, candidate, bg.get(), cg.get(), paired, settings.replicates(), comparisons,
                knowledge, revision));
    }

    /** The grid of {@code version} with the most results (traced, skipped and edits), if it has any. */
    static Optional<String> mainGrid(StatsState state, String model, String version) {
        return state.view().stream().filter(g -> g.model().equals(model) && g.version().equals(version))
                .collect(java.util.stream.Collectors.groupingBy(StatsState.GroupView::grid,
                        java.util.stream.Collectors.summingLong(g -> g.traced() + g.skipped() + g.edits())))
                .entrySet().stream().max(java.util.Map.Entry.<String, Long>comparingByValue().thenComparing(java.util.Map.Entry.comparingByKey(Comparator.reverseOrder())))
                .map(java.util.Map.Entry::getKey);
    }
}
