package dev.locus.facts;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Facts as JSON lines: one {@link Fact} per line in its snake_case form. Blank lines are skipped,
 * so a trailing newline or a hand-edited gap does not break a file.
 */
public final class FactsJsonl {

    /**
     * Unknown fields are errors (Jackson's default), so a misspelt key is caught; so is anything
     * after the fact on its line, which would otherwise be silently dropped.
     */
    private static final ObjectMapper MAPPER =
            new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private FactsJsonl() {}

    /** Writes the facts to path, replacing what was there. */
    public static void write(Path path, List<Fact> facts) throws IOException {
        try (BufferedWriter writer = Files.newBufferedWriter(path, StandardCharsets.UTF_8)) {
            for (Fact fact : facts) {
                // Jackson escapes newlines inside strings, so each fact stays on one line.
                writer.write(MAPPER.writeValueAsString(fact));
                writer.write('\n');
            }
        }
    }

    /**
     * Reads every fact in path.
     *
     * @throws IllegalArgumentException naming the line number and the reason, at the first bad line
     */
    public static List<Fact> read(Path path) throws IOException {
        try (InputStream in = Files.newInputStream(path)) {
            return read(in);
        }
    }

    /**
     * Reads facts from a UTF-8 stream up to its end; the caller closes the stream.
     *
     * @throws IllegalArgumentException naming the line number and the reason, at the first bad line
     */
    public static List<Fact> read(InputStream in) throws IOException {
        BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        List<Fact> facts = new ArrayList<>();
        int lineNumber = 0;
        for (String line = reader.readLine(); line != null; line = reader.readLine()) {
            lineNumber++;
            if (!line.isBlank()) {
                facts.add(parse(line, lineNumber));
            }
        }
        return facts;
    }

    private static Fact parse(String line, int lineNumber) {
        Fact fact;
        try {
            fact = MAPPER.readValue(line, Fact.class);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("line " + lineNumber + ": not a fact: " + e.getOriginalMessage(), e);
        }
        if (fact == null) {
            throw new IllegalArgumentException("line " + lineNumber + ": not a fact: null");
        }
        // Without these a fact can be neither traced nor edited; catch it here, where the line is known.
        requirePresent(fact.id(), "id", lineNumber);
        requirePresent(fact.subject(), "subject", lineNumber);
        requirePresent(fact.prompt(), "prompt", lineNumber);
        requirePresent(fact.targetTrue(), "target_true", lineNumber);
        return fact;
    }

    private static void requirePresent(String value, String field, int lineNumber) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("line " + lineNumber + ": missing " + field);
        }
    }
}
