package dev.locus.study;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.locus.SharedFiles;
import dev.locus.WordFixtures;
import dev.locus.editing.EditingConfig;
import dev.locus.editing.EditingProblem;
import dev.locus.facts.Fact;
import dev.locus.model.SafeTensors;
import dev.locus.testbed.ModelSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * paper-gpt-j in one setting on a GPT-J-layout checkpoint of GPT-J's depth, for shape and plumbing: the transformers-checked
 * tiny GPT-J fixture's 4 blocks repeated to 28, with a word-level tokenizer for its ids and a corpus for the key statistics
 * (no real GPT-J here). The fixture's weights are random, so the fact filter and p_clean's check, which such a model fails,
 * are set off; everything else is the protocol's.
 */
class PublishedProtocolTest {
    private static final Fact FACT = new Fact("paper-0", "w001 w002", "w001 w002 w003 w004", "w005", "w006",
            List.of("w007 w001 w002 w003 w004"), List.of(new Fact.Neighbor("w008 w009 w003 w004", "w005")), "P0");

    @TempDir
    Path tmp;

    @Test
    void paperGptJSetsTheWholeGridAndRunsItOnAGptJOfItsDepth() throws IOException {
        Path dir = deepGptJ(28);
        StudySettings settings = new StudySettings(new StudySettings.Model(dir, "gptj-28", null, "cpu"), "paper-gpt-j",
                new StudySettings.Edits(null, null, null), new StudySettings.Tracing(null, 1, Map.of(), Double.NaN, null, 0.0, 0),
                new StudySettings.Editing(null, null, Path.of("target", "locus-cache")));
        List<ResultEvent> events = new ArrayList<>();
        try (FactStudyRunner runner = FactStudyRunner.open(settings, message -> {})) {
            Grid grid = runner.grid();
            assertEquals("paper-gpt-j", grid.protocol());
            assertArrayEquals(new int[] {0, 4, 5, 8, 12, 16, 20, 24, 27}, grid.layers());
            assertEquals(List.of("rome", "memit", "ft-1", "ft-5"), grid.methods());
            assertEquals(EditingProblem.labels(), grid.problems());
            assertEquals(Map.of("hidden", 1, "mlp", 5, "attn", 5), grid.windows());
            assertEquals(0.094, grid.noiseSigma());
            assertEquals(true, grid.highDenominator());
            assertEquals(10, grid.samples());
            assertEquals("paper-gpt-j", grid.editingConfig());
            assertEquals(EditingConfig.paperGptJ().fingerprint(), grid.editingFingerprint());
            assertEquals(new Grid.Essence(5, 100, 5), grid.essence(), "the authors' essence texts");
        }
        // Every method at the grid's first, ROME's own and last layer for one problem (the grid's 180 edits through 28 blocks
        // take many minutes on 2 cores): Fact Forcing, whose ROME has the most overrides (25 steps, v* lr 5e-2).
        // Two essence texts of 12 tokens rather than five of 100 (capped at this model's 64), for time.
        StudySettings quick = new StudySettings(settings.model(), settings.protocol(),
                new StudySettings.Edits(null, List.of("fact_forcing"), new int[] {0, 5, 27}), settings.tracing(),
                new StudySettings.Editing(null, null, Path.of("target", "locus-cache"), EditingStudy.DEFAULT_BATCH_ROWS,
                        new StudySettings.EssenceSet(null, 2, 12, null)));
        try (FactStudyRunner runner = FactStudyRunner.open(quick, message -> {})) {
            runner.run(FACT, events::add);
        }
        assertEquals(1 + 3 * 4, events.size(), "the trace and an edit per method and layer");
        Map<String, int[]> edited = new LinkedHashMap<>();
        int failed = 0;
        for (ResultEvent e : events.subList(1, events.size())) {
            var edit = ((ResultEvent.Edit) e).edit();
            edited.put(edit.method() + "@" + edit.layer(), edit.editedLayers());
            failed += edit.status().equals("ok") ? 0 : 1;
            assertTrue(edit.essenceScore() != null && edit.fluencyPost() != null && edit.targetScore() != null, "the essence metrics are on");
            if (edit.method().equals("rome") && edit.status().equals("ok")) {
                assertEquals(24, edit.steps(), "their compute_v's 25 − 1 updates, no early stop");
            }
        }
        assertEquals(0, failed, "every edit of the grid succeeded");
        assertArrayEquals(new int[] {5}, edited.get("rome@5"));
        assertArrayEquals(new int[] {25, 26, 27}, edited.get("memit@27"), "window 5 clipped at the top");
        assertArrayEquals(new int[] {0, 1, 2}, edited.get("ft-5@0"), "and at the bottom");
        assertArrayEquals(new int[] {3, 4, 5, 6, 7}, edited.get("ft-5@5"));
        assertArrayEquals(new int[] {27}, edited.get("ft-1@27"));
    }

    /** The tiny GPT-J fixture with its blocks repeated to {@code layers}, a word for each id and a corpus.txt. */
    private Path deepGptJ(int layers) throws IOException {
        Path source = SharedFiles.require("fixtures/gptj-tiny");
        Path dir = Files.createDirectories(tmp.resolve("gptj-" + layers));
        ObjectNode config = (ObjectNode) new ObjectMapper().readTree(source.resolve("config.json").toFile());
        int fixtureLayers = config.get("n_layer").asInt();
        config.put("n_layer", layers);
        new ObjectMapper().writeValue(dir.resolve("config.json").toFile(), config);
        Pattern block = Pattern.compile("transformer\\.h\\.(\\d+)\\.(.*)");
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = SafeTensors.read(source.resolve("model.safetensors"), m);
            Map<String, NDArray> deep = new LinkedHashMap<>();
            tensors.forEach((name, tensor) -> {
                Matcher b = block.matcher(name);
                if (!b.matches()) {
                    deep.put(name, tensor);
                }
            });
            for (int l = 0; l < layers; l++) {
                for (Map.Entry<String, NDArray> t : tensors.entrySet()) {
                    Matcher b = block.matcher(t.getKey());
                    if (b.matches() && Integer.parseInt(b.group(1)) == l % fixtureLayers) {
                        deep.put("transformer.h." + l + "." + b.group(2), t.getValue());
                    }
                }
            }
            SafeTensors.write(dir.resolve("model.safetensors"), deep);
        }
        WordFixtures.writeTokenizer(dir.resolve("tokenizer.json"), config.get("vocab_size").asInt());
        Files.write(dir.resolve(ModelSource.CORPUS_FILE), WordFixtures.corpus());
        return dir;
    }
}
