package dev.locus.stats;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.statistics.distribution.FDistribution;

/**
 * Streaming state of one (model, method, problem, metric) group of the study "is the causally
 * traced layer the best place to edit a fact". An observation is (edit layer, tracing value x at
 * that layer, score y); per layer only n, the means of x and y and the co-moments Σ(x−x̄)²,
 * Σ(y−ȳ)², Σ(x−x̄)(y−ȳ) are kept, which is enough for every figure {@link LayerRegression} computes
 * in batch. Updates are Welford-style and partitions combine with Chan et al.'s pairwise formulas,
 * so nothing suffers the cancellation of raw sums of squares. Layers are added on demand.
 *
 * <p>Not thread-safe: the caller serialises access to an instance.
 */
public final class LayerStatistics {
    private final List<Moments> layers = new ArrayList<>();

    /** Adds one observation in O(1) (amortised over growing the layer list). */
    public void add(int layer, double tracing, double score) {
        if (layer < 0) {
            throw new IllegalArgumentException("negative layer: " + layer);
        }
        // One NaN would poison every figure of the group for good, so refuse it at the door.
        if (!Double.isFinite(tracing) || !Double.isFinite(score)) {
            throw new IllegalArgumentException("non-finite observation: " + tracing + ", " + score);
        }
        at(layer).add(tracing, score);
    }

    /** Folds in the statistics of a disjoint set of observations (another partition). */
    public void merge(LayerStatistics other) {
        for (int layer = 0; layer < other.layers.size(); layer++) {
            at(layer).merge(other.layers.get(layer));
        }
    }

    public LayerStatistics copy() {
        LayerStatistics copy = new LayerStatistics();
        copy.merge(this);
        return copy;
    }

    /** Number of layers seen so far: one more than the highest layer observed. */
    public int layers() {
        return layers.size();
    }

    public long observations() {
        return layers.stream().mapToLong(m -> m.n).sum();
    }

    public Analysis analyse() {
        Moments all = new Moments();
        List<LayerFigures> figures = new ArrayList<>(layers.size());
        double layerSse = 0;
        double bothSse = 0;
        int observedLayers = 0;
        int slopedLayers = 0;
        for (int layer = 0; layer < layers.size(); layer++) {
            Moments m = layers.get(layer);
            all.merge(m);
            figures.add(new LayerFigures(layer, m.n, m.n == 0 ? Double.NaN : m.meanY,
                    m.n == 0 ? Double.NaN : m.meanX, m.correlation()));
            if (m.n > 0) {
                observedLayers++;
                layerSse += m.m2y;
                bothSse += m.residualAfterSlope();
                slopedLayers += m.m2x > 0 ? 1 : 0;
            }
        }
        double sst = all.m2y;
        double layerR2 = rSquared(layerSse, sst);
        double bothR2 = rSquared(bothSse, sst);
        // The nested models have observedLayers and observedLayers + slopedLayers parameters.
        GainTest test = gainTest(layerSse, bothSse, slopedLayers, all.n - observedLayers - slopedLayers);
        // score ~ tracing is one line through all observations: its R² is the overall r².
        double tracingR2 = rSquared(all.residualAfterSlope(), sst);
        return new Analysis(all.n, figures, all.correlation(), layerR2, tracingR2, bothR2,
                bothR2 - layerR2, test);
    }

    /** Same convention as {@link LayerRegression}: R² = 0 when the scores do not vary at all. */
    private static double rSquared(double sse, double sst) {
        return sst == 0 ? 0 : 1 - sse / sst;
    }

    private static GainTest gainTest(double layerSse, double bothSse, long df1, long df2) {
        if (df1 <= 0 || df2 <= 0) {
            return new GainTest(Double.NaN, df1, df2, Double.NaN);
        }
        if (bothSse == 0) {
            // An exact fit: any improvement is infinitely significant, none is undefined (0/0).
            return layerSse > 0
                    ? new GainTest(Double.POSITIVE_INFINITY, df1, df2, 0)
                    : new GainTest(Double.NaN, df1, df2, Double.NaN);
        }
        // Rounding can leave bothSse a hair above layerSse when the slopes explain nothing.
        double f = Math.max(0, ((layerSse - bothSse) / df1) / (bothSse / df2));
        return new GainTest(f, df1, df2, FDistribution.of(df1, df2).survivalProbability(f));
    }

    public Snapshot snapshot() {
        int size = layers.size();
        Snapshot s = new Snapshot(new long[size], new double[size], new double[size],
                new double[size], new double[size], new double[size]);
        for (int layer = 0; layer < size; layer++) {
            Moments m = layers.get(layer);
            s.count[layer] = m.n;
            s.meanX[layer] = m.meanX;
            s.meanY[layer] = m.meanY;
            s.m2x[layer] = m.m2x;
            s.m2y[layer] = m.m2y;
            s.cxy[layer] = m.cxy;
        }
        return s;
    }

    public static LayerStatistics fromSnapshot(Snapshot s) {
        int size = s.count.length;
        if (s.meanX.length != size || s.meanY.length != size || s.m2x.length != size
                || s.m2y.length != size || s.cxy.length != size) {
            throw new IllegalArgumentException("snapshot arrays differ in length");
        }
        LayerStatistics statistics = new LayerStatistics();
        for (int layer = 0; layer < size; layer++) {
            if (s.count[layer] < 0) {
                throw new IllegalArgumentException("negative count at layer " + layer);
            }
            Moments m = statistics.at(layer);
            m.n = s.count[layer];
            m.meanX = s.meanX[layer];
            m.meanY = s.meanY[layer];
            m.m2x = s.m2x[layer];
            m.m2y = s.m2y[layer];
            m.cxy = s.cxy[layer];
        }
        return statistics;
    }

    private Moments at(int layer) {
        while (layers.size() <= layer) {
            layers.add(new Moments());
        }
        return layers.get(layer);
    }

    /** The plain, JSON-ready form of the state: per layer n, x̄, ȳ, Σ(x−x̄)², Σ(y−ȳ)², Σ(x−x̄)(y−ȳ). */
    public record Snapshot(
            @JsonProperty("count") long[] count,
            @JsonProperty("mean_x") double[] meanX,
            @JsonProperty("mean_y") double[] meanY,
            @JsonProperty("m2x") double[] m2x,
            @JsonProperty("m2y") double[] m2y,
            @JsonProperty("cxy") double[] cxy) {}

    /** Means and correlation are NaN where undefined (no observations, or no variance). */
    public record LayerFigures(int layer, long observations, @JsonProperty("mean_score") double meanScore,
            @JsonProperty("mean_tracing") double meanTracing, double correlation) {}

    /** F-test of the gain of "layer + layer × tracing" over "layer"; NaN where undefined. */
    public record GainTest(double f, long df1, long df2, @JsonProperty("p_value") double pValue) {}

    public record Analysis(long observations, List<LayerFigures> layers, double correlation,
            @JsonProperty("layer_r2") double layerR2, @JsonProperty("tracing_r2") double tracingR2,
            @JsonProperty("both_r2") double bothR2, double gain, @JsonProperty("gain_test") GainTest gainTest) {
        public Analysis {
            layers = List.copyOf(layers);
        }
    }

    /** n, means and co-moments of one sample of (x, y). */
    private static final class Moments {
        long n;
        double meanX;
        double meanY;
        double m2x;
        double m2y;
        double cxy;

        void add(double x, double y) {
            n++;
            double dx = x - meanX;
            meanX += dx / n;
            double dy = y - meanY;
            meanY += dy / n;
            m2x += dx * (x - meanX);
            m2y += dy * (y - meanY);
            cxy += dx * (y - meanY);
        }

        /** Chan et al.: the moments of the union of this sample and a disjoint one. */
        void merge(Moments other) {
            if (other.n == 0) {
                return;
            }
            if (n == 0) {
                // Copy rather than apply the formula, which would round the means (x̄·n/n).
                n = other.n;
                meanX = other.meanX;
                meanY = other.meanY;
                m2x = other.m2x;
                m2y = other.m2y;
                cxy = other.cxy;
                return;
            }
            long total = n + other.n;
            double dx = other.meanX - meanX;
            double dy = other.meanY - meanY;
            double weight = (double) n * other.n / total;
            meanX += dx * other.n / total;
            meanY += dy * other.n / total;
            m2x += other.m2x + dx * dx * weight;
            m2y += other.m2y + dy * dy * weight;
            cxy += other.cxy + dx * dy * weight;
            n = total;
        }

        /** Σ(y−ȳ)² left after the least-squares line in x; with x constant the line is just ȳ. */
        double residualAfterSlope() {
            return m2x > 0 ? Math.max(0, m2y - cxy * cxy / m2x) : m2y;
        }

        /** Pearson's r; m2x is exactly 0 below two observations, so that case is NaN too. */
        double correlation() {
            if (m2x == 0 || m2y == 0) {
                return Double.NaN;
            }
            return Math.max(-1, Math.min(1, cxy / (Math.sqrt(m2x) * Math.sqrt(m2y))));
        }
    }
}
