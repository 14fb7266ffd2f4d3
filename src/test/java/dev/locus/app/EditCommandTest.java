package dev.locus.app;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.editing.EditEvaluator;
import dev.locus.editing.EditTask;
import dev.locus.editing.EditingConfig;
import dev.locus.editing.EditingMethod;
import dev.locus.editing.EditingProblem;
import dev.locus.editing.Editor;
import dev.locus.facts.Fact;
import dev.locus.model.LanguageModel;
import dev.locus.model.SafeTensors;
import dev.locus.testbed.Testbed;
import dev.locus.tracing.TracingSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** `locus edit` writes the edit it scored, and nothing else: the testbed copied, one tensor's bytes changed. */
class EditCommandTest {
    private static final Path CACHE = Path.of("target", "locus-cache");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void romeAtLayerOneWritesTheTestbedWithOnlyTheEditedTensorChanged() throws IOException {
        Fact fact = Testbed.GPT2.facts().get(101);
        Path out = tmp.resolve("edited");
        JsonNode printed = JSON.readTree(CommandOutput.of(new EditCommand(), "--fact", JSON.writeValueAsString(fact), "--method", "rome", "--layer", "1",
                "--out", out.toString(), "--cache", CACHE.toString()));
        assertEquals("ok", printed.get("status").asText());
        assertEquals("[1]", printed.get("edited_layers").toString());

        Path source = Testbed.GPT2.directory();
        assertEquals(fileNames(source), fileNames(out));
        for (String name : fileNames(source)) {
            if (!name.equals("model.safetensors")) {
                assertEquals(-1, Files.mismatch(source.resolve(name), out.resolve(name)), name);
            }
        }
        try (LanguageModel lm = Testbed.GPT2.load(); LanguageModel edited = LanguageModel.load(out)) {
            String editedName = lm.model().editSite(1).weightName();
            assertTensorsIdenticalExcept(editedName, source.resolve("model.safetensors"), out.resolve("model.safetensors"));
            assertArrayEquals(romeEdit(lm, fact, editedName), edited.model().weights().get(editedName).toFloatArray());
            double rewritePost = edited.targetProbs(List.of(fact.prompt()), List.of(fact.targetNew()))[0];
            assertEquals(printed.get("rewrite_post").asDouble(), rewritePost, 1e-5);
        }
    }

    @Test
    void refusesTheModelDirectoryANonEmptyOutAndRomeOnAModelWithoutACorpus() throws IOException {
        Path model = Files.createDirectories(tmp.resolve("model"));
        for (String name : fileNames(Testbed.GPT2.directory())) {
            if (!name.equals("corpus.txt")) { // a directory without corpus.txt needs --corpus for ROME's key statistics
                Files.copy(Testbed.GPT2.directory().resolve(name), model.resolve(name));
            }
        }
        Path notEmpty = Files.createDirectories(tmp.resolve("not-empty"));
        Files.writeString(notEmpty.resolve("keep.txt"), "mine");
        Path fresh = tmp.resolve("fresh");
        String fact = JSON.writeValueAsString(Testbed.GPT2.facts().get(101));
        for (List<String> args : List.of(
                List.of("--model", model.toString(), "--corpus", Testbed.GPT2.directory().resolve("corpus.txt").toString(), "--out",
                        model.toString()),
                List.of("--out", notEmpty.toString()),
                List.of("--model", model.toString(), "--out", fresh.toString()))) {
            Stream<String> common = Stream.of("--fact", fact, "--method", "rome", "--layer", "1", "--cache", CACHE.toString());
            assertEquals(1, new CommandLine(new EditCommand()).execute(Stream.concat(common, args.stream()).toArray(String[]::new)),
                    args.toString());
        }
        assertEquals(List.of("keep.txt"), fileNames(notEmpty));
        assertFalse(Files.exists(fresh));
    }

    /** The edit applied here again, as the command sets it up by default: the testbed preset, seed 1 for prefixes and noise. */
    private static float[] romeEdit(LanguageModel lm, Fact fact, String name) {
        long seed = TracingSettings.defaults().seed();
        EditingConfig config = EditingConfig.testbed();
        Editor rome = config.editor(EditingMethod.ROME, EditingProblem.ERROR_INJECTION, lm, Testbed.GPT2.keyStatistics(lm, CACHE, s -> {}),
                config.prefixes(lm, seed));
        EditTask task = new EditEvaluator(lm, Testbed.GPT2.noiseSigma(lm), seed).setup(fact, EditingProblem.ERROR_INJECTION).task();
        try (Editor.Applied applied = rome.apply(task, 1)) {
            return lm.model().weights().get(name).toFloatArray();
        }
    }

    /** Same header bytes and layout; every tensor's stored bytes equal but {@code edited}'s, which differ. */
    private static void assertTensorsIdenticalExcept(String edited, Path original, Path written) throws IOException {
        byte[] before = Files.readAllBytes(original);
        byte[] after = Files.readAllBytes(written);
        assertEquals(before.length, after.length);
        Map<String, SafeTensors.Entry> entries = SafeTensors.entries(original);
        Map<String, SafeTensors.Entry> writtenEntries = SafeTensors.entries(written);
        assertEquals(List.copyOf(entries.keySet()), List.copyOf(writtenEntries.keySet()));
        int dataStart = (int) entries.values().stream().mapToLong(SafeTensors.Entry::offset).min().orElseThrow();
        assertArrayEquals(Arrays.copyOf(before, dataStart), Arrays.copyOf(after, dataStart), "header");
        for (Map.Entry<String, SafeTensors.Entry> e : entries.entrySet()) {
            SafeTensors.Entry entry = e.getValue();
            assertEquals(entry.offset(), writtenEntries.get(e.getKey()).offset(), e.getKey());
            int from = (int) entry.offset();
            int to = (int) (entry.offset() + entry.length());
            byte[] stored = Arrays.copyOfRange(before, from, to);
            byte[] rewritten = Arrays.copyOfRange(after, from, to);
            if (e.getKey().equals(edited)) {
                assertNotEquals(-1, Arrays.mismatch(stored, rewritten), "the edited tensor " + edited + " is unchanged");
            } else {
                assertArrayEquals(stored, rewritten, e.getKey());
            }
        }
    }

    private static List<String> fileNames(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(f -> f.getFileName().toString()).sorted().toList();
        }
    }
}
