package dev.locus.stats;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * Streaming 95 % intervals for the mean of paired differences (candidate − baseline, one per fact),
 * by a Poisson bootstrap: replicate r counts fact f with weight w(f, r) ~ Poisson(1), drawn from a
 * hash of (fact id, r) instead of a random generator. So each replicate is a sum over facts that
 * can be added in any order, split across partitions and merged, and restored from its sums after
 * a restart, and the same facts give the same interval everywhere, exactly. (Hanley and MacGibbon,
 * "Creating non-parametric bootstrap samples using Poisson frequencies", 2006; Chamandy et al., 2012,
 * for the streaming use.) The interval is the replicates' 2.5th and 97.5th percentiles.
 *
 * <p>Not thread-safe: the caller serialises access to an instance.
 */
public final class PairedBootstrap {
    public static final int DEFAULT_REPLICATES = 200;

    /** P(K ≤ k) for K ~ Poisson(1), k = 0 .. 15; the weight is the first k whose CDF reaches the uniform draw. */
    private static final double[] POISSON_1_CDF = poissonCdf(16);

    private long count;
    private double sum;
    private final double[] weights;
    private final double[] weightedSums;

    public int replicates() {
        return weights.length;
    }

    public PairedBootstrap(int replicates) {
        if (replicates < 40) {
            throw new IllegalArgumentException("at least 40 replicates for a 95 % percentile interval, got " + replicates);
        }
        this.weights = new double[replicates];
        this.weightedSums = new double[replicates];
    }

    /** The estimate and its interval; NaN bounds while no replicate has a fact. */
    public record Interval(long facts, double mean, double low, double high) {
        /** Whether the interval lies wholly above (1), wholly below (−1) or around (0) zero. */
        public int sign() {
            return low > 0 ? 1 : high < 0 ? -1 : 0;
        }
    }

    /** Adds fact {@code factId}'s paired difference (finite). */
    public void add(String factId, double difference) {
        if (!Double.isFinite(difference)) {
            throw new IllegalArgumentException("non-finite difference for " + factId + ": " + difference);
        }
        count++;
        sum += difference;
        long seed = seed(factId);
        for (int r = 0; r < weights.length; r++) {
            int w = weight(seed, r);
            weights[r] += w;
            weightedSums[r] += w * difference;
        }
    }

    /** Folds in the facts of another instance (disjoint facts, the same replicate count). */
    public void merge(PairedBootstrap other) {
        if (other.weights.length != weights.length) {
            throw new IllegalArgumentException("replicate counts differ: " + weights.length + " and " + other.weights.length);
        }
        count += other.count;
        sum += other.sum;
        for (int r = 0; r < weights.length; r++) {
            weights[r] += other.weights[r];
            weightedSums[r] += other.weightedSums[r];
        }
    }

    /** The state in the form a snapshot keeps: restored with {@link #fromSnapshot}, it gives the same intervals. */
    public record Snapshot(long count, double sum, double[] weights, double[] weightedSums) {}

    public Snapshot snapshot() {
        return new Snapshot(count, sum, weights.clone(), weightedSums.clone());
    }

    public static PairedBootstrap fromSnapshot(Snapshot s) {
        PairedBootstrap b = new PairedBootstrap(s.weights().length);
        b.count = s.count();
        b.sum = s.sum();
        System.arraycopy(s.weights(), 0, b.weights, 0, b.weights.length);
        System.arraycopy(s.weightedSums(), 0, b.weightedSums, 0, b.weightedSums.length);
        return b;
    }

    public Interval interval() {
        double mean = count == 0 ? Double.NaN : sum / count;
        double[] means = new double[weights.length];
        int n = 0;
        for (int r = 0; r < weights.length; r++) {
            if (weights[r] > 0) {
                means[n++] = weightedSums[r] / weights[r];
            }
        }
        if (n == 0) {
            return new Interval(count, mean, Double.NaN, Double.NaN);
        }
        return interval(count, mean, Arrays.copyOf(means, n));
    }

    /** The 95 % percentile interval of a figure's bootstrap replicates around its estimate from all {@code facts}. */
    public static Interval interval(long facts, double estimate, double[] replicates) {
        double[] sorted = Arrays.stream(replicates).filter(Double::isFinite).sorted().toArray();
        if (sorted.length == 0) {
            return new Interval(facts, estimate, Double.NaN, Double.NaN);
        }
        return new Interval(facts, estimate, percentile(sorted, 0.025), percentile(sorted, 0.975));
    }

    /** The weight of the fact with {@code seed} in replicate {@code replicate}: Poisson(1) from a SplitMix64 hash. */
    public static int weight(long seed, int replicate) {
        long z = seed + (replicate + 1L) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z ^= z >>> 31;
        double u = (z >>> 11) * 0x1.0p-53; // uniform in [0, 1)
        int k = 0;
        while (k < POISSON_1_CDF.length - 1 && u >= POISSON_1_CDF[k]) {
            k++;
        }
        return k;
    }

    /** 64 bits of SHA-256 of the fact id: the same fact has the same weights in every process. */
    public static long seed(String factId) {
        byte[] digest;
        try {
            digest = MessageDigest.getInstance("SHA-256").digest(factId.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is unavailable", e);
        }
        long seed = 0;
        for (int i = 0; i < 8; i++) {
            seed = seed << 8 | (digest[i] & 0xff);
        }
        return seed;
    }

    /** Linear interpolation between closest ranks (type 7, as R's and NumPy's default). */
    private static double percentile(double[] sorted, double q) {
        double position = q * (sorted.length - 1);
        int below = (int) Math.floor(position);
        int above = Math.min(sorted.length - 1, below + 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }

    private static double[] poissonCdf(int terms) {
        double[] cdf = new double[terms];
        double p = Math.exp(-1);
        double total = 0;
        for (int k = 0; k < terms; k++) {
            total += p;
            cdf[k] = total;
            p /= k + 1;
        }
        cdf[terms - 1] = 1; // the tail beyond 15 (< 1e-13) goes to the last weight
        return cdf;
    }
}
