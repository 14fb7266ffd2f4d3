package dev.locus.editing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.locus.facts.Fact;
import dev.locus.model.LanguageModel;
import dev.locus.testbed.Testbed;
import java.io.IOException;
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
    private static Path cache;

    @BeforeAll
    static void setUp() throws IOException {
        lm = Testbed.load();
        cache = Files.createTempDirectory("locus-keystats-");
        statistics = new KeyStatistics(lm, Files.readAllLines(Testbed.directory().resolve("corpus.txt")), cache, s -> {});
        rome = new RomeEditor(lm, statistics, ContextPrefixes.sample(lm, 0, 10, 5, 10), RomeSettings.gptJ());
    }

    @AfterAll
    static void tearDown() {
        lm.close();
    }

    private static float[] mlpOutput(float[] key, int layer) {
        try (NDManager m = lm.manager().newSubManager()) {
            NDArray w = lm.model().weights().get(RomeEditor.weightName(layer));
            NDArray b = lm.model().weights().get("h." + layer + ".mlp.c_proj.bias");
            return m.create(key).reshape(1, -1).matMul(w).reshape(-1).add(b).toFloatArray();
        }
    }

    @Test
    void theEditMapsKeyStarToValueStarAndLeavesOrthogonalKeysAlone() {
        Fact f = Testbed.facts().get(3);
        int layer = 2;
        float[] before = lm.model().weights().get(RomeEditor.weightName(layer)).toFloatArray();
        double pBefore = lm.targetProbs(List.of(f.prompt()), List.of(f.targetNew()))[0];
        float[] orthogonal;
        float[] orthogonalBefore;
        try (NDManager m = lm.manager().newSubManager()) {
            // a key k with (C⁻¹k*)ᵀk = 0: a random key with its component along C⁻¹k* removed
            RomeEditor.Applied probe = rome.apply(new EditRequest(f.prompt(), f.subject(), f.targetNew()), layer);
            probe.weights().close();
            NDArray u = statistics.inverseCovariance(layer).matMul(m.create(probe.keyStar()).toType(ai.djl.ndarray.types.DataType.FLOAT64, false));
            NDArray k = m.randomNormal(new ai.djl.ndarray.types.Shape(lm.config().nInner())).toType(ai.djl.ndarray.types.DataType.FLOAT64, false);
            k = k.sub(u.mul(k.dot(u).div(u.dot(u))));
            orthogonal = k.toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
            orthogonalBefore = mlpOutput(orthogonal, layer);
        }
        RomeEditor.Applied edit = rome.apply(new EditRequest(f.prompt(), f.subject(), f.targetNew()), layer);
        try (var undo = edit.weights()) {
            float[] mapped = mlpOutput(edit.keyStar(), layer);
            double err = 0;
            double norm = 0;
            for (int i = 0; i < mapped.length; i++) {
                err += Math.pow(mapped[i] - edit.valueStar()[i], 2);
                norm += Math.pow(edit.valueStar()[i], 2);
            }
            assertTrue(Math.sqrt(err / norm) < 1e-4, "k* maps to v* within 1e-4 relative: " + Math.sqrt(err / norm));
            float[] orthogonalAfter = mlpOutput(orthogonal, layer);
            for (int i = 0; i < orthogonalAfter.length; i++) {
                assertEquals(orthogonalBefore[i], orthogonalAfter[i], 1e-4 * (1 + Math.abs(orthogonalBefore[i])));
            }
            double pAfter = lm.targetProbs(List.of(f.prompt()), List.of(f.targetNew()))[0];
            System.out.printf("ROME layer %d on %s: p(new) %.4f -> %.4f after %d steps (loss %.4f)%n", layer, f.id(), pBefore,
                    pAfter, edit.steps(), edit.finalLoss());
            assertTrue(pAfter > pBefore, "the edit raises p(target_new)");
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
