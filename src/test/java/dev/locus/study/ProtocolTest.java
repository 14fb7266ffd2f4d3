package dev.locus.study;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.locus.editing.EditingConfig;
import dev.locus.editing.EditingProblem;
import dev.locus.tracing.TraceKind;
import dev.locus.tracing.TracingSettings;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Protocols as one setting: Locus's own defaults, the published runs at their depths only, and their structure scaled. */
class ProtocolTest {
    private static final StudySettings.Tracing NOTHING_SET = new StudySettings.Tracing(null, 1, Map.of(), Double.NaN, null, null);

    @Test
    void locusIsTheSpecsDefaults() {
        Protocol p = Protocol.forModel(null, 12);
        assertEquals(TracingSettings.defaults(), p.tracing(NOTHING_SET));
        assertNull(p.layers(), "every layer");
        assertEquals(EditingConfig.testbed(), p.editing(p.editingConfig(null)));
        assertEquals(false, p.essence(StudySettings.EssenceSet.NONE).enabled(), "off for speed");
    }

    @Test
    void thePublishedRunsFitTheirModelsOnly() {
        Protocol j = Protocol.forModel("paper-gpt-j", 28);
        assertArrayEquals(new int[] {0, 4, 5, 8, 12, 16, 20, 24, 27}, j.layers());
        assertEquals(List.of("rome", "memit", "ft-1", "ft-5"), j.methods());
        assertEquals(EditingProblem.labels(), j.problems());
        assertEquals(EditingConfig.paperGptJ(), j.editing(j.editingConfig(null)), "the edit windows are the preset's own");
        TracingSettings tracing = j.tracing(NOTHING_SET);
        assertEquals(36, tracing.knownContinuation());
        assertEquals(0.02, tracing.minCleanProbability());
        assertEquals(5, tracing.window(TraceKind.MLP), "the window of the tracing values the authors' regression uses");
        assertTrue(tracing.highDenominator());
        assertEquals(0.094, j.noiseSigma());
        assertEquals(0.1, Protocol.forModel("paper-gpt2-xl", 48).noiseSigma());
        assertEquals(new dev.locus.editing.Essence.Settings(true, 5, 100, 5), j.essence(StudySettings.EssenceSet.NONE));
        assertEquals(new dev.locus.editing.Essence.Settings(false, 5, 100, 5), j.essence(new StudySettings.EssenceSet(false, null, null, null)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Protocol.forModel("paper-gpt-j", 12));
        assertTrue(e.getMessage().contains("paper-gpt-j-scaled"), e.getMessage());
        assertArrayEquals(new int[] {0, 4, 8, 12, 16, 17, 20, 24, 28, 32, 36, 40, 44, 47}, Protocol.forModel("paper-gpt2-xl", 48).layers());
        assertThrows(IllegalArgumentException.class, () -> Protocol.forModel("paper-gpt-k", 28));
    }

    @Test
    void scaledKeepsTheStructureAndLeavesTheHyperparametersToTheConfiguration() {
        Protocol j = Protocol.forModel("paper-gpt-j-scaled", 12);
        // ℓ · 11 / 27, rounded: 4 → 1.63, 5 → 2.04 meet at 2; 16 → 6.52 → 7; 27 → 11
        assertArrayEquals(new int[] {0, 2, 3, 5, 7, 8, 10, 11}, j.layers());
        EditingConfig testbed = j.editing(j.editingConfig(null));
        assertEquals(2, testbed.memit().get(EditingProblem.ERROR_INJECTION).window(), "5 × 12 / 28");
        assertEquals(2, testbed.ft5().get(EditingProblem.FACT_FORCING).window());
        assertEquals(1, testbed.ft1().get(EditingProblem.FACT_FORCING).window());
        assertEquals(EditingConfig.testbed().rome(), testbed.rome());
        assertEquals(EditingConfig.testbed().memit().get(EditingProblem.FACT_ERASURE).lambda(),
                testbed.memit().get(EditingProblem.FACT_ERASURE).lambda());
        assertEquals(36, j.tracing(NOTHING_SET).knownContinuation());
        assertEquals(2, j.tracing(NOTHING_SET).window(TraceKind.MLP), "5 × 12 / 28");
        assertTrue(Double.isNaN(j.noiseSigma()), "estimated for the model at hand");
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, Protocol.forModel("paper-gpt2-xl-scaled", 12).layers());
    }

    @Test
    void whatIsSetOverridesTheProtocol() {
        Protocol j = Protocol.forModel("paper-gpt-j", 28);
        TracingSettings t = j.tracing(new StudySettings.Tracing(3, 7, Map.of("mlp", 2), Double.NaN, null, 0.5, 0));
        assertEquals(3, t.samples());
        assertEquals(7, t.seed());
        assertEquals(2, t.window(TraceKind.MLP));
        assertEquals(0.5, t.minCleanProbability());
        assertEquals(0, t.knownContinuation());
        assertEquals("testbed", j.editingConfig("testbed"));
    }
}
