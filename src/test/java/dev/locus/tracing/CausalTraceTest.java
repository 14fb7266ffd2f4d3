package dev.locus.tracing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The two denominators of the fractional effect, on a hand-made trace. */
class CausalTraceTest {

    @Test
    void theHighDenominatorDividesByTheLargerOfPCleanAndTheKindsBestRestoration() {
        Map<TraceKind, double[][]> restored = new EnumMap<>(TraceKind.class);
        for (TraceKind kind : TraceKind.values()) {
            restored.put(kind, new double[][] {{0.1, 0.1}, {0.3, 0.7}, {0.05, 0.5}}); // token 0 precedes the subject
        }
        Map<TraceKind, Integer> windows = Map.of(TraceKind.HIDDEN, 1, TraceKind.MLP, 5, TraceKind.ATTN, 5);
        List<String> tokens = List.of("a", "b", "c");
        CausalTrace clean = new CausalTrace(tokens, 1, 2, 1, 0.5, 0.1, restored, windows, 0.1, 1, 10, false);
        CausalTrace high = new CausalTrace(tokens, 1, 2, 1, 0.5, 0.1, restored, windows, 0.1, 1, 10, true);
        // p_clean − p_corrupt = 0.4; p_high − p_corrupt = 0.7 − 0.1 = 0.6; below p_corrupt clips to 0
        assertArrayEquals(new double[] {0.5, 1.5}, clean.fractionalEffect(TraceKind.MLP)[1], 1e-12);
        assertArrayEquals(new double[] {1 / 3.0, 1.0}, high.fractionalEffect(TraceKind.MLP)[1], 1e-12);
        assertArrayEquals(new double[] {0, 0.4 / 0.6}, high.fractionalEffect(TraceKind.MLP)[2], 1e-12);
        assertArrayEquals(new double[] {1 / 3.0, 1.0}, high.localization(), 1e-12, "the max over traced tokens");
    }
}
