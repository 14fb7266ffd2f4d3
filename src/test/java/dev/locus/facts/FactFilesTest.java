package dev.locus.facts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.locus.SharedFiles;
import dev.locus.testbed.Testbed;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Commands read Locus JSON lines and CounterFact's own JSON array alike, as intake normalises them. */
class FactFilesTest {

    @Test
    void readsLocusJsonLinesAsTheyAre() throws IOException {
        assertEquals(Testbed.GPT2.facts(), FactFiles.read(Testbed.GPT2.directory().resolve("facts.jsonl")));
    }

    @Test
    void readsCounterFactsOwnJsonArray() throws IOException {
        List<Fact> facts = FactFiles.read(SharedFiles.require("data/counterfact-edit.json"));
        assertEquals(10_000, facts.size());
        Fact first = facts.get(0);
        assertEquals("cf-0", first.id());
        assertEquals("Danielle Darrieux", first.subject());
        assertEquals("French", first.targetTrue());
        assertEquals("English", first.targetNew());
        assertTrue(first.prompt().contains(first.subject()));
    }

    @Test
    void readsRomeKnownFactsAsTraceOnly() throws IOException {
        List<Fact> facts = FactFiles.read(SharedFiles.require("data/known_1000.json"));
        assertEquals(1209, facts.size());
        assertEquals(new Fact("known-0", "Vinson Massif", "Vinson Massif is located in the continent of", "Antarctica", null, null, null,
                "P30"), facts.get(0));
        assertTrue(facts.stream().allMatch(Fact::traceOnly));
    }

    @Test
    void aBadRecordIsNamed(@TempDir Path tmp) throws IOException {
        Path file = tmp.resolve("facts.json");
        Files.writeString(file, "[{\"case_id\": 1, \"prompt\": \"x\"}]");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FactFiles.read(file));
        assertTrue(e.getMessage().contains("record 0"), e.getMessage());
        Path lines = tmp.resolve("facts.jsonl");
        Files.writeString(lines, Files.readAllLines(Testbed.GPT2.directory().resolve("facts.jsonl")).get(0) + "\nnot json\n");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> FactFiles.read(lines)).getMessage().contains("line 2"));
    }
}
