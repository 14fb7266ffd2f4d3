package dev.locus.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.testbed.Testbed;
import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code --model} takes either testbed by name or a directory, with the directory's own facts and corpus as defaults. */
class ModelOptionTest {

    @Test
    void accuracyOnTheLlamaTestbedByName(@TempDir Path tmp) throws Exception {
        Path facts = tmp.resolve("facts.jsonl");
        Files.write(facts, Files.readAllLines(Testbed.LLAMA.directory().resolve("facts.jsonl")).subList(0, 20));
        String out = CommandOutput.of(new AccuracyCommand(), "--model", "testbed-llama", "--facts", facts.toString());
        assertTrue(out.startsWith("model testbed-llama (llama): 12 layers, width 128"), out);
        double accuracy = Double.parseDouble(out.replaceAll("(?s).*greedy accuracy (\\S+),.*", "$1"));
        assertTrue(accuracy >= 0.9, out);
    }

    @Test
    void aCopiedTestbedDirectoryBringsItsFactsAndCorpus(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("my-llama");
        Files.createDirectories(dir);
        for (String file : List.of("config.json", "model.safetensors", "tokenizer.json", "facts.jsonl", "corpus.txt")) {
            Files.copy(Testbed.LLAMA.directory().resolve(file), dir.resolve(file));
        }
        Path results = tmp.resolve("results.jsonl");
        // ROME needs key statistics: from the directory's corpus.txt, as for the shipped testbed.
        String out = CommandOutput.of(new EditStudyCommand(), "--model", dir.toString(), "--from", "100", "--facts", "1",
                "--methods", "rome", "--problems", "error_injection", "--layers", "0", "--out", results.toString(),
                "--cache", tmp.resolve("cache").toString());
        assertTrue(out.contains("rome   error_injection         1     0"), out);
        JsonNode edit = new ObjectMapper().readTree(Files.readAllLines(results).get(0));
        assertEquals("tb-0101", edit.get("fact_id").asText());
        assertEquals("ok", edit.get("status").asText());
    }

    @Test
    void aDirectoryWithoutFactsOrAMissingModelIsAOneLineError(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("weights-only");
        Files.createDirectories(dir);
        for (String file : List.of("config.json", "model.safetensors", "tokenizer.json")) {
            Files.copy(Testbed.LLAMA.directory().resolve(file), dir.resolve(file));
        }
        assertUserError("model weights-only carries no facts.jsonl: give a facts file", "--model", dir.toString());
        assertUserError("model " + tmp.resolve("nothing") + " is neither a shipped testbed (testbed, testbed-llama) nor a directory",
                "--model", tmp.resolve("nothing").toString());
    }

    private static void assertUserError(String message, String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        CommandLine command = Main.withUserErrors(new CommandLine(new AccuracyCommand()));
        command.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        assertEquals(2, command.execute(args));
        assertEquals("accuracy: " + message, err.toString(StandardCharsets.UTF_8).strip());
    }
}
