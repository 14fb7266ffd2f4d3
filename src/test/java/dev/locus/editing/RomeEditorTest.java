package dev.locus.editing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class RomeEditorTest {
    private static LanguageModel lm;
    private static RomeEditor rome;
    private static KeyStatistics statistics;

    private static final RomeSettings SETTINGS = EditingConfig.testbed().rome().get(EditingProblem.ERROR_INJECTION);

    @BeforeAll
    static void setUp() {
        lm = Testbed.load();
        statistics = TestbedEditing.statistics(lm);
        rome = new RomeEditor(lm, statistics, ContextPrefixes.standard(lm, 0), SETTINGS);
    }

    @AfterAll
    static void tearDown() {
        lm.close();
    }

    private static float[] mlpOutput(float[] key, int layer) {
        try (NDManager m = lm.manager().newSubManager()) {
            NDArray w = lm.model().weights().get(RomeEditor.weightName(layer));
            NDArray b = lm.model().weights().get(RomeEditor.biasName(layer));
            return m.create(key).reshape(1, -1).matMul(w).reshape(-1).add(b).toFloatArray();
        }
    }

    @Test
    void theEditMapsKeyStarToValueStarAndLeavesOrthogonalKeysAlone() {
        Fact f = Testbed.facts().get(3);
        EditTask task = EditTask.raise(f.prompt(), f.subject(), f.targetNew());
        int layer = 2;
        float[] before = lm.model().weights().get(RomeEditor.weightName(layer)).toFloatArray();
        float[] keyStar = rome.keyStar(task, layer);
        float[] valueStar = rome.valueStar(task, layer);
        float[] orthogonal;
        try (NDManager m = lm.manager().newSubManager()) {
            // a key k with (C⁻¹k*)ᵀk = 0: a random key with its component along C⁻¹k* removed
            NDArray u = statistics.inverseCovariance(layer, SETTINGS.covarianceRidge())
                    .matMul(m.create(keyStar).toType(DataType.FLOAT64, false));
            NDArray k = m.randomNormal(new Shape(lm.config().nInner())).toType(DataType.FLOAT64, false);
            orthogonal = k.sub(u.mul(k.dot(u).div(u.dot(u)))).toType(DataType.FLOAT32, false).toFloatArray();
        }
        float[] orthogonalBefore = mlpOutput(orthogonal, layer);
        double pBefore = lm.targetProbs(List.of(f.prompt()), List.of(f.targetNew()))[0];
        try (Editor.Applied edit = rome.apply(task, layer)) {
            float[] mapped = mlpOutput(keyStar, layer);
            double err = 0;
            double norm = 0;
            for (int i = 0; i < mapped.length; i++) {
                err += Math.pow(mapped[i] - valueStar[i], 2);
                norm += Math.pow(valueStar[i], 2);
            }
            assertTrue(Math.sqrt(err / norm) < 1e-4, "k* maps to v* within 1e-4 relative: " + Math.sqrt(err / norm));
            float[] orthogonalAfter = mlpOutput(orthogonal, layer);
            for (int i = 0; i < orthogonalAfter.length; i++) {
                assertEquals(orthogonalBefore[i], orthogonalAfter[i], 1e-4 * (1 + Math.abs(orthogonalBefore[i])));
            }
            double pAfter = lm.targetProbs(List.of(f.prompt()), List.of(f.targetNew()))[0];
            assertTrue(pAfter > pBefore, "the edit raises p(target_new): " + pBefore + " -> " + pAfter);
        }
        assertArrayEquals(before, lm.model().weights().get(RomeEditor.weightName(layer)).toFloatArray());
    }

    @Test
    void keyStatisticsAreCachedOnDiskUnderAFingerprint() {
        Path file = statistics.cacheFile(0);
        statistics.covariance(0).close();
        assertTrue(Files.exists(file), file.toString());
        assertTrue(file.getFileName().toString().contains(lm.model().weights().fingerprint()));
    }
}
