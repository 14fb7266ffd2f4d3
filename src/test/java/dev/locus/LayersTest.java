package dev.locus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The packages are the architecture: launcher → benchmarks → service (web, stream) → figures →
 * study → testbed → tracing, editing → stats, facts, model, config. A package imports only
 * packages of a lower level (tracing and editing, on one level, not each other), and science code
 * (study and below, configuration aside) neither Quarkus nor Kafka.
 */
class LayersTest {
    private static final Path MAIN = Path.of("src/main/java/dev/locus");
    private static final Map<String, Integer> LEVEL = Map.ofEntries(
            Map.entry("app", 10), Map.entry("chaos", 9), Map.entry("bench", 8), Map.entry("web", 7), Map.entry("stream", 6), Map.entry("figures", 5),
            Map.entry("study", 4), Map.entry("testbed", 3), Map.entry("tracing", 2), Map.entry("editing", 2),
            Map.entry("stats", 1), Map.entry("facts", 1), Map.entry("model", 1), Map.entry("config", 0));
    private static final List<String> SCIENCE = List.of("study", "testbed", "tracing", "editing", "stats", "facts", "model");
    private static final Pattern PROJECT_IMPORT = Pattern.compile("^import dev\\.locus\\.(\\w+)\\.", Pattern.MULTILINE);
    private static final Pattern SERVICE_IMPORT = Pattern.compile("^import (io\\.quarkus|org\\.apache\\.kafka|io\\.smallrye|jakarta)\\.",
            Pattern.MULTILINE);

    @Test
    void everyImportRunsDownward() throws IOException {
        List<String> upward = new ArrayList<>();
        try (Stream<Path> files = Files.walk(MAIN)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                String from = MAIN.relativize(file).getName(0).toString();
                assertTrue(LEVEL.containsKey(from), "package " + from + " has no level here: add it to LayersTest.LEVEL");
                String text = Files.readString(file);
                Matcher m = PROJECT_IMPORT.matcher(text);
                while (m.find()) {
                    String to = m.group(1);
                    if (!to.equals(from) && LEVEL.getOrDefault(to, Integer.MAX_VALUE) >= LEVEL.get(from)) {
                        upward.add(MAIN.relativize(file) + " imports " + to);
                    }
                }
                if (SCIENCE.contains(from) && SERVICE_IMPORT.matcher(text).find()) {
                    upward.add(MAIN.relativize(file) + " is science code but imports Quarkus, Kafka or Jakarta");
                }
            }
        }
        assertEquals(List.of(), upward);
    }
}
