package dev.locus;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** The ../shared folder beside the checkout (data and reference fixtures); tests skip without it. */
public final class SharedFiles {
    private SharedFiles() {}

    public static Path require(String relative) {
        Path p = Path.of(System.getProperty("shared.dir", "../shared")).resolve(relative);
        assumeTrue(Files.exists(p), "skipped: " + p.toAbsolutePath() + " is absent (the shared folder is not beside the checkout)");
        return p;
    }
}
