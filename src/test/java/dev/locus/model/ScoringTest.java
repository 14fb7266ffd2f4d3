package dev.locus.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ScoringTest {
    private static LanguageModel lm;

    @BeforeAll
    static void load() {
        lm = new LanguageModel(TinyModels.random(5), null, "tiny");
    }

    @AfterAll
    static void close() {
        lm.close();
    }

    private static double logProb(List<long[]> prompts, List<long[]> targets, boolean firstOnly, int row) {
        try (NDManager m = lm.manager().newSubManager()) {
            return lm.targetLogProbs(m, prompts, targets, Hooks.none(), firstOnly).toFloatArray()[row];
        }
    }

    @Test
    void stepByStepGenerationProbabilityEqualsTeacherForcedProbability() {
        long[] prompt = {4, 9, 1, 33};
        long[] generated = lm.generateGreedy(prompt, 6);
        double product = 1;
        long[] seq = Arrays.copyOf(prompt, prompt.length + generated.length);
        System.arraycopy(generated, 0, seq, prompt.length, generated.length);
        for (int i = 0; i < generated.length; i++) {
            int len = prompt.length + i;
            try (NDManager m = lm.manager().newSubManager()) {
                NDArray last = lm.model().forward(m.create(Arrays.copyOf(seq, len), new Shape(1, len)), Hooks.none())
                        .get("0, -1").softmax(-1);
                float[] p = last.toFloatArray();
                for (float other : p) {
                    assert other <= p[(int) generated[i]] : "generation was not greedy";
                }
                product *= p[(int) generated[i]];
            }
        }
        double teacherForced = Math.exp(logProb(List.of(prompt), List.of(generated), false, 0));
        assertEquals(product, teacherForced, 1e-5);
    }

    @Test
    void paddedBatchesScoreEachRowAsAlone() {
        List<long[]> prompts = List.of(new long[] {1, 2, 3}, new long[] {7, 8, 9, 10, 11, 12}, new long[] {5});
        List<long[]> targets = List.of(new long[] {4, 5}, new long[] {13}, new long[] {6, 7, 8});
        for (int row = 0; row < 3; row++) {
            double alone = logProb(List.of(prompts.get(row)), List.of(targets.get(row)), false, 0);
            assertEquals(alone, logProb(prompts, targets, false, row), 1e-5);
        }
    }

    @Test
    void firstTokenVariantScoresOnlyTheFirstTargetToken() {
        long[] prompt = {1, 2, 3};
        double first = logProb(List.of(prompt), List.of(new long[] {4}), false, 0);
        assertEquals(first, logProb(List.of(prompt), List.of(new long[] {4, 5, 6}), true, 0), 1e-6);
    }

    @Test
    void inputsLongerThanTheContextAreRejected() {
        long[] prompt = new long[lm.dimensions().contextLength()];
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> logProb(List.of(prompt), List.of(new long[] {1, 2}), false, 0));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("context length"), e.getMessage());
    }
}
