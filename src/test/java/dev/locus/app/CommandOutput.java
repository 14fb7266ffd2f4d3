package dev.locus.app;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;

/** Runs a command as picocli would and captures what it prints on standard output. */
final class CommandOutput {
    private CommandOutput() {}

    /** Standard output of {@code command} run with {@code args}, which must exit with 0. */
    static String of(Object command, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            assertEquals(0, Main.withUserErrors(new CommandLine(command)).execute(args));
        } finally {
            System.setOut(stdout);
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
