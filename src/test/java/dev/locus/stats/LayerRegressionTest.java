package dev.locus.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LayerRegressionTest {

    @Test
    void separatesLayerEffectsFromTracingEffects() {
        Random random = new Random(3);
        List<LayerRegression.Observation> layerOnly = new ArrayList<>();
        List<LayerRegression.Observation> slopes = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            int layer = i % 4;
            double tracing = random.nextDouble();
            layerOnly.add(new LayerRegression.Observation(layer, tracing, layer * 0.3));
            slopes.add(new LayerRegression.Observation(layer, tracing, 0.1 * layer + (layer - 1.5) * tracing));
        }
        LayerRegression.Fit a = LayerRegression.fit(layerOnly, 4);
        assertEquals(1, a.layerR2(), 1e-9);
        assertEquals(1, a.bothR2(), 1e-9);
        assertTrue(a.tracingR2() < 0.05, "tracing explains nothing: " + a.tracingR2());
        LayerRegression.Fit b = LayerRegression.fit(slopes, 4);
        assertEquals(1, b.bothR2(), 1e-9);
        assertEquals(1 - b.layerR2(), b.gain(), 1e-9);
        assertTrue(b.gain() > 0.1, "per-layer slopes add what the layer means cannot: " + b.gain());
    }

    @Test
    void matchesTheClosedFormOfSimpleRegression() {
        double[] x = {0, 1, 2, 3, 4};
        double[] y = {1, 3, 2, 5, 4};
        List<LayerRegression.Observation> data = new ArrayList<>();
        for (int i = 0; i < x.length; i++) {
            data.add(new LayerRegression.Observation(0, x[i], y[i]));
        }
        // r = Σ(x−2)(y−3) / sqrt(Σ(x−2)² Σ(y−3)²) = 8 / sqrt(10 · 10) → r² = 0.64
        assertEquals(0.64, LayerRegression.fit(data, 1).tracingR2(), 1e-12);
        assertEquals(0, LayerRegression.fit(data, 1).layerR2(), 1e-12);
    }
}
