package dev.locus.stats;

import java.util.List;

/**
 * The study's three least-squares models of an edit score, fitted in one batch: score ~ layer
 * (layer as a category), score ~ tracing value, and score ~ layer + layer × tracing (a separate
 * slope per layer); R² of each. The streaming aggregator is checked against this.
 */
public final class LayerRegression {
    private LayerRegression() {}

    /** One observation: the edited layer, the tracing value at it, and the score. */
    public record Observation(int layer, double tracing, double score) {}

    public record Fit(int observations, double layerR2, double tracingR2, double bothR2) {
        public double gain() {
            return bothR2 - layerR2;
        }
    }

    public static Fit fit(List<Observation> data, int layers) {
        double[][] byLayer = new double[data.size()][];
        double[][] byTracing = new double[data.size()][];
        double[][] both = new double[data.size()][];
        double[] y = new double[data.size()];
        for (int i = 0; i < data.size(); i++) {
            Observation o = data.get(i);
            byLayer[i] = new double[layers];
            byLayer[i][o.layer()] = 1;
            byTracing[i] = new double[] {1, o.tracing()};
            both[i] = new double[2 * layers];
            both[i][o.layer()] = 1;
            both[i][layers + o.layer()] = o.tracing();
            y[i] = o.score();
        }
        return new Fit(data.size(), r2(byLayer, y), r2(byTracing, y), r2(both, y));
    }

    /** 1 − SS_res / SS_tot of the least-squares fit of y on the columns of x. */
    static double r2(double[][] x, double[] y) {
        double[] beta = solveNormalEquations(x, y);
        double mean = 0;
        for (double v : y) {
            mean += v / y.length;
        }
        double residual = 0;
        double total = 0;
        for (int i = 0; i < y.length; i++) {
            double fitted = 0;
            for (int j = 0; j < beta.length; j++) {
                fitted += x[i][j] * beta[j];
            }
            residual += (y[i] - fitted) * (y[i] - fitted);
            total += (y[i] - mean) * (y[i] - mean);
        }
        return total == 0 ? 0 : 1 - residual / total;
    }

    /**
     * β = (XᵀX)⁻¹Xᵀy by Gaussian elimination with partial pivoting; a column with no information
     * (a layer never observed, a constant tracing value) gets β = 0 instead of a singular solve.
     */
    static double[] solveNormalEquations(double[][] x, double[] y) {
        int p = x[0].length;
        double[][] a = new double[p][p + 1];
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < p; j++) {
                for (int k = 0; k < p; k++) {
                    a[j][k] += x[i][j] * x[i][k];
                }
                a[j][p] += x[i][j] * y[i];
            }
        }
        double scale = 0;
        for (int j = 0; j < p; j++) {
            scale = Math.max(scale, Math.abs(a[j][j]));
        }
        boolean[] free = new boolean[p];
        for (int col = 0; col < p; col++) {
            int pivot = col;
            for (int r = col + 1; r < p; r++) {
                if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) {
                    pivot = r;
                }
            }
            double[] t = a[col];
            a[col] = a[pivot];
            a[pivot] = t;
            if (Math.abs(a[col][col]) <= 1e-12 * Math.max(scale, 1)) {
                free[col] = true;
                continue;
            }
            for (int r = 0; r < p; r++) {
                if (r != col && a[r][col] != 0) {
                    double f = a[r][col] / a[col][col];
                    for (int k = col; k <= p; k++) {
                        a[r][k] -= f * a[col][k];
                    }
                }
            }
        }
        double[] beta = new double[p];
        for (int j = 0; j < p; j++) {
            beta[j] = free[j] ? 0 : a[j][p] / a[j][j];
        }
        return beta;
    }
}
