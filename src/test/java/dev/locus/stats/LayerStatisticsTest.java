package dev.locus.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.stats.LayerRegression.Observation;
import dev.locus.stats.LayerStatistics.Analysis;
import dev.locus.stats.LayerStatistics.LayerFigures;
import dev.locus.stats.LayerStatistics.Snapshot;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.DoubleStream;
import org.apache.commons.statistics.distribution.FDistribution;
import org.junit.jupiter.api.Test;

class LayerStatisticsTest {
    private static final int LAYERS = 12;

    @Test
    void agreesWithTheBatchComputation() {
        // Slope scale 0: the gain is pure noise and the p-value lands mid-range; larger: a real gain.
        double[] slopeScales = {0, 0.02, 0.3, 0.8};
        for (int seed = 0; seed < slopeScales.length; seed++) {
            List<Observation> data = dataSet(seed, 2000, slopeScales[seed]);
            Analysis analysis = streamed(data).analyse();
            assertMatchesBatch(data, LAYERS, analysis);
            if (slopeScales[seed] >= 0.3) {
                assertTrue(analysis.gain() > 0.05, "per-layer slopes should matter: " + analysis.gain());
            }
        }
    }

    @Test
    void emptyHasNoFigures() {
        Analysis a = new LayerStatistics().analyse();
        assertEquals(0, a.observations());
        assertEquals(List.of(), a.layers());
        assertEquals(Double.NaN, a.correlation());
        assertEquals(0, a.layerR2());
        assertEquals(0, a.tracingR2());
        assertEquals(0, a.bothR2());
        assertEquals(0, a.gain());
        assertEquals(Double.NaN, a.gainTest().f());
        assertEquals(Double.NaN, a.gainTest().pValue());
    }

    @Test
    void oneObservation() {
        LayerStatistics statistics = new LayerStatistics();
        statistics.add(3, 0.4, 0.7);
        Analysis a = statistics.analyse();
        assertEquals(4, statistics.layers());
        assertEquals(1, a.observations());
        assertEquals(new LayerFigures(3, 1, 0.7, 0.4, Double.NaN), a.layers().get(3));
        assertEquals(new LayerFigures(0, 0, Double.NaN, Double.NaN, Double.NaN), a.layers().get(0));
        assertEquals(Double.NaN, a.correlation());
        assertEquals(0, a.bothR2());
        assertEquals(Double.NaN, a.gainTest().pValue());
        assertMatchesBatch(List.of(new Observation(3, 0.4, 0.7)), 4, a);
    }

    @Test
    void layerWithConstantTracingValueGetsNoSlope() {
        List<Observation> data = new ArrayList<>();
        for (Observation o : dataSet(5, 600, 0.3)) {
            data.add(o.layer() == 2 ? new Observation(2, 0.5, o.score()) : o);
        }
        Analysis a = streamed(data).analyse();
        assertEquals(Double.NaN, a.layers().get(2).correlation());
        assertEquals(LAYERS - 1, a.gainTest().df1());
        assertEquals(data.size() - 2 * LAYERS + 1, a.gainTest().df2());
        assertMatchesBatch(data, LAYERS, a);
    }

    @Test
    void allEqualScoresExplainNothing() {
        List<Observation> data = new ArrayList<>();
        // 256 observations: LayerRegression's mean (Σ y/n) is then exact, so its SST is exactly 0
        // too; with e.g. 300 it rounds to a tiny SST > 0 and the batch reports R² = 1.
        for (Observation o : dataSet(6, 256, 0.3)) {
            data.add(new Observation(o.layer(), o.tracing(), 0.25));
        }
        Analysis a = streamed(data).analyse();
        assertEquals(0, a.layerR2());
        assertEquals(0, a.tracingR2());
        assertEquals(0, a.bothR2());
        assertEquals(0, a.gain());
        assertEquals(Double.NaN, a.correlation());
        assertEquals(Double.NaN, a.gainTest().pValue());
        assertMatchesBatch(data, LAYERS, a);
    }

    @Test
    void exactFitOfTheSlopesIsInfinitelySignificant() {
        List<Observation> data = new ArrayList<>();
        for (Observation o : dataSet(7, 300, 0)) {
            data.add(new Observation(o.layer(), o.tracing(), 0.05 * o.layer() + (o.layer() % 3 - 1) * o.tracing()));
        }
        Analysis a = streamed(data).analyse();
        assertEquals(1, a.bothR2(), 1e-9);
        assertTrue(a.gainTest().pValue() < 1e-12, "p = " + a.gainTest().pValue());
    }

    @Test
    void layersGrowOnDemand() {
        LayerStatistics late = new LayerStatistics();
        late.add(11, 0.3, 0.9);
        late.add(0, 0.1, 0.2);
        late.add(11, 0.6, 0.4);
        late.add(0, 0.8, 0.5);
        assertEquals(LAYERS, late.layers());
        assertEquals(4, late.observations());
        LayerStatistics early = new LayerStatistics();
        early.add(0, 0.1, 0.2);
        early.add(0, 0.8, 0.5);
        early.add(11, 0.3, 0.9);
        early.add(11, 0.6, 0.4);
        assertEquals(early.analyse(), late.analyse());
        assertMatchesBatch(List.of(new Observation(11, 0.3, 0.9), new Observation(0, 0.1, 0.2),
                new Observation(11, 0.6, 0.4), new Observation(0, 0.8, 0.5)), LAYERS, late.analyse());
        assertThrows(IllegalArgumentException.class, () -> late.add(-1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> late.add(0, Double.NaN, 0));
    }

    @Test
    void mergingHalvesEqualsOnePass() {
        List<Observation> data = dataSet(8, 2000, 0.3);
        LayerStatistics first = new LayerStatistics();
        LayerStatistics second = new LayerStatistics();
        for (int i = 0; i < data.size(); i++) {
            Observation o = data.get(i);
            // The first half only sees the low layers, so merging must also grow the layers.
            if (i < data.size() / 2 && o.layer() < 6) {
                first.add(o.layer(), o.tracing(), o.score());
            } else {
                second.add(o.layer(), o.tracing(), o.score());
            }
        }
        Analysis firstAlone = first.analyse();
        LayerStatistics merged = first.copy();
        merged.merge(second);
        assertEquals(firstAlone, first.analyse(), "merging into a copy leaves the original alone");
        assertEquals(data.size(), merged.observations());

        Snapshot expected = streamed(data).snapshot();
        Snapshot actual = merged.snapshot();
        assertArrayEquals(expected.count(), actual.count());
        assertClose(expected.meanX(), actual.meanX(), 1e-12);
        assertClose(expected.meanY(), actual.meanY(), 1e-12);
        assertClose(expected.m2x(), actual.m2x(), 1e-12);
        assertClose(expected.m2y(), actual.m2y(), 1e-12);
        assertClose(expected.cxy(), actual.cxy(), 1e-12);
        assertSameFigures(streamed(data).analyse(), merged.analyse(), 1e-12);
    }

    @Test
    void snapshotSurvivesJson() throws Exception {
        LayerStatistics statistics = streamed(dataSet(9, 500, 0.3));
        statistics.add(14, 0.2, 0.3); // leaves layers 12 and 13 empty
        ObjectMapper mapper = new ObjectMapper();
        String json = mapper.writeValueAsString(statistics.snapshot());
        assertTrue(json.contains("\"mean_x\"") && json.contains("\"m2y\"") && json.contains("\"cxy\""), json);
        LayerStatistics restored = LayerStatistics.fromSnapshot(mapper.readValue(json, Snapshot.class));
        assertEquals(statistics.analyse(), restored.analyse());
        assertArrayEquals(statistics.snapshot().cxy(), restored.snapshot().cxy());
    }

    @Test
    void orderDoesNotMatter() {
        List<Observation> data = dataSet(10, 2000, 0.3);
        Analysis inOrder = streamed(data).analyse();
        for (int seed = 0; seed < 3; seed++) {
            List<Observation> shuffled = new ArrayList<>(data);
            Collections.shuffle(shuffled, new Random(seed));
            assertSameFigures(inOrder, streamed(shuffled).analyse(), 1e-9);
        }
    }

    /** score = a_l + b_l·x + noise, clipped to [0, 1]; tracing in [−0.2, 1]. */
    private static List<Observation> dataSet(long seed, int size, double slopeScale) {
        Random random = new Random(seed);
        double[] intercept = new double[LAYERS];
        double[] slope = new double[LAYERS];
        for (int l = 0; l < LAYERS; l++) {
            intercept[l] = 0.2 + 0.6 * random.nextDouble();
            slope[l] = slopeScale * (2 * random.nextDouble() - 1);
        }
        List<Observation> data = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            int layer = random.nextInt(LAYERS);
            double tracing = -0.2 + 1.2 * random.nextDouble();
            double score = intercept[layer] + slope[layer] * tracing + 0.15 * random.nextGaussian();
            data.add(new Observation(layer, tracing, Math.max(0, Math.min(1, score))));
        }
        return data;
    }

    private static LayerStatistics streamed(List<Observation> data) {
        LayerStatistics statistics = new LayerStatistics();
        data.forEach(o -> statistics.add(o.layer(), o.tracing(), o.score()));
        return statistics;
    }

    /** Every figure against two-pass formulas, {@link LayerRegression} and an F-test on its fits. */
    private static void assertMatchesBatch(List<Observation> data, int layers, Analysis actual) {
        assertEquals(data.size(), actual.observations());
        LayerRegression.Fit fit = LayerRegression.fit(data, layers);
        assertEquals(fit.layerR2(), actual.layerR2(), 1e-9);
        assertEquals(fit.tracingR2(), actual.tracingR2(), 1e-9);
        assertEquals(fit.bothR2(), actual.bothR2(), 1e-9);
        assertEquals(fit.gain(), actual.gain(), 1e-9);
        assertEquals(correlation(data), actual.correlation(), 1e-9);
        for (int l = 0; l < layers; l++) {
            int layer = l;
            List<Observation> at = data.stream().filter(o -> o.layer() == layer).toList();
            LayerFigures figures = actual.layers().get(l);
            assertEquals(at.size(), figures.observations());
            assertEquals(mean(at.stream().mapToDouble(Observation::score)), figures.meanScore(), 1e-9);
            assertEquals(mean(at.stream().mapToDouble(Observation::tracing)), figures.meanTracing(), 1e-9);
            assertEquals(correlation(at), figures.correlation(), 1e-9);
        }
        assertGainTest(data, layers, actual.gainTest());
    }

    private static void assertGainTest(List<Observation> data, int layers, LayerStatistics.GainTest actual) {
        double[][] layerDesign = new double[data.size()][layers];
        double[][] bothDesign = new double[data.size()][2 * layers];
        double[] y = new double[data.size()];
        for (int i = 0; i < data.size(); i++) {
            Observation o = data.get(i);
            layerDesign[i][o.layer()] = 1;
            bothDesign[i][o.layer()] = 1;
            bothDesign[i][layers + o.layer()] = o.tracing();
            y[i] = o.score();
        }
        long observed = data.stream().mapToInt(Observation::layer).distinct().count();
        long sloped = 0;
        for (int l = 0; l < layers; l++) {
            int layer = l;
            sloped += data.stream().filter(o -> o.layer() == layer).mapToDouble(Observation::tracing)
                    .distinct().count() > 1 ? 1 : 0;
        }
        long df1 = sloped;
        long df2 = data.size() - observed - sloped;
        assertEquals(df1, actual.df1());
        assertEquals(df2, actual.df2());
        if (df1 <= 0 || df2 <= 0) {
            assertEquals(Double.NaN, actual.pValue());
            return;
        }
        double layerSse = residualSumOfSquares(layerDesign, y);
        double bothSse = residualSumOfSquares(bothDesign, y);
        if (layerSse < 1e-20) {
            assertEquals(Double.NaN, actual.pValue());
            return;
        }
        double f = Math.max(0, ((layerSse - bothSse) / df1) / (bothSse / df2));
        assertEquals(f, actual.f(), 1e-9 * Math.max(1, f));
        assertEquals(FDistribution.of(df1, df2).survivalProbability(f), actual.pValue(), 1e-9);
    }

    private static double residualSumOfSquares(double[][] x, double[] y) {
        double[] beta = LayerRegression.solveNormalEquations(x, y);
        double sum = 0;
        for (int i = 0; i < y.length; i++) {
            double fitted = 0;
            for (int j = 0; j < beta.length; j++) {
                fitted += x[i][j] * beta[j];
            }
            sum += (y[i] - fitted) * (y[i] - fitted);
        }
        return sum;
    }

    private static double mean(DoubleStream values) {
        return values.average().orElse(Double.NaN);
    }

    /** Two-pass Pearson r; NaN below two observations or without variance. */
    private static double correlation(List<Observation> data) {
        double mx = mean(data.stream().mapToDouble(Observation::tracing));
        double my = mean(data.stream().mapToDouble(Observation::score));
        double sxx = 0;
        double syy = 0;
        double sxy = 0;
        for (Observation o : data) {
            sxx += (o.tracing() - mx) * (o.tracing() - mx);
            syy += (o.score() - my) * (o.score() - my);
            sxy += (o.tracing() - mx) * (o.score() - my);
        }
        return data.size() < 2 || sxx == 0 || syy == 0 ? Double.NaN : sxy / Math.sqrt(sxx * syy);
    }

    private static void assertSameFigures(Analysis expected, Analysis actual, double tolerance) {
        assertEquals(expected.observations(), actual.observations());
        assertEquals(expected.layers().size(), actual.layers().size());
        for (int l = 0; l < expected.layers().size(); l++) {
            LayerFigures e = expected.layers().get(l);
            LayerFigures a = actual.layers().get(l);
            assertEquals(e.observations(), a.observations());
            assertClose(e.meanScore(), a.meanScore(), tolerance);
            assertClose(e.meanTracing(), a.meanTracing(), tolerance);
            assertClose(e.correlation(), a.correlation(), tolerance);
        }
        assertClose(expected.correlation(), actual.correlation(), tolerance);
        assertClose(expected.layerR2(), actual.layerR2(), tolerance);
        assertClose(expected.tracingR2(), actual.tracingR2(), tolerance);
        assertClose(expected.bothR2(), actual.bothR2(), tolerance);
        assertClose(expected.gain(), actual.gain(), tolerance);
        assertClose(expected.gainTest().f(), actual.gainTest().f(), tolerance);
        assertClose(expected.gainTest().pValue(), actual.gainTest().pValue(), tolerance);
    }

    /** Relative tolerance, absolute for magnitudes below 1. */
    private static void assertClose(double expected, double actual, double tolerance) {
        assertEquals(expected, actual, tolerance * Math.max(1, Math.abs(expected)));
    }

    private static void assertClose(double[] expected, double[] actual, double tolerance) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertClose(expected[i], actual[i], tolerance);
        }
    }
}
