package dev.locus.study;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * What a candidate version knows differently from its baseline, fact by fact: the facts whose unedited greedy answer
 * changed, or whose p(true) moved by more than a threshold, the largest moves first. The exemplars are what a person
 * opens when a version regresses; the counts say how common such changes are.
 *
 * @param facts     facts both versions were traced (or tried) on
 * @param changed   of those, how many changed (answer or p(true) beyond {@code threshold})
 * @param answers   of those, how many changed their answer
 * @param exemplars the changed facts, largest |Δp(true)| first (answer changes before equal moves), at most the limit asked for
 */
public record KnowledgeDiff(double threshold, long facts, long changed, @JsonProperty("answer_changed") long answers,
                            List<Change> exemplars) {

    /** One version's knowledge of a fact: p(true object | prompt), its greedy answer (null if unknown) and the fact's relation (or null). */
    public record Knowledge(@JsonProperty("p_true") double pTrue, String answer, @JsonProperty("relation_id") String relationId) {}

    public record Change(@JsonProperty("fact_id") String factId, @JsonProperty("baseline_p_true") double baselinePTrue,
                         @JsonProperty("candidate_p_true") double candidatePTrue, @JsonProperty("baseline_answer") String baselineAnswer,
                         @JsonProperty("candidate_answer") String candidateAnswer) {
        public boolean answerChanged() {
            return baselineAnswer != null && candidateAnswer != null && !baselineAnswer.equals(candidateAnswer);
        }

        public double delta() {
            return candidatePTrue - baselinePTrue;
        }
    }

    private static final Comparator<Change> ORDER = Comparator.comparingDouble((Change c) -> -Math.abs(c.delta()))
            .thenComparing(c -> !c.answerChanged()).thenComparing(Change::factId);

    public static KnowledgeDiff of(Map<String, Knowledge> baseline, Map<String, Knowledge> candidate, double threshold, int limit) {
        if (!(threshold >= 0) || limit < 0) {
            throw new IllegalArgumentException("threshold must be ≥ 0 and limit ≥ 0, got " + threshold + " and " + limit);
        }
        long facts = 0;
        long answers = 0;
        List<Change> changes = new ArrayList<>();
        for (Map.Entry<String, Knowledge> e : candidate.entrySet()) {
            Knowledge b = baseline.get(e.getKey());
            if (b == null) {
                continue;
            }
            facts++;
            Knowledge c = e.getValue();
            Change change = new Change(e.getKey(), b.pTrue(), c.pTrue(), b.answer(), c.answer());
            if (change.answerChanged()) {
                answers++;
            }
            if (change.answerChanged() || Math.abs(change.delta()) > threshold) {
                changes.add(change);
            }
        }
        changes.sort(ORDER);
        return new KnowledgeDiff(threshold, facts, changes.size(), answers, List.copyOf(changes.subList(0, Math.min(limit, changes.size()))));
    }
}
