package dev.locus.figures;

import dev.locus.editing.EditResult;
import dev.locus.study.StudySummary;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The study's figure as one PNG, the paper's figures for any model: a row per problem and, per method, two panels: the mean
 * rewrite, paraphrase and neighbourhood scores by edited layer with, dashed, the mean tracing value of the edited layer
 * (the panel's axis title gives the R² of rewrite score ~ layer, ~ tracing, ~ both), and the rewrite score against the
 * tracing value of every edit, coloured by layer; below them the R² table of the rewrite score per method × problem
 * (layer / tracing / both / gain / F-test p). Drawn off-screen (works headless).
 */
public final class StudyFigure {
    private static final int PANEL_WIDTH = 450;
    private static final int PANEL_HEIGHT = 330;
    private static final int TABLE_LINE = 18;

    private StudyFigure() {}

    public static void write(List<StudySummary> summaries, List<EditResult> results, Path png) throws IOException {
        List<String> methods = summaries.stream().map(StudySummary::method).distinct().toList();
        List<String> problems = summaries.stream().map(StudySummary::problem).distinct().toList();
        int tableHeight = (summaries.size() + 3) * TABLE_LINE;
        BufferedImage figure = new BufferedImage(Math.max(2, methods.size() * 2) * PANEL_WIDTH,
                problems.size() * PANEL_HEIGHT + tableHeight, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = figure.createGraphics();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, figure.getWidth(), figure.getHeight());
            for (StudySummary s : summaries) {
                int x = methods.indexOf(s.method()) * 2 * PANEL_WIDTH;
                int y = problems.indexOf(s.problem()) * PANEL_HEIGHT;
                g.drawImage(BitmapEncoder.getBufferedImage(panel(s)), x, y, null);
                List<EditResult> group = results.stream()
                        .filter(r -> r.method().equals(s.method()) && r.problem().equals(s.problem()) && r.status().equals("ok")).toList();
                g.drawImage(BitmapEncoder.getBufferedImage(scatter(s, group)), x + PANEL_WIDTH, y, null);
            }
            table(g, summaries, problems.size() * PANEL_HEIGHT);
        } finally {
            g.dispose();
        }
        Png.write(figure, png);
    }

    /** The paper's table: the rewrite score's R² per method × problem, one line each. */
    private static void table(Graphics2D g, List<StudySummary> summaries, int top) {
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.MONOSPACED, Font.PLAIN, 13));
        g.drawString("rewrite score R²: ~ layer, ~ tracing, ~ layer + layer × tracing, the gain and its F-test", 10, top + TABLE_LINE);
        g.drawString(String.format("%-19s %-6s %6s %8s %8s %8s %8s %9s", "problem", "method", "edits", "layer", "tracing", "both",
                "gain", "F p"), 10, top + 2 * TABLE_LINE);
        int line = 3;
        for (StudySummary s : summaries) {
            StudySummary.MetricFit f = s.metrics().get(0);
            double p = f.gainTest().pValue();
            g.drawString(String.format("%-19s %-6s %6d %8.3f %8.3f %8.3f %+8.3f %9s", s.problem(), s.method(), f.fit().observations(),
                    f.fit().layerR2(), f.fit().tracingR2(), f.fit().bothR2(), f.fit().gain(),
                    Double.isNaN(p) ? "-" : p < 1e-4 ? "<1e-4" : String.format("%.4f", p)), 10, top + line++ * TABLE_LINE);
        }
    }

    /** Rewrite score against tracing value, one series per edited layer (light to dark with depth). */
    private static XYChart scatter(StudySummary s, List<EditResult> group) {
        StudySummary.MetricFit f = s.metrics().get(0);
        XYChart chart = new XYChartBuilder().width(PANEL_WIDTH).height(PANEL_HEIGHT).theme(Styler.ChartTheme.XChart)
                .title("rewrite score vs tracing value, by layer").xAxisTitle(String.format("tracing value    gain %+.3f, F-test p %s",
                        f.fit().gain(), Double.isNaN(f.gainTest().pValue()) ? "-" : String.format("%.2g", f.gainTest().pValue())))
                .build();
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.getStyler().setMarkerSize(4);
        int deepest = group.stream().mapToInt(EditResult::layer).max().orElse(0);
        for (StudySummary.LayerMeans l : s.layers()) {
            List<EditResult> at = group.stream().filter(r -> r.layer() == l.layer()).toList();
            XYSeries series = chart.addSeries("layer " + l.layer(), at.stream().mapToDouble(EditResult::tracingValue).toArray(),
                    at.stream().mapToDouble(EditResult::rewriteScore).toArray());
            float depth = deepest == 0 ? 0 : l.layer() / (float) deepest;
            Color colour = Color.getHSBColor(0.6f - 0.6f * depth, 0.8f, 0.85f);
            series.setMarkerColor(colour);
            series.setMarker(SeriesMarkers.CIRCLE);
        }
        return chart;
    }

    private static XYChart panel(StudySummary s) {
        XYChart chart = new XYChartBuilder().width(PANEL_WIDTH).height(PANEL_HEIGHT).theme(Styler.ChartTheme.XChart)
                .title(s.method() + " · " + s.problem().replace('_', ' ') + " (" + s.facts() + " facts)")
                .xAxisTitle(String.format("layer    R² ~layer %.2f, ~tracing %.2f, ~both %.2f", s.fit().layerR2(),
                        s.fit().tracingR2(), s.fit().bothR2()))
                .build();
        // Rewrite scores can be negative (a raising edit that lowered p); the axis then extends below 0.
        double lowest = s.layers().stream().mapToDouble(l -> Math.min(Math.min(l.rewrite(), l.paraphrase()), l.neighborhood()))
                .min().orElse(0);
        chart.getStyler().setYAxisMin(Math.min(0.0, Math.floor(lowest * 10) / 10));
        chart.getStyler().setYAxisMax(1.0);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        chart.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
        double[] layers = s.layers().stream().mapToDouble(StudySummary.LayerMeans::layer).toArray();
        series(chart, "rewrite", layers, s.layers().stream().mapToDouble(StudySummary.LayerMeans::rewrite).toArray(),
                new Color(31, 119, 180), false);
        series(chart, "paraphrase", layers, s.layers().stream().mapToDouble(StudySummary.LayerMeans::paraphrase).toArray(),
                new Color(44, 160, 44), false);
        series(chart, "neighbourhood", layers, s.layers().stream().mapToDouble(StudySummary.LayerMeans::neighborhood).toArray(),
                new Color(255, 127, 14), false);
        series(chart, "tracing", layers, s.layers().stream().mapToDouble(StudySummary.LayerMeans::tracing).toArray(),
                Color.DARK_GRAY, true);
        return chart;
    }

    private static void series(XYChart chart, String name, double[] x, double[] y, Color colour, boolean dashed) {
        XYSeries series = chart.addSeries(name, x, y);
        series.setLineColor(colour);
        series.setMarkerColor(colour);
        series.setMarker(SeriesMarkers.CIRCLE);
        if (dashed) {
            series.setLineStyle(new java.awt.BasicStroke(1.5f, java.awt.BasicStroke.CAP_BUTT, java.awt.BasicStroke.JOIN_MITER,
                    10f, new float[] {6f, 4f}, 0f));
        }
    }
}
