package dev.locus.study;

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
public record VersionComparison(String method, String problem, String metric, List<Layer> layers, int baselineBestLayer,
                                int candidateBestLayer, int baselineTracingPeak, int candidateTracingPeak,
                                PairedBootstrap.Interval overall, Verdict verdict, Fit baselineFit, Fit candidateFit) {

    /**
     * Each version's R² of score ~ layer, ~ tracing, ~ both and the gain ({@link LayerStatistics}) over the paired edits,
     * with 95 % intervals from the same hashed Poisson weights, a fact's edits weighted together.
     */
    public record Fit(PairedBootstrap.Interval layerR2, PairedBootstrap.Interval tracingR2, PairedBootstrap.Interval bothR2,
                      PairedBootstrap.Interval gain) {}

    /** Higher is better for every score, so an interval above zero is an improvement. */
    public enum Verdict { IMPROVED, REGRESSED, UNCHANGED }

    public record Layer(int layer, double baseline, double candidate, PairedBootstrap.Interval difference) {}

    /** The four scores, by name, as results carry them. */
    static final Map<String, ToDoubleFunction<EditResult>> METRICS = metrics();

    public static List<VersionComparison> compare(List<EditResult> baseline, List<EditResult> candidate, int replicates) {
        Map<String, EditResult> base = new HashMap<>();
        for (EditResult r : baseline) {
            if (r.status().equals("ok")) {
                base.put(key(r), r);
            }
        }
        // method × problem → pairs (baseline, candidate), in the candidate's order
        Map<String, List<EditResult[]>> groups = new LinkedHashMap<>();
        for (EditResult c : candidate) {
            EditResult b = c.status().equals("ok") ? base.get(key(c)) : null;
            if (b != null) {
                groups.computeIfAbsent(c.method() + "\t" + c.problem(), k -> new ArrayList<>()).add(new EditResult[] {b, c});
            }
        }
        List<VersionComparison> out = new ArrayList<>();
        groups.forEach((group, pairs) -> METRICS.forEach((metric, score) ->
                out.add(of(group.split("\t")[0], group.split("\t")[1], metric, score, pairs, replicates))));
        return out;
    }

    private static VersionComparison of(String method, String problem, String metric, ToDoubleFunction<EditResult> score,
                                        List<EditResult[]> pairs, int replicates) {
        Map<Integer, List<EditResult[]>> byLayer = new TreeMap<>();
        Map<String, double[]> perFact = new LinkedHashMap<>(); // fact → {sum of differences, layers}
        for (EditResult[] p : pairs) {
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
        Verdict verdict = o.sign() > 0 ? Verdict.IMPROVED : o.sign() < 0 ? Verdict.REGRESSED : Verdict.UNCHANGED;
        return new VersionComparison(method, problem, metric, layers, argmax(byLayer, 0, score), argmax(byLayer, 1, score),
                argmax(byLayer, 0, EditResult::tracingValue), argmax(byLayer, 1, EditResult::tracingValue), o, verdict,
                fit(pairs, 0, score, replicates), fit(pairs, 1, score, replicates));
    }

    /** One side's R² and gain over all its paired edits, and over each bootstrap replicate (fact weights repeated). */
    private static Fit fit(List<EditResult[]> pairs, int side, ToDoubleFunction<EditResult> score, int replicates) {
        LayerStatistics all = new LayerStatistics();
        LayerStatistics[] replicate = new LayerStatistics[replicates];
        for (int r = 0; r < replicates; r++) {
            replicate[r] = new LayerStatistics();
        }
        Map<String, Long> seeds = new HashMap<>();
        for (EditResult[] p : pairs) {
            EditResult e = p[side];
            double y = score.applyAsDouble(e);
            all.add(e.layer(), e.tracingValue(), y);
            long seed = seeds.computeIfAbsent(e.factId(), PairedBootstrap::seed);
            for (int r = 0; r < replicates; r++) {
                for (int w = PairedBootstrap.weight(seed, r); w > 0; w--) {
                    replicate[r].add(e.layer(), e.tracingValue(), y);
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

    private static int argmax(Map<Integer, List<EditResult[]>> byLayer, int side, ToDoubleFunction<EditResult> f) {
        int best = -1;
        double bestValue = Double.NEGATIVE_INFINITY;
        for (Map.Entry<Integer, List<EditResult[]>> e : byLayer.entrySet()) {
            double m = mean(e.getValue(), side, f);
            if (m > bestValue) {
                best = e.getKey();
                bestValue = m;
            }
        }
        return best;
    }

    private static double mean(List<EditResult[]> pairs, int side, ToDoubleFunction<EditResult> f) {
        return pairs.stream().mapToDouble(p -> f.applyAsDouble(p[side])).average().orElse(Double.NaN);
    }

    private static String key(EditResult r) {
        return r.factId() + "\t" + r.method() + "\t" + r.problem() + "\t" + r.layer();
    }

    private static Map<String, ToDoubleFunction<EditResult>> metrics() {
        Map<String, ToDoubleFunction<EditResult>> m = new LinkedHashMap<>();
        m.put("rewrite", EditResult::rewriteScore);
        m.put("paraphrase", EditResult::paraphraseScore);
        m.put("neighborhood", EditResult::neighborhoodScore);
        m.put("overall", EditResult::overallScore);
        return m;
    }
}
