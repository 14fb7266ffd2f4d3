package dev.locus.figures;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.tracing.CausalTrace;
import dev.locus.tracing.TokenGroup;
import dev.locus.tracing.TraceJson;
import dev.locus.tracing.TraceKind;
import java.awt.Dimension;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The PNG the heatmap writes, and the JSON form of a trace, on synthetic traces. */
class TraceHeatmapTest {
    private static final int LAYERS = 6;

    @TempDir
    Path dir;

    @Test
    void writesOnePngOfThreePanels() throws Exception {
        CausalTrace trace = trace(List.of("The", " Eiffel", " Tower", " is", " in", " the", " city", " of"), 1, 3);
        Path png = dir.resolve("out/trace.png");
        TraceHeatmap.write(trace, "Paris", png);

        List<String> rows = List.of("The", "Eiffel*", "Tower*", "is", "in", "the", "city", "of");
        assertImage(png, TraceHeatmap.panelSize(rows, LAYERS));
    }

    @Test
    void writesTheAverageOverFactsOfDifferentLengths() throws Exception {
        List<CausalTrace> traces = List.of(
                trace(List.of("The", " Eiffel", " Tower", " is", " in", " the", " city", " of"), 1, 3),
                trace(List.of("Paris", " is", " the", " capital", " of"), 0, 1));
        Path png = dir.resolve("average.png");
        TraceHeatmap.writeAverage(traces, png);

        List<String> rows = new ArrayList<>();
        for (TokenGroup group : TokenGroup.values()) {
            rows.add(group.label());
        }
        assertImage(png, TraceHeatmap.panelSize(rows, LAYERS));
    }

    private static void assertImage(Path png, Dimension panel) throws Exception {
        assertTrue(Files.size(png) > 0);
        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(3 * panel.width, image.getWidth());
        assertEquals(panel.height, image.getHeight());
        boolean drawn = false;
        for (int x = 0; x < image.getWidth() && !drawn; x += 3) {
            for (int y = 0; y < image.getHeight() && !drawn; y += 3) {
                drawn = (image.getRGB(x, y) & 0xFFFFFF) != 0xFFFFFF;
            }
        }
        assertTrue(drawn, "the image is blank");
    }

    @Test
    void jsonHasTheTraceInSnakeCase() throws Exception {
        CausalTrace trace = trace(List.of("The", " Eiffel", " Tower", " is", " in"), 1, 3);
        String line = TraceJson.of("f1", "Paris", trace).toJson();
        assertFalse(line.contains("\n"));
        JsonNode json = new ObjectMapper().readTree(line);
        for (String field : List.of("fact_id", "target", "tokens", "subject_start", "subject_end", "traced_from", "p_clean",
                "p_corrupt", "noise_sigma", "seed", "samples", "windows", "restored", "localization",
                "localization_last_subject_token")) {
            assertTrue(json.has(field), field);
        }
        assertEquals(1, json.get("subject_start").asInt());
        assertEquals(3, json.get("subject_end").asInt());
        assertEquals(0.9, json.get("p_clean").asDouble());
        assertEquals(5, json.get("windows").get("mlp").asInt());
        for (TraceKind kind : TraceKind.values()) {
            JsonNode grid = json.get("restored").get(kind.label());
            assertEquals(5, grid.size());
            assertEquals(trace.restored().get(kind)[2][4], grid.get(2).get(4).asDouble());
        }
        assertEquals(LAYERS, json.get("localization").size());
        assertEquals(trace.localization()[3], json.get("localization").get(3).asDouble());
        assertEquals(trace.localizationAtLastSubjectToken()[3], json.get("localization_last_subject_token").get(3).asDouble());
    }

    /** A trace with p_clean 0.9, p_corrupt 0.1 and restored values rising towards the last subject token and middle layers. */
    private static CausalTrace trace(List<String> tokens, int subjectStart, int subjectEnd) {
        Map<TraceKind, double[][]> restored = new EnumMap<>(TraceKind.class);
        for (TraceKind kind : TraceKind.values()) {
            double[][] grid = new double[tokens.size()][LAYERS];
            for (int t = 0; t < grid.length; t++) {
                for (int l = 0; l < LAYERS; l++) {
                    double nearSubject = 1.0 / (1 + Math.abs(t - (subjectEnd - 1)));
                    double midLayer = 1.0 / (1 + Math.abs(l - LAYERS / 2.0));
                    grid[t][l] = t < subjectStart ? 0.1 : 0.1 + 0.8 * nearSubject * midLayer * (kind.ordinal() + 1) / 3;
                }
            }
            restored.put(kind, grid);
        }
        return new CausalTrace(tokens, subjectStart, subjectEnd, subjectStart, 0.9, 0.1, restored,
                Map.of(TraceKind.HIDDEN, 1, TraceKind.MLP, 5, TraceKind.ATTN, 5), 0.1, 1, 10, false);
    }
}
