package dev.locus.editing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EditingConfigTest {
    @TempDir
    Path dir;

    @Test
    void aPresetWrittenAsJsonReadsBackEqual() throws Exception {
        Path file = dir.resolve("testbed.json");
        new ObjectMapper().writeValue(file.toFile(), EditingConfig.testbed());
        assertEquals(EditingConfig.testbed(), EditingConfig.named(file.toString()));
    }

    @Test
    void aFileWithoutContextPrefixesGetsThePublishedCountAndOneWithItKeepsIt() throws Exception {
        Path without = Files.writeString(dir.resolve("without.json"), "{\"rome\": {}}");
        assertEquals(ContextPrefixes.PUBLISHED_PER_LENGTH, EditingConfig.read(without).contextPrefixes());
        Path with = Files.writeString(dir.resolve("with.json"), "{\"contextPrefixes\": 0}");
        assertEquals(0, EditingConfig.read(with).contextPrefixes());
    }

    @Test
    void romeSettingsWithoutAnAnchorUseThePapersMeanKey() throws Exception {
        String value = "{\"steps\": 20, \"learningRate\": 0.5, \"klFactor\": 0.0625, \"weightDecay\": 0.5, "
                + "\"clampNormFactor\": 4, \"stopLoss\": 0.05}";
        Path file = Files.writeString(dir.resolve("rome.json"), "{\"rome\": {\"ERROR_INJECTION\": {\"value\": " + value
                + ", \"covarianceRidge\": 0}, \"FACT_FORCING\": {\"value\": " + value
                + ", \"covarianceRidge\": 0, \"anchor\": \"PROMPT_KEY\"}}}");
        EditingConfig read = EditingConfig.read(file);
        assertEquals(RomeSettings.Anchor.MEAN_KEY, read.rome().get(EditingProblem.ERROR_INJECTION).anchor());
        assertEquals(RomeSettings.Anchor.PROMPT_KEY, read.rome().get(EditingProblem.FACT_FORCING).anchor());
    }

    @Test
    void thePaperPresetsFineTuneAndScoreAsTheAuthorsCodeAndTheOthersKeepTheirJson() throws Exception {
        EditingConfig paper = EditingConfig.paperGptJ();
        assertEquals(1, paper.scoredPrompts());
        assertEquals(true, paper.memitTemplates());
        assertEquals(2e-8, paper.scoreFloor());
        for (EditingProblem p : EditingProblem.values()) {
            assertTrue(paper.ft1().get(p).sumsTargetTokens() && paper.ft5().get(p).sumsTargetTokens(), p.label());
            assertEquals(p == EditingProblem.FACT_FORCING ? 10 : 1, paper.ft5().get(p).copies(), p.label());
        }
        Path file = dir.resolve("paper.json");
        new ObjectMapper().writeValue(file.toFile(), paper);
        assertEquals(paper, EditingConfig.read(file), "and reads back equal");
        // Settings added since keep out of the other presets' JSON, so their fingerprints (and grid ids) are as before.
        for (EditingConfig preset : new EditingConfig[] {EditingConfig.testbed(), EditingConfig.gptJ(), EditingConfig.gpt2Xl()}) {
            String json = new ObjectMapper().writeValueAsString(preset);
            assertTrue(!json.contains("scoredPrompts") && !json.contains("noiseSamples") && !json.contains("sumTargetTokens")
                    && !json.contains("memitTemplates") && !json.contains("scoreFloor"), json);
            assertEquals(1, preset.ft1().get(EditingProblem.FACT_FORCING).copies());
        }
    }

    @Test
    void anUnreadableFileIsAClearError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EditingConfig.named(dir.resolve("none.json").toString()));
        assertTrue(e.getMessage().startsWith("cannot read editing configuration"), e.getMessage());
    }
}
