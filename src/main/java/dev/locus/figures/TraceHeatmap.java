package dev.locus.figures;

import dev.locus.tracing.CausalTrace;
import dev.locus.tracing.TokenGroup;
import dev.locus.tracing.TraceAverage;
import dev.locus.tracing.TraceJson;
import dev.locus.tracing.TraceKind;
import java.awt.Color;
import java.awt.Dimension;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.style.HeatMapStyler;
import org.knowm.xchart.style.Styler;

/**
 * The classic causal-tracing figure as one PNG: three heatmaps side by side (hidden, MLP,
 * attention), tokens down the y axis, layers across, colour = p(target) with that cell restored.
 * Drawn off-screen into images, so it needs no display (works with java.awt.headless=true).
 */
public final class TraceHeatmap {
    private static final int CELL_WIDTH = 22;
    private static final int CELL_HEIGHT = 26;
    /** Below this the title and the colour scale do not fit beside a short or narrow grid. */
    private static final int MIN_PLOT_WIDTH = 240;
    private static final int MIN_PLOT_HEIGHT = 200;
    private static final int CHAR_WIDTH = 8;
    /** Room for the title, the x axis and its title, the colour scale and margins. */
    private static final int FRAME_WIDTH = 200;
    private static final int FRAME_HEIGHT = 110;

    /** The darkest colour of each kind's scale, after the colour maps of the ROME figures (Purples, Greens, Reds). */
    private static final Map<TraceKind, Color> DARKEST = Map.of(
            TraceKind.HIDDEN, new Color(63, 0, 125),
            TraceKind.MLP, new Color(0, 68, 27),
            TraceKind.ATTN, new Color(103, 0, 13));

    private TraceHeatmap() {}

    /** The figure of one trace; {@code targetLabel} names the target in the colour label, as in p(Paris). */
    public static void write(CausalTrace trace, String targetLabel, Path png) throws IOException {
        List<String> rows = new ArrayList<>();
        for (int t = 0; t < trace.tokens().size(); t++) {
            String text = trace.tokens().get(t).strip();
            rows.add(t >= trace.subjectStart() && t < trace.subjectEnd() ? text + "*" : text);
        }
        write(rows, trace.restored(), trace.windows(), "p(" + targetLabel + ")", png);
    }

    /**
     * The figure averaged over facts of different lengths, in token groups ({@link TraceAverage}): per group, the mean over
     * the facts that have it. A group no fact has is left blank.
     */
    public static void writeAverage(List<CausalTrace> traces, Path png) throws IOException {
        if (traces.isEmpty()) {
            throw new IllegalArgumentException("no traces to average");
        }
        TraceAverage average = new TraceAverage();
        traces.forEach(trace -> average.add(TraceJson.of(null, null, trace)));
        Map<TraceKind, double[][]> grids = new EnumMap<>(TraceKind.class);
        for (TraceKind kind : TraceKind.values()) {
            double[][] mean = average.meanRestored(kind);
            for (int g = 0; g < mean.length; g++) {
                if (mean[g] == null) {
                    mean[g] = new double[average.layers()];
                    Arrays.fill(mean[g], Double.NaN);
                }
            }
            grids.put(kind, mean);
        }
        List<String> rows = Arrays.stream(TokenGroup.values()).map(TokenGroup::label).toList();
        write(rows, grids, traces.get(0).windows(), "mean p(target), " + traces.size() + " facts", png);
    }

    /** Size of one panel: the PNG is three of these side by side. */
    static Dimension panelSize(List<String> rows, int layers) {
        int labelWidth = CHAR_WIDTH * rows.stream().mapToInt(String::length).max().orElse(0);
        return new Dimension(FRAME_WIDTH + labelWidth + Math.max(MIN_PLOT_WIDTH, CELL_WIDTH * layers),
                FRAME_HEIGHT + Math.max(MIN_PLOT_HEIGHT, CELL_HEIGHT * rows.size()));
    }

    private static void write(List<String> rows, Map<TraceKind, double[][]> grids, Map<TraceKind, Integer> windows,
                              String valueLabel, Path png) throws IOException {
        Dimension panel = panelSize(rows, grids.get(TraceKind.HIDDEN)[0].length);
        BufferedImage figure = new BufferedImage(3 * panel.width, panel.height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = figure.createGraphics();
        try {
            int x = 0;
            for (TraceKind kind : TraceKind.values()) {
                HeatMapChart chart = panel(kind, windows.get(kind), rows, grids.get(kind), valueLabel, panel);
                g.drawImage(BitmapEncoder.getBufferedImage(chart), x, 0, null);
                x += panel.width;
            }
        } finally {
            g.dispose();
        }
        Png.write(figure, png);
    }

    private static HeatMapChart panel(TraceKind kind, int window, List<String> rows, double[][] grid, String valueLabel,
                                      Dimension size) {
        // With a theme: XChart 3.8.8's two-argument constructor leaves the styler's fonts unset.
        HeatMapChart chart = new HeatMapChart(size.width, size.height, Styler.ChartTheme.XChart);
        chart.setTitle("restoring " + kind.label() + ", window " + window);
        chart.setXAxisTitle("layer   (colour: " + valueLabel + ")");
        List<Integer> layers = new ArrayList<>();
        for (int l = 0; l < grid[0].length; l++) {
            layers.add(l);
        }
        // XChart puts y index 0 at the bottom; the first token goes on top, as in a prompt read downwards.
        List<String> yLabels = new ArrayList<>(rows);
        Collections.reverse(yLabels);
        List<Number[]> cells = new ArrayList<>();
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (int t = 0; t < grid.length; t++) {
            for (int l = 0; l < grid[t].length; l++) {
                if (!Double.isNaN(grid[t][l])) { // a missing average group: no cell, left blank
                    cells.add(new Number[] {l, rows.size() - 1 - t, grid[t][l]});
                    min = Math.min(min, grid[t][l]);
                    max = Math.max(max, grid[t][l]);
                }
            }
        }
        chart.addSeries(kind.label(), layers, yLabels, cells);
        // The colour scale prints its ends as raw doubles: round them outwards to 3 significant digits
        // (not decimals, which would flatten the scale of a model that gives the target p ~ 0.001).
        double low = new BigDecimal(min).round(new MathContext(3, RoundingMode.FLOOR)).doubleValue();
        double high = new BigDecimal(max).round(new MathContext(3, RoundingMode.CEILING)).doubleValue();
        if (high <= low) { // a uniform grid: any scale draws it in the lowest colour
            high = low + Math.max(Math.ulp(low), 1e-3 * Math.abs(low));
        }
        HeatMapStyler style = chart.getStyler();
        style.setMin(low).setMax(high)
                .setRangeColors(new Color[] {Color.WHITE, DARKEST.get(kind)})
                .setGradientColorColumnHeight(Math.min(200, size.height - FRAME_HEIGHT))
                .setLegendPosition(Styler.LegendPosition.OutsideE);
        style.setChartBackgroundColor(Color.WHITE);
        style.setPlotGridLinesVisible(false);
        return chart;
    }
}
