package dev.locus.study;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.locus.editing.EditResult;
import dev.locus.stats.LayerStatistics;
import dev.locus.stats.PairedBootstrap;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;

/**
 * A candidate version against its baseline over the facts both were studied on, per method × problem
 * × metric: the paired per-layer differences (candidate − baseline, over the facts whose edit at that
 * layer succeeded in both) with 95 % Poisson-bootstrap intervals ({@link PairedBootstrap}), each
 * version's best layer and tracing peak layer, each version's R² with intervals, and a verdict on
 * the score averaged over the layers of each fact. In batch, over two lists of results: the reference a live comparison is held to.
 */
public record VersionComparison(String method, String problem, String metric, List<Layer> layers,
                                @JsonProperty("baseline_best_layer") int baselineBestLayer,
                                @JsonProperty("candidate_best_layer") int candidateBestLayer,
                                @JsonProperty("baseline_tracing_peak") int baselineTracingPeak,
                                @JsonProperty("candidate_tracing_peak") int candidateTracingPeak,
                                PairedBootstrap.Interval overall, Verdict verdict, @JsonProperty("baseline_fit") Fit baselineFit,
                                @JsonProperty("candidate_fit") Fit candidateFit) {

    /**
     * Each version's R² of score ~ layer, ~ tracing, ~ both and the gain ({@link LayerStatistics}) over the paired edits,
     * with 95 % intervals from the same hashed Poisson weights, a fact's edits weighted together.
     */
    public record Fit(@JsonProperty("layer_r2") PairedBootstrap.Interval layerR2, @JsonProperty("tracing_r2") PairedBootstrap.Interval tracingR2,
                      @JsonProperty("both_r2") PairedBootstrap.Interval bothR2, PairedBootstrap.Interval gain) {}

    /**
     * Fewer paired facts than this give no verdict: a bootstrap over a handful of facts has too few distinct resamples
     * to say anything (over one fact its interval is that fact's difference, a point).
     */
    public static final int MIN_FACTS_FOR_VERDICT = 10;

    /** Higher is better for every score, so an interval above zero is an improvement; INSUFFICIENT: too few facts to say. */
    public enum Verdict {
        IMPROVED, REGRESSED, UNCHANGED, INSUFFICIENT;

        /** +1 improved, −1 regressed, 0 otherwise (the locus_version_verdict gauge). */
        public int sign() {
            return this == IMPROVED ? 1 : this == REGRESSED ? -1 : 0;
        }

        @com.fasterxml.jackson.annotation.JsonValue
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public record Layer(int layer, double baseline, double candidate, PairedBootstrap.Interval difference) {}

    /** A successful edit as a comparison sees it: where it was made, the tracing value there and its four scores. */
    public record Edit(String factId, String method, String problem, int layer, double tracing, double rewrite, double paraphrase,
                       double neighborhood, double overall) {
        /** The edit of a successful result; null for a failed one, which is never paired. */
        public static Edit of(EditResult r) {
            return !r.status().equals("ok") ? null : new Edit(r.factId(), r.method(), r.problem(), r.layer(), r.tracingValue(),
                    r.rewriteScore(), r.paraphraseScore(), r.neighborhoodScore(), r.overallScore());
        }
    }

    /** The four scores, by name, as results carry them. */
    static final Map<String, ToDoubleFunction<Edit>> METRICS = metrics();

    /** The comparison of two lists of results; failed edits are left out. */
    public static List<VersionComparison> compare(List<EditResult> baseline, List<EditResult> candidate, int replicates) {
        return compareEdits(baseline.stream().map(Edit::of).filter(java.util.Objects::nonNull).toList(),
                candidate.stream().map(Edit::of).filter(java.util.Objects::nonNull).toList(), replicates);
    }

    /** The comparison of two versions' successful edits, paired by fact, method, problem and layer, in the candidate's order. */
    public static List<VersionComparison> compareEdits(List<Edit> baseline, List<Edit> candidate, int replicates) {
        Map<String, Edit> base = new HashMap<>();
        for (Edit r : baseline) {
            base.put(key(r), r);
        }
        // method × problem → pairs (baseline, candidate), in the candidate's order
        Map<String, List<Edit[]>> groups = new LinkedHashMap<>();
        for (Edit c : candidate) {
            Edit b = base.get(key(c));
            if (b != null) {
                groups.computeIfAbsent(c.method() + "\t" + c.problem(), k -> new ArrayList<>()).add(new Edit[] {b, c});
            }
        }
        List<VersionComparison> out = new ArrayList<>();
        groups.forEach((group, pairs) -> METRICS.forEach((metric, score) ->
                out.add(of(group.split("\t")[0], group.split("\t")[1], metric, score, pairs, replicates))));
        return out;
    }

    private static VersionComparison of(String method, String problem, String metric, ToDoubleFunction<Edit> score,
                                        List<Edit[]> pairs, int replicates) {
        Map<Integer, List<Edit[]>> byLayer = new TreeMap<>();
        Map<String, double[]> perFact = new LinkedHashMap<>(); // fact → {sum of differences, layers}
        for (Edit[] p : pairs) {
            byLayer.computeIfAbsent(p[1].layer(), l -> new ArrayList<>()).add(p);
            double[] f = perFact.computeIfAbsent(p[1].factId(), k -> new double[2]);
            f[0] += score.applyAsDouble(p[1]) - score.applyAsDouble(p[0]);
            f[1]++;
        }
        List<Layer> layers = new ArrayList<>();
        byLayer.forEach((layer, at) -> {
            PairedBootstrap d = new PairedBootstrap(replicates);
            at.forEach(p -> d.add(p[1].factId(), score.applyAsDouble(p[1]) - score.applyAsDouble(p[0])));
            layers.add(new Layer(layer, mean(at, 0, score), mean(at, 1, score), d.interval()));
        });
        PairedBootstrap overall = new PairedBootstrap(replicates);
        perFact.forEach((fact, f) -> overall.add(fact, f[0] / f[1]));
        PairedBootstrap.Interval o = overall.interval();
        Verdict verdict = o.facts() < MIN_FACTS_FOR_VERDICT ? Verdict.INSUFFICIENT
                : o.sign() > 0 ? Verdict.IMPROVED : o.sign() < 0 ? Verdict.REGRESSED : Verdict.UNCHANGED;
        return new VersionComparison(method, problem, metric, layers, argmax(byLayer, 0, score), argmax(byLayer, 1, score),
                argmax(byLayer, 0, Edit::tracing), argmax(byLayer, 1, Edit::tracing), o, verdict,
                fit(pairs, 0, score, replicates), fit(pairs, 1, score, replicates));
    }

    /** One side's R² and gain over all its paired edits, and over each bootstrap replicate (fact weights repeated). */
    private static Fit fit(List<Edit[]> pairs, int side, ToDoubleFunction<Edit> score, int replicates) {
        LayerStatistics all = new LayerStatistics();
        LayerStatistics[] replicate = new LayerStatistics[replicates];
        for (int r = 0; r < replicates; r++) {
            replicate[r] = new LayerStatistics();
        }
        Map<String, Long> seeds = new HashMap<>();
        for (Edit[] p : pairs) {
            Edit e = p[side];
            double y = score.applyAsDouble(e);
            all.add(e.layer(), e.tracing(), y);
            long seed = seeds.computeIfAbsent(e.factId(), PairedBootstrap::seed);
            for (int r = 0; r < replicates; r++) {
                for (int w = PairedBootstrap.weight(seed, r); w > 0; w--) {
                    replicate[r].add(e.layer(), e.tracing(), y);
                }
            }
        }
        LayerStatistics.Analysis a = all.analyse();
        double[][] values = new double[4][replicates];
        for (int r = 0; r < replicates; r++) {
            LayerStatistics.Analysis b = replicate[r].analyse();
            values[0][r] = b.layerR2();
            values[1][r] = b.tracingR2();
            values[2][r] = b.bothR2();
            values[3][r] = b.gain();
        }
        long facts = seeds.size();
        return new Fit(PairedBootstrap.interval(facts, a.layerR2(), values[0]), PairedBootstrap.interval(facts, a.tracingR2(), values[1]),
                PairedBootstrap.interval(facts, a.bothR2(), values[2]), PairedBootstrap.interval(facts, a.gain(), values[3]));
    }

    private static int argmax(Map<Integer, List<Edit[]>> byLayer, int side, ToDoubleFunction<Edit> f) {
        int best = -1;
        double bestValue = Double.NEGATIVE_INFINITY;
        for (Map.Entry<Integer, List<Edit[]>> e : byLayer.entrySet()) {
            double m = mean(e.getValue(), side, f);
            if (m > bestValue) {
                best = e.getKey();
                bestValue = m;
            }
        }
        return best;
    }

    private static double mean(List<Edit[]> pairs, int side, ToDoubleFunction<Edit> f) {
        return pairs.stream().mapToDouble(p -> f.applyAsDouble(p[side])).average().orElse(Double.NaN);
    }

    private static String key(Edit r) {
        return r.factId() + "\t" + r.method() + "\t" + r.problem() + "\t" + r.layer();
    }

    private static Map<String, ToDoubleFunction<Edit>> metrics() {
        Map<String, ToDoubleFunction<Edit>> m = new LinkedHashMap<>();
        m.put("rewrite", Edit::rewrite);
        m.put("paraphrase", Edit::paraphrase);
        m.put("neighborhood", Edit::neighborhood);
        m.put("overall", Edit::overall);
        return m;
    }
}
