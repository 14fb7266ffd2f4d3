package dev.locus.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class EnteringStreamsTest {
    private static Gpt2 model;
    private static final long[] IDS = {3, 17, 5, 22, 9, 31, 2, 11, 4, 8};

    @BeforeAll
    static void load() {
        model = TinyModels.random(5);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static NDArray ids(NDManager m) {
        return m.create(IDS, new Shape(2, 5));
    }

    /** The last block's output of a pass from the embeddings, as the reference computes it. */
    private static float[] whole(NDManager m) {
        NDArray x = model.streamInto(model.dimensions().layers(), ids(m), Hooks.none());
        return x.toFloatArray();
    }

    @Test
    void resumedAtAnEditedLayerTheStreamsGiveTheWholePassBitForBit() {
        int layers = model.dimensions().layers();
        try (NDManager m = model.manager().newSubManager()) {
            float[] unedited = whole(m);
            EnteringStreams streams = new EnteringStreams(model, m, pass -> model.embed(ids(pass), Hooks.none()), layers);
            // the model edited at layer 1 after the streams were made: resumed at or below it, the edited model's pass
            EditSite site = model.editSite(1);
            try (Weights.Edit edit = model.weights().edit(); NDManager own = m.newSubManager()) {
                NDArray key = own.ones(new Shape(model.dimensions().mlpWidth()));
                NDArray value = own.ones(new Shape(model.dimensions().width())).mul(0.5f);
                edit.set(site.weightName(), site.plusRankOne(key, value));
                float[] edited = whole(own);
                assertFalse(Arrays.equals(unedited, edited), "the edit changes the pass");
                assertArrayEquals(edited, streams.run(own, 1, layers - 1, Hooks.none()).toFloatArray());
                assertArrayEquals(edited, streams.run(own, 0, layers - 1, Hooks.none()).toFloatArray());
            }
            // undone: from every layer the unedited pass, above the edit too (the streams were made before it, not at
            // their first run, which saw it)
            for (int first = 0; first < layers; first++) {
                try (NDManager own = m.newSubManager()) {
                    assertArrayEquals(unedited, streams.run(own, first, layers - 1, Hooks.none()).toFloatArray(), "from layer " + first);
                }
            }
        }
    }

    @Test
    void blocksOutsideTheKeptStreamsAreRefused() {
        try (NDManager m = model.manager().newSubManager()) {
            EnteringStreams streams = new EnteringStreams(model, m, pass -> model.embed(ids(pass), Hooks.none()), 1);
            assertThrows(IllegalArgumentException.class, () -> streams.run(m, 1, 1, Hooks.none()));
            assertThrows(IllegalArgumentException.class, () -> streams.run(m, 0, model.dimensions().layers(), Hooks.none()));
            assertThrows(IllegalArgumentException.class, () -> new EnteringStreams(model, m, pass -> model.embed(ids(pass), Hooks.none()), 0));
        }
    }
}
