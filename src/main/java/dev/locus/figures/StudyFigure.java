package dev.locus.figures;

import dev.locus.study.StudySummary;
import java.awt.Color;
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
 * The study's figure as one PNG: a panel per method (columns) × problem (rows) with the mean
 * rewrite, paraphrase and neighbourhood scores by edited layer and, dashed, the mean tracing value
 * of the edited layer; the panel's axis title gives the R² of rewrite score ~ layer, ~ tracing,
 * ~ both. Drawn off-screen (works headless).
 */
public final class StudyFigure {
    private static final int PANEL_WIDTH = 450;
    private static final int PANEL_HEIGHT = 330;

    private StudyFigure() {}

    public static void write(List<StudySummary> summaries, Path png) throws IOException {
        List<String> methods = summaries.stream().map(StudySummary::method).distinct().toList();
        List<String> problems = summaries.stream().map(StudySummary::problem).distinct().toList();
        BufferedImage figure = new BufferedImage(methods.size() * PANEL_WIDTH, problems.size() * PANEL_HEIGHT,
                BufferedImage.TYPE_INT_RGB);
        Graphics2D g = figure.createGraphics();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, figure.getWidth(), figure.getHeight());
            for (StudySummary s : summaries) {
                g.drawImage(BitmapEncoder.getBufferedImage(panel(s)), methods.indexOf(s.method()) * PANEL_WIDTH,
                        problems.indexOf(s.problem()) * PANEL_HEIGHT, null);
            }
        } finally {
            g.dispose();
        }
        Png.write(figure, png);
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
