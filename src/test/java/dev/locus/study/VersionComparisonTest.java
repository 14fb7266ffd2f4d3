package dev.locus.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.locus.editing.EditResult;
import dev.locus.stats.LayerRegression;
import dev.locus.stats.PairedBootstrap;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Two versions with a known difference: the comparison finds it where it is, and nowhere else. */
class VersionComparisonTest {

    /**
     * The candidate edits layer 2 better by 0.4 (its best layer now) (and only layer 2, only the rewrite score); facts differ in how editable
     * they are, which pairing removes. A fact whose candidate edit failed, and facts only one version has, are left out.
     */
    @Test
    void findsAKnownChangeAtItsLayer() {
        Random random = new Random(11);
        List<EditResult> baseline = new ArrayList<>();
        List<EditResult> candidate = new ArrayList<>();
        for (int f = 0; f < 120; f++) {
            double editability = random.nextDouble() * 0.4;
            for (int layer = 0; layer < 4; layer++) {
                double score = 0.8 - 0.15 * layer + editability;
                baseline.add(edit("f" + f, layer, score + 0.01 * random.nextGaussian(), layer == 0 ? 0.7 : 0.2, "ok"));
                double better = layer == 2 ? 0.4 : 0;
                candidate.add(edit("f" + f, layer, score + better + 0.01 * random.nextGaussian(), layer == 1 ? 0.7 : 0.2,
                        f == 0 && layer == 2 ? "failed" : "ok"));
            }
        }
        candidate.add(edit("only-candidate", 0, 1, 0.5, "ok"));
        List<VersionComparison> comparisons = VersionComparison.compare(baseline, candidate, PairedBootstrap.DEFAULT_REPLICATES);
        assertEquals(List.of("rewrite", "paraphrase", "neighborhood", "overall"), comparisons.stream().map(VersionComparison::metric).toList());
        VersionComparison rewrite = comparisons.get(0);
        assertEquals(120, rewrite.overall().facts());
        for (VersionComparison.Layer l : rewrite.layers()) {
            boolean changed = l.layer() == 2;
            assertEquals(changed ? 119 : 120, l.difference().facts(), "the failed edit is not paired");
            assertEquals(changed ? 1 : 0, l.difference().sign(), "layer " + l.layer() + ": " + l.difference());
            assertTrue(l.difference().low() <= (changed ? 0.4 : 0) && (changed ? 0.4 : 0) <= l.difference().high(), l.toString());
        }
        assertEquals(VersionComparison.Verdict.IMPROVED, rewrite.verdict());
        assertEquals(0, rewrite.baselineBestLayer());
        assertEquals(2, rewrite.candidateBestLayer(), "0.8 - 0.3 + 0.4 at layer 2 against 0.8 at layer 0");
        assertEquals(0, rewrite.baselineTracingPeak());
        assertEquals(1, rewrite.candidateTracingPeak());
        assertEquals(VersionComparison.Verdict.UNCHANGED, comparisons.get(1).verdict(), "the paraphrase score did not move");

        // Each version's R² is the batch least-squares fit of its paired edits, with an interval around it.
        List<LayerRegression.Observation> candidateEdits = candidate.stream()
                .filter(e -> e.status().equals("ok") && !e.factId().equals("only-candidate") && !(e.factId().equals("f0") && e.layer() == 2))
                .map(e -> new LayerRegression.Observation(e.layer(), e.tracingValue(), e.rewriteScore())).toList();
        LayerRegression.Fit batch = LayerRegression.fit(candidateEdits, 4);
        VersionComparison.Fit fit = rewrite.candidateFit();
        assertEquals(batch.layerR2(), fit.layerR2().mean(), 1e-9);
        assertEquals(batch.tracingR2(), fit.tracingR2().mean(), 1e-9);
        assertEquals(batch.bothR2(), fit.bothR2().mean(), 1e-9);
        assertTrue(fit.layerR2().low() <= fit.layerR2().mean() && fit.layerR2().mean() <= fit.layerR2().high(), fit.toString());
    }

    private static EditResult edit(String fact, int layer, double rewrite, double tracing, String status) {
        return new EditResult(fact, "rome", "error_injection", layer, new int[] {layer}, "x", 0.01, 0.5, List.of(0.01), List.of(0.5),
                List.of(0.9), List.of(0.9), rewrite, 0.5, 0.9, 0.6, tracing, 10, 0.1, 5, status, null);
    }
}
