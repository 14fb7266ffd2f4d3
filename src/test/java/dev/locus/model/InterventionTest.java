package dev.locus.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class InterventionTest {
    private static Gpt2 model;
    private static final long[] IDS = {3, 17, 5, 22, 9, 31, 2, 11, 4, 8};

    @BeforeAll
    static void load() {
        model = TinyModels.random(11);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static List<HookPoint> allPoints() {
        List<HookPoint> points = new ArrayList<>(List.of(HookPoint.embed()));
        for (int l = 0; l < model.config().nLayer(); l++) {
            points.addAll(List.of(HookPoint.attnOut(l), HookPoint.mlpKey(l), HookPoint.mlpOut(l), HookPoint.blockOut(l)));
        }
        return points;
    }

    private static float[] logits(NDManager m, Hooks hooks) {
        return model.forward(m.create(IDS, new Shape(2, 5)), hooks).toFloatArray();
    }

    @Test
    void noOpInterventionsLeaveTheForwardPassExactlyUnchanged() {
        try (NDManager m = model.manager().newSubManager()) {
            Hooks hooks = Hooks.none();
            for (HookPoint p : allPoints()) {
                hooks.capture(p);
                hooks.add(p, a -> a);
                hooks.add(p, Intervention.add(Selection.cells(new int[] {}, new int[] {0, 1}), m.ones(new Shape(1))));
            }
            assertArrayEquals(logits(m, Hooks.none()), logits(m, hooks));
        }
    }

    @Test
    void theStreamIntoALayerResumedFromThereIsTheWholeForwardPass() {
        try (NDManager m = model.manager().newSubManager()) {
            NDArray ids = m.create(IDS, new Shape(2, 5));
            Hooks hooks = Hooks.none().add(HookPoint.embed(), a -> a.mul(2));
            float[] whole = model.forward(ids, hooks).toFloatArray();
            for (int layer = 0; layer <= model.config().nLayer(); layer++) {
                assertArrayEquals(whole, model.forwardFrom(layer, model.streamInto(layer, ids, hooks), hooks).toFloatArray(),
                        "resumed at layer " + layer);
            }
        }
    }

    @Test
    void patchingARunWithItsOwnActivationsChangesNothing() {
        try (NDManager m = model.manager().newSubManager()) {
            Hooks record = Hooks.none();
            List<Intervention.Capture> captures = new ArrayList<>();
            for (HookPoint p : allPoints()) {
                captures.add(record.capture(p));
            }
            float[] clean = logits(m, record);
            Hooks patch = Hooks.none();
            List<HookPoint> points = allPoints();
            for (int i = 0; i < points.size(); i++) {
                patch.add(points.get(i), Intervention.patch(Selection.positions(0, 2, 4), captures.get(i).value()));
            }
            assertArrayEquals(clean, logits(m, patch));
        }
    }

    @Test
    void aPatchChangesOnlyTheSelectedRowsAndLaterPositions() {
        try (NDManager m = model.manager().newSubManager()) {
            float[] clean = logits(m, Hooks.none());
            Hooks hooks = Hooks.none().add(HookPoint.mlpOut(1),
                    Intervention.patch(Selection.cells(new int[] {1}, new int[] {2}), m.zeros(new Shape(16))));
            float[] patched = logits(m, hooks);
            int vocab = model.config().vocabSize();
            for (int b = 0; b < 2; b++) {
                for (int t = 0; t < 5; t++) {
                    boolean affected = b == 1 && t >= 2;
                    double diff = 0;
                    for (int v = 0; v < vocab; v++) {
                        int i = (b * 5 + t) * vocab + v;
                        diff = Math.max(diff, Math.abs(clean[i] - patched[i]));
                    }
                    if (affected) {
                        assertNotEquals(0, diff, "row " + b + " position " + t + " should change");
                    } else {
                        assertEquals(0, diff, "row " + b + " position " + t + " should not change");
                    }
                }
            }
        }
    }

    @Test
    void gradientsFlowThroughInterventionsAndWeights() {
        try (NDManager m = model.manager().newSubManager()) {
            NDArray delta = m.zeros(new Shape(16));
            delta.setRequiresGradient(true);
            NDArray weight = model.weights().get("h.1.mlp.c_proj.weight");
            weight.setRequiresGradient(true);
            try {
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    Hooks hooks = Hooks.none().add(HookPoint.mlpOut(0), Intervention.add(Selection.positions(1), delta));
                    NDArray out = model.forward(m.create(IDS, new Shape(2, 5)), hooks).logSoftmax(-1);
                    gc.backward(out.get("0, 4, 7").neg());
                }
                for (NDArray g : List.of(delta.getGradient(), weight.getGradient())) {
                    float[] values = g.toFloatArray();
                    double norm = 0;
                    for (float v : values) {
                        assertTrue(Float.isFinite(v));
                        norm += v * v;
                    }
                    assertFalse(norm == 0, "gradient is zero");
                }
            } finally {
                weight.setRequiresGradient(false);
            }
        }
    }
}
