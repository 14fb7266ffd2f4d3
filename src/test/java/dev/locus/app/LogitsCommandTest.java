package dev.locus.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.SharedFiles;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/** `locus logits` prints what transformers computes for the same checkpoint and ids (every position with --all). */
class LogitsCommandTest {

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny-trace", "llama-tiny", "llama3-tiny", "qwen2-tiny", "mistral-tiny", "gptj-tiny", "gpt-neox-tiny"})
    void printsTheReferenceLogits(String fixture) throws Exception {
        Path dir = SharedFiles.require("fixtures/" + fixture);
        JsonNode ref = new ObjectMapper().readTree(dir.resolve("reference.json").toFile());
        JsonNode sequence = ref.has("sequences") ? ref.get("sequences").get(ref.get("sequences").size() - 1) : ref;
        List<String> ids = new ArrayList<>();
        sequence.get("input_ids").forEach(id -> ids.add(id.asText()));
        JsonNode printed = run("--model", dir.toString(), "--ids", String.join(",", ids), "--all");
        JsonNode expected = sequence.get("logits");
        assertEquals(expected.size(), printed.get("logits").size());
        double worst = 0;
        for (int t = 0; t < expected.size(); t++) {
            for (int v = 0; v < expected.get(t).size(); v++) {
                worst = Math.max(worst, Math.abs(expected.get(t).get(v).asDouble() - printed.get("logits").get(t).get(v).asDouble()));
            }
        }
        assertTrue(worst < 1e-4, fixture + ": max abs difference " + worst);
    }

    @Test
    void anIdOutsideTheVocabularyIsAnError() throws Exception {
        Path dir = SharedFiles.require("fixtures/llama-tiny");
        assertEquals(1, new CommandLine(new LogitsCommand()).execute("--model", dir.toString(), "--ids", "1,256"));
    }

    private static JsonNode run(String... args) throws Exception {
        return new ObjectMapper().readTree(CommandOutput.of(new LogitsCommand(), args));
    }
}
