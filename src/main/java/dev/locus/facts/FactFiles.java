package dev.locus.facts;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A facts file in any form intake accepts, for the commands: JSON lines (one fact a line, in Locus's
 * form or as CounterFact records) or one JSON array of such records, as CounterFact's own files
 * (e.g. counterfact-edit.json) are. Every record goes through {@link FactIntake}, so a command reads
 * exactly what the service would accept, normalised the same way.
 */
public final class FactFiles {
    private static final ObjectMapper JSON = new ObjectMapper();

    private FactFiles() {}

    /** @throws IllegalArgumentException naming the line or record and the reason, at the first bad one */
    public static List<Fact> read(Path path) throws IOException {
        byte[] bytes = Files.readAllBytes(path);
        FactIntake intake = new FactIntake(FactIntake.Limits.defaults());
        String text = new String(bytes, StandardCharsets.UTF_8).stripLeading();
        List<FactIntake.Result> results = new ArrayList<>();
        if (text.startsWith("[")) {
            JsonNode records = JSON.readTree(bytes);
            for (int i = 0; i < records.size(); i++) {
                FactIntake.Result r = intake.accept(JSON.writeValueAsBytes(records.get(i)));
                results.add(r instanceof FactIntake.Rejected rejected
                        ? new FactIntake.Rejected(rejected.reason(), "record " + i + ": " + rejected.message()) : r);
            }
        } else {
            results = intake.acceptLines(bytes);
        }
        List<Fact> facts = new ArrayList<>(results.size());
        for (FactIntake.Result r : results) {
            if (r instanceof FactIntake.Rejected rejected) {
                throw new IllegalArgumentException(path + ", " + rejected.message() + " (" + rejected.reason() + ")");
            }
            facts.add(((FactIntake.Accepted) r).fact());
        }
        return facts;
    }
}
