package dev.locus.editing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.locus.facts.Fact;
import dev.locus.model.LanguageModel;
import dev.locus.testbed.Testbed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class RomeEditorTest {
    private static LanguageModel lm;
    private static KeyStatistics statistics;

    private static final RomeSettings TESTBED = EditingConfig.testbed().rome().get(EditingProblem.ERROR_INJECTION);

    @BeforeAll
    static void setUp() {
        lm = Testbed.GPT2.load();
        statistics = TestbedEditing.statistics(lm);
    }

    @AfterAll
    static void tearDown() {
        lm.close();
    }

    private static float[] mlpOutput(float[] key, int layer) {
        try (NDManager m = lm.manager().newSubManager()) {
            NDArray w = lm.model().weights().get(lm.model().editSite(layer).weightName());
            NDArray b = lm.model().weights().get(lm.model().editSite(layer).biasName());
            return m.create(key).reshape(1, -1).matMul(w).reshape(-1).add(b).toFloatArray();
        }
    }

    /** MEAN_KEY maps k* to v* (the paper's equation); PROMPT_KEY maps the edit prompt's own key to v* (the authors' code). */
    @ParameterizedTest
    @EnumSource(RomeSettings.Anchor.class)
    void theEditMapsItsAnchorKeyToValueStarAndLeavesKeysOrthogonalToCInverseKStarAlone(RomeSettings.Anchor anchor) {
        RomeSettings settings = new RomeSettings(TESTBED.value(), TESTBED.covarianceRidge(), anchor);
        RomeEditor rome = new RomeEditor(lm, statistics, ContextPrefixes.standard(lm, 0), settings);
        Fact f = Testbed.GPT2.facts().get(3);
        EditTask task = EditTask.raise(f.prompt(), f.subject(), f.targetNew());
        int layer = 2;
        float[] before = lm.model().weights().get(lm.model().editSite(layer).weightName()).toFloatArray();
        float[] keyStar = rome.keyStar(task, layer);
        float[] anchorKey = rome.anchorKey(task, layer);
        if (anchor == RomeSettings.Anchor.PROMPT_KEY) {
            assertFalse(Arrays.equals(keyStar, anchorKey), "the prompt's key differs from the mean over prefixes");
        }
        float[] valueStar = rome.valueStar(task, layer);
        float[] orthogonal;
        try (NDManager m = lm.manager().newSubManager()) {
            // a key k with (C⁻¹k*)ᵀk = 0: a random key with its component along C⁻¹k* removed
            NDArray u = statistics.inverseCovariance(layer, settings.covarianceRidge())
                    .matMul(m.create(keyStar).toType(DataType.FLOAT64, false));
            NDArray k = m.randomNormal(new Shape(lm.dimensions().mlpWidth())).toType(DataType.FLOAT64, false);
            orthogonal = k.sub(u.mul(k.dot(u).div(u.dot(u)))).toType(DataType.FLOAT32, false).toFloatArray();
        }
        float[] orthogonalBefore = mlpOutput(orthogonal, layer);
        double pBefore = lm.targetProbs(List.of(f.prompt()), List.of(f.targetNew()))[0];
        try (Editor.Applied edit = rome.apply(task, layer)) {
            float[] mapped = mlpOutput(anchorKey, layer);
            double err = 0;
            double norm = 0;
            for (int i = 0; i < mapped.length; i++) {
                err += Math.pow(mapped[i] - valueStar[i], 2);
                norm += Math.pow(valueStar[i], 2);
            }
            assertTrue(Math.sqrt(err / norm) < 1e-4, anchor + " key maps to v* within 1e-4 relative: " + Math.sqrt(err / norm));
            float[] orthogonalAfter = mlpOutput(orthogonal, layer);
            for (int i = 0; i < orthogonalAfter.length; i++) {
                assertEquals(orthogonalBefore[i], orthogonalAfter[i], 1e-4 * (1 + Math.abs(orthogonalBefore[i])));
            }
            double pAfter = lm.targetProbs(List.of(f.prompt()), List.of(f.targetNew()))[0];
            assertTrue(pAfter > pBefore, "the edit raises p(target_new): " + pBefore + " -> " + pAfter);
        }
        assertArrayEquals(before, lm.model().weights().get(lm.model().editSite(layer).weightName()).toFloatArray());
    }

    @Test
    void keyStatisticsAreCachedOnDiskUnderAFingerprint() {
        Path file = statistics.cacheFile(0);
        statistics.covariance(0).close();
        assertTrue(Files.exists(file), file.toString());
        assertTrue(file.getFileName().toString().contains(lm.model().weights().fingerprint()));
    }
}
