package dev.locus.stream;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.locus.stats.PairedBootstrap;
import dev.locus.study.KnowledgeDiff;
import dev.locus.study.VersionComparison;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * A candidate version against its baseline, live: {@link VersionComparison} and {@link KnowledgeDiff} computed from what
 * the aggregator has counted of each ({@link StatsState#edits}, {@link StatsState#knowledge}), in an order that does not
 * depend on how the results arrived, so the figures are the batch computation's over the same results, before and after
 * a restart. No Kafka here.
 *
 * @param relation  the relation the comparison is restricted to (facts of other relations left out), or null for all facts
 * @param relations facts both versions know of, per relation (as the candidate's traces name it; "" for none): the
 *                  relations a comparison can be restricted to
 * @param revision  the state's revision the figures were computed at
 */
public record VersionComparisons(String model, String baseline, String candidate, @JsonProperty("baseline_grid") String baselineGrid,
                                 @JsonProperty("candidate_grid") String candidateGrid, @JsonProperty("relation_id") String relation,
                                 @JsonProperty("paired_facts") long pairedFacts, int replicates, List<VersionComparison> comparisons,
                                 KnowledgeDiff knowledge, Map<String, Long> relations, long revision) {

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
        return compute(state, model, baseline, candidate, baselineGrid, candidateGrid, null, settings);
    }

    /** The same over the facts of one relation ({@code relation} null: all facts). */
    public static Optional<VersionComparisons> compute(StatsState state, String model, String baseline, String candidate,
                                                       String baselineGrid, String candidateGrid, String relation, Settings settings) {
        long revision = state.revision();
        Optional<String> bg = baselineGrid != null ? Optional.of(baselineGrid) : mainGrid(state, model, baseline);
        Optional<String> cg = candidateGrid != null ? Optional.of(candidateGrid) : mainGrid(state, model, candidate);
        if (bg.isEmpty() || cg.isEmpty()) {
            return Optional.empty();
        }
        Map<String, KnowledgeDiff.Knowledge> baseKnowledge = state.knowledge(model, baseline, bg.get());
        Map<String, KnowledgeDiff.Knowledge> candidateKnowledge = state.knowledge(model, candidate, cg.get());
        Map<String, Long> relations = new TreeMap<>();
        candidateKnowledge.forEach((fact, k) -> {
            if (baseKnowledge.containsKey(fact)) {
                relations.merge(k.relationId() == null ? "" : k.relationId(), 1L, Long::sum);
            }
        });
        Predicate<String> inRelation = fact -> relation == null || (candidateKnowledge.containsKey(fact)
                && relation.equals(Objects.requireNonNullElse(candidateKnowledge.get(fact).relationId(), "")));
        List<VersionComparison> comparisons = VersionComparison.compareEdits(
                state.edits(model, baseline, bg.get()).stream().filter(e -> inRelation.test(e.factId())).toList(),
                state.edits(model, candidate, cg.get()).stream().filter(e -> inRelation.test(e.factId())).toList(), settings.replicates());
        KnowledgeDiff knowledge = KnowledgeDiff.of(filter(baseKnowledge, inRelation), filter(candidateKnowledge, inRelation),
                settings.knowledgeThreshold(), settings.exemplars());
        long paired = comparisons.stream().mapToLong(c -> c.overall().facts()).max().orElse(0);
        return Optional.of(new VersionComparisons(model, baseline, candidate, bg.get(), cg.get(), relation, paired, settings.replicates(),
                comparisons, knowledge, relations, revision));
    }

    private static Map<String, KnowledgeDiff.Knowledge> filter(Map<String, KnowledgeDiff.Knowledge> knowledge, Predicate<String> facts) {
        Map<String, KnowledgeDiff.Knowledge> out = new TreeMap<>();
        knowledge.forEach((fact, k) -> {
            if (facts.test(fact)) {
                out.put(fact, k);
            }
        });
        return out;
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
