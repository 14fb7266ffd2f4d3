package dev.locus.study;

import dev.locus.editing.EditResult;
import dev.locus.editing.EditingMethod;
import dev.locus.editing.EditingProblem;
import dev.locus.stats.LayerRegression;
import dev.locus.stats.LayerStatistics;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;

/**
 * The study's result for one method × problem: mean scores and mean tracing value by edited
 * layer (successful edits only), and per score the R² of score ~ layer, ~ tracing, ~ both with the
 * F-test of the gain (a row of the paper's table; {@link #fit} is the rewrite score's).
 */
public record StudySummary(String method, String problem, int facts, int edits, int failed, List<LayerMeans> layers,
                           LayerRegression.Fit fit, List<MetricFit> metrics) {

    /** The scores regressed, as the authors' analysis does (rewrite, paraphrase, neighbourhood). */
    public static final List<String> METRICS = List.of("rewrite", "paraphrase", "neighborhood");

    public record LayerMeans(int layer, int edits, double rewrite, double paraphrase, double neighborhood, double overall,
                             double tracing) {}

    /** One score's three fits (batch least squares) and the F-test of the gain (from the streaming statistics' sums). */
    public record MetricFit(String metric, LayerRegression.Fit fit, LayerStatistics.GainTest gainTest) {}

    /** One summary per method × problem present, methods in {@link EditingMethod} order, problems in table order. */
    public static List<StudySummary> of(Collection<EditResult> results, int layerCount) {
        Map<String, List<EditResult>> groups = new TreeMap<>(Comparator.comparingInt(StudySummary::order).thenComparing(k -> k));
        for (EditResult r : results) {
            groups.computeIfAbsent(r.method() + "\t" + r.problem(), k -> new ArrayList<>()).add(r);
        }
        List<StudySummary> out = new ArrayList<>();
        groups.forEach((key, group) -> out.add(of(key.split("\t")[0], key.split("\t")[1], group, layerCount)));
        return out;
    }

    private static StudySummary of(String method, String problem, List<EditResult> results, int layerCount) {
        List<EditResult> ok = results.stream().filter(r -> r.status().equals("ok")).toList();
        List<LayerMeans> layers = new ArrayList<>();
        for (int l = 0; l < layerCount; l++) {
            int layer = l;
            List<EditResult> at = ok.stream().filter(r -> r.layer() == layer).toList();
            if (!at.isEmpty()) {
                layers.add(new LayerMeans(l, at.size(), mean(at, EditResult::rewriteScore), mean(at, EditResult::paraphraseScore),
                        mean(at, EditResult::neighborhoodScore), mean(at, EditResult::overallScore), mean(at, EditResult::tracingValue)));
            }
        }
        List<MetricFit> metrics = new ArrayList<>();
        for (String metric : METRICS) {
            ToDoubleFunction<EditResult> score = score(metric);
            // e.g. no paraphrase score for a fact without paraphrases
            List<LayerRegression.Observation> points = ok.stream()
                    .map(r -> new LayerRegression.Observation(r.layer(), r.tracingValue(), score.applyAsDouble(r)))
                    .filter(o -> Double.isFinite(o.tracing()) && Double.isFinite(o.score())).toList();
            LayerStatistics statistics = new LayerStatistics();
            points.forEach(o -> statistics.add(o.layer(), o.tracing(), o.score()));
            metrics.add(new MetricFit(metric, LayerRegression.fit(points, layerCount), statistics.analyse().gainTest()));
        }
        int facts = (int) results.stream().map(EditResult::factId).distinct().count();
        return new StudySummary(method, problem, facts, results.size(), results.size() - ok.size(), layers, metrics.get(0).fit(), metrics);
    }

    private static ToDoubleFunction<EditResult> score(String metric) {
        return switch (metric) {
            case "rewrite" -> EditResult::rewriteScore;
            case "paraphrase" -> EditResult::paraphraseScore;
            case "neighborhood" -> EditResult::neighborhoodScore;
            default -> throw new IllegalArgumentException("no score " + metric);
        };
    }

    /** The layer with the highest mean rewrite score (the study's "best layer"). */
    public LayerMeans best() {
        return layers.stream().max(Comparator.comparingDouble(LayerMeans::rewrite)).orElseThrow();
    }

    /** Methods in the configured order, then problems in table order; unknown names last. */
    private static int order(String key) {
        String[] parts = key.split("\t");
        int method = EditingMethod.labels().indexOf(parts[0]);
        int problem = -1;
        for (EditingProblem p : EditingProblem.values()) {
            if (p.label().equals(parts[1])) {
                problem = p.ordinal();
            }
        }
        return (method < 0 ? 99 : method) * 100 + (problem < 0 ? 99 : problem);
    }

    private static double mean(List<EditResult> rs, ToDoubleFunction<EditResult> f) {
        return rs.stream().mapToDouble(f).average().orElse(Double.NaN);
    }
}
