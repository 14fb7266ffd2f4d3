package dev.locus.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.locus.editing.EditResult;
import dev.locus.figures.StudyFigure;
import dev.locus.stats.LayerRegression;
import dev.locus.stats.LayerStatistics;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StudySummaryTest {

    private static EditResult edit(String fact, String method, String problem, int layer, double rewrite, double neighbourhood,
                                   double tracing, boolean ok) {
        return new EditResult(fact, method, problem, layer, new int[] {layer}, "Lisbon", 0.1, 0.5, List.of(), List.of(), List.of(),
                List.of(), rewrite, rewrite / 2, neighbourhood, (rewrite + rewrite / 2 + neighbourhood) / 3, tracing, 20, 0.1, 5,
                ok ? "ok" : "failed", ok ? null : "boom");
    }

    private static List<EditResult> results() {
        List<EditResult> out = new ArrayList<>();
        for (int f = 0; f < 3; f++) {
            for (int layer = 0; layer < 4; layer++) {
                double tracing = 0.1 * f + 0.05 * layer;
                out.add(edit("f" + f, "ft-1", "fact_forcing", layer, 0.2 * layer + 0.01 * f, 0.9, tracing, true));
                out.add(edit("f" + f, "rome", "fact_erasure", layer, 0.9 - 0.2 * layer, 1.0 - 0.1 * f, tracing, true));
                out.add(edit("f" + f, "rome", "error_injection", layer, 0.8 - 0.1 * layer + 0.02 * f, 0.8, tracing, true));
            }
        }
        out.add(edit("f3", "rome", "error_injection", 0, Double.NaN, Double.NaN, 0.3, false)); // failed: counted, not averaged
        return out;
    }

    @Test
    void meansByLayerOverSuccessfulEditsInMethodAndProblemOrder() {
        List<StudySummary> summaries = StudySummary.of(results(), 4);
        assertEquals(List.of("rome error_injection", "rome fact_erasure", "ft-1 fact_forcing"),
                summaries.stream().map(s -> s.method() + " " + s.problem()).toList());
        StudySummary injection = summaries.get(0);
        assertEquals(4, injection.facts());
        assertEquals(13, injection.edits());
        assertEquals(1, injection.failed());
        StudySummary.LayerMeans layer1 = injection.layers().get(1);
        assertEquals(1, layer1.layer());
        assertEquals(3, layer1.edits());
        assertEquals(0.72, layer1.rewrite(), 1e-12);
        assertEquals(0.36, layer1.paraphrase(), 1e-12);
        assertEquals(0.1 + 0.05, layer1.tracing(), 1e-12); // mean over facts of 0.1 f, plus 0.05 per layer
        assertEquals(0, injection.best().layer());
        assertEquals(3, summaries.get(2).best().layer());
        assertEquals(0.9, summaries.get(1).layers().get(0).neighborhood(), 1e-12);
    }

    @Test
    void theFitIsTheBatchRegressionOfTheSuccessfulEdits() {
        List<EditResult> ok = results().stream()
                .filter(r -> r.method().equals("rome") && r.problem().equals("error_injection") && r.status().equals("ok")).toList();
        LayerRegression.Fit expected = LayerRegression.fit(ok.stream()
                .map(r -> new LayerRegression.Observation(r.layer(), r.tracingValue(), r.rewriteScore())).toList(), 4);
        StudySummary injection = StudySummary.of(results(), 4).get(0);
        assertEquals(expected, injection.fit());
        assertEquals(StudySummary.METRICS, injection.metrics().stream().map(StudySummary.MetricFit::metric).toList());
        // The F-test of the same gain from the streaming statistics' sums, as the aggregator computes it.
        LayerStatistics streamed = new LayerStatistics();
        ok.forEach(r -> streamed.add(r.layer(), r.tracingValue(), r.rewriteScore()));
        assertEquals(streamed.analyse().gainTest(), injection.metrics().get(0).gainTest());
        assertEquals(expected.gain(), streamed.analyse().gain(), 1e-9);
        LayerRegression.Fit paraphrase = LayerRegression.fit(ok.stream()
                .map(r -> new LayerRegression.Observation(r.layer(), r.tracingValue(), r.paraphraseScore())).toList(), 4);
        assertEquals(paraphrase, injection.metrics().get(1).fit());
    }

    @Test
    void theFigureHasCurvesAndAScatterPerMethodAndProblemAndTheR2Table(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("figure/study.png");
        StudyFigure.write(StudySummary.of(results(), 4), results(), png);
        BufferedImage image = ImageIO.read(png.toFile());
        assertTrue(Files.size(png) > 1000);
        assertEquals(2 * 2 * 450, image.getWidth());  // columns: rome, ft-1, each its curves and its scatter
        assertEquals(3 * 330 + (3 + 3) * 18, image.getHeight()); // rows: error injection, erasure, forcing; the R² table
    }
}
