package dev.locus.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class WeightsTest {

    @Test
    void editsAreRestoredExactlyEvenAfterAnException() {
        try (Gpt2 model = TinyModels.random(9)) {
            Weights w = model.weights();
            String name = "h.1.mlp.c_proj.weight";
            NDArray original = w.get(name);
            float[] before = original.toFloatArray();
            assertThrows(IllegalStateException.class, () -> {
                try (Weights.Edit edit = w.edit()) {
                    edit.set(name, original.add(1f));
                    edit.set(name, original.mul(3f));
                    assertNotEquals(Arrays.hashCode(before), Arrays.hashCode(w.get(name).toFloatArray()));
                    throw new IllegalStateException("edit failed midway");
                }
            });
            assertSame(original, w.get(name));
            assertArrayEquals(before, w.get(name).toFloatArray());
        }
    }

    @Test
    void replacementsMustKeepTheShape() {
        try (Gpt2 model = TinyModels.random(9); Weights.Edit edit = model.weights().edit()) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> edit.set("wte.weight", model.manager().zeros(new ai.djl.ndarray.types.Shape(2, 2))));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("wte.weight"));
        }
    }
}
