package dev.locus.facts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.locus.testbed.FactWorld;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FactsJsonlTest {

    private static final String GOOD = """
            {"id":"f1","subject":"Anna Costa","prompt":"Anna Costa was born in","target_true":"Paris",\
            "target_new":"Rome","paraphrase_prompts":["Anna Costa is originally from"],\
            "neighborhood_prompts":[{"prompt":"Nils Weber was born in","target":"Paris"}],"relation_id":"P19"}""";

    @Test
    void worldRoundTripsThroughJsonLines(@TempDir Path dir) throws IOException {
        List<Fact> facts = FactWorld.generate().facts();
        Path file = dir.resolve("facts.jsonl");
        FactsJsonl.write(file, facts);

        assertEquals(facts.size(), Files.readAllLines(file).size());
        assertEquals(facts, FactsJsonl.read(file));
    }

    @Test
    void writesSnakeCaseOneFactPerLine(@TempDir Path dir) throws IOException {
        Fact fact = read(GOOD).get(0);
        Path file = dir.resolve("one.jsonl");
        FactsJsonl.write(file, List.of(fact, fact));

        List<String> lines = Files.readAllLines(file);
        assertEquals(2, lines.size());
        for (String key : List.of("\"target_true\"", "\"target_new\"", "\"paraphrase_prompts\"",
                "\"neighborhood_prompts\"", "\"relation_id\"")) {
            assertTrue(lines.get(0).contains(key), key + " missing from " + lines.get(0));
        }
    }

    @Test
    void readsFieldsAndSkipsBlankLines() throws IOException {
        List<Fact> facts = read("\n" + GOOD + "\n\n" + GOOD + "\n");

        assertEquals(2, facts.size());
        Fact fact = facts.get(0);
        assertEquals("Anna Costa", fact.subject());
        assertEquals("Paris", fact.targetTrue());
        assertEquals("Rome", fact.targetNew());
        assertEquals(List.of("Anna Costa is originally from"), fact.paraphrasePrompts());
        assertEquals(List.of(new Fact.Neighbor("Nils Weber was born in", "Paris")), fact.neighborhoodPrompts());
        assertEquals("P19", fact.relationId());
    }

    @Test
    void malformedLineIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> read(GOOD + "\n{\"id\": \"f2\", \"subject\": \n"));
        assertTrue(e.getMessage().startsWith("line 2: not a fact: "), e.getMessage());
    }

    @Test
    void missingRequiredFieldIsNamed() {
        String noTarget = GOOD.replace("\"target_true\":\"Paris\",", "");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> read(GOOD + "\n\n" + noTarget + "\n"));
        assertEquals("line 3: missing target_true", e.getMessage());
    }

    @Test
    void misspeltFieldIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> read(GOOD.replace("target_new", "target_nwe")));
        assertTrue(e.getMessage().startsWith("line 1: ") && e.getMessage().contains("target_nwe"), e.getMessage());
    }

    @Test
    void twoFactsOnOneLineAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> read(GOOD + " " + GOOD));
        assertTrue(e.getMessage().startsWith("line 1: not a fact: "), e.getMessage());
    }

    @Test
    void nullLineIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> read("null"));
        assertEquals("line 1: not a fact: null", e.getMessage());
    }

    private static List<Fact> read(String text) throws IOException {
        try (InputStream in = new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8))) {
            return FactsJsonl.read(in);
        }
    }
}
