package dev.locus.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The small chaos run (README: the full one is {@code locus chaos}): six testbed facts through broker, aggregator and
 * worker as child JVMs of the packaged application, once without faults and once with one SIGKILL of each (worker
 * mid-fact, aggregator between a count and its snapshot, broker restarted on its data), and every check of the report.
 */
class ChaosIT {
    @Test
    void killsChangeNothingThatCounts() throws Exception {
        Path jar = Path.of("target", "quarkus-app", "quarkus-run.jar");
        Path work = Path.of("target", "chaos-it").toAbsolutePath();
        if (Files.exists(work)) { // a rerun's: its runs need fresh broker data
            try (Stream<Path> old = Files.walk(work)) {
                old.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
            }
        }
        ChaosExperiment.Settings settings = new ChaosExperiment.Settings(6, 100, new int[] {0, 6}, 1, 1, 1, 1, work, jar.toAbsolutePath(),
                Duration.ofMinutes(5));
        ChaosReport report = new ChaosExperiment(settings, System.out::println).run();
        System.out.print(report.render());
        assertEquals(3, report.chaos().kills().size(), report::render);
        for (ChaosReport.Check check : report.checks()) {
            assertTrue(check.passed(), () -> check.name() + ": " + check.detail() + "\n" + report.render());
        }
        assertTrue(report.chaos().results().size() > report.faultFree().results().size(),
                "a worker killed mid-fact redoes the fact, so the chaos run writes results again: " + report.render());
    }
}
