package dev.locus;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What tests need from outside the checkout: the ../shared folder beside it (data and reference
 * fixtures) and the tools .ci/run installs. Locally a test without them skips with a message;
 * under CI ({@code CI=true}), where all of them must be there, it fails instead, so a missing
 * prerequisite can never turn a run green.
 */
public final class SharedFiles {
    private SharedFiles() {}

    /** A path below ../shared (or {@code -Dshared.dir}). */
    public static Path require(String relative) {
        Path p = Path.of(System.getProperty("shared.dir", "../shared")).resolve(relative);
        prerequisite(Files.exists(p), p.toAbsolutePath() + " is absent (the shared folder is not beside the checkout)");
        return p;
    }

    /** Skips (locally) or fails (under CI) unless {@code present}; {@code missing} says what is missing and how to get it. */
    public static void prerequisite(boolean present, String missing) {
        if (present) {
            return;
        }
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            fail("under CI every prerequisite must be present: " + missing);
        }
        assumeTrue(false, "skipped: " + missing);
    }
}
