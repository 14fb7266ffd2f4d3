package dev.locus.chaos;

import dev.locus.bench.ChildJvm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The chaos experiment as a command (the README quotes its report); exit code 1 when a check fails. */
@Command(name = "chaos", mixinStandardHelpOptions = true,
        description = "Run testbed facts through broker, aggregator and worker as separate JVMs twice, without faults and with SIGKILLs "
                + "at seeded random moments (worker mid-fact, aggregator between a count and its snapshot, broker restarted on its "
                + "data), and compare: counts, figures, the results topic, redone results.")
public class ChaosCommand implements Callable<Integer> {
    @Option(names = "--facts", defaultValue = "40", description = "testbed facts (default: ${DEFAULT-VALUE})")
    int facts;

    @Option(names = "--from", defaultValue = "100", description = "index of the first testbed fact (default: ${DEFAULT-VALUE})")
    int from;

    @Option(names = "--layers", split = ",", defaultValue = "0,6", description = "layers ROME edits on error injection (default: ${DEFAULT-VALUE})")
    int[] layers;

    @Option(names = "--seed", defaultValue = "1", description = "seed of the kill plan (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--worker-kills", defaultValue = "3", description = "default: ${DEFAULT-VALUE}")
    int workerKills;

    @Option(names = "--aggregator-kills", defaultValue = "2", description = "default: ${DEFAULT-VALUE}")
    int aggregatorKills;

    @Option(names = "--broker-kills", defaultValue = "2", description = "default: ${DEFAULT-VALUE}")
    int brokerKills;

    @Option(names = "--work", description = "where the runs' logs and broker data go (default: a new temporary directory, kept)")
    Path work;

    @Option(names = "--app", description = "the application's quarkus-run.jar (default: the one this command runs from)")
    Path app;

    @Option(names = "--timeout", defaultValue = "PT30M", description = "the most each run may take (default: ${DEFAULT-VALUE})")
    Duration timeout;

    @Option(names = "--report", description = "also write the report to this file")
    Path report;

    @Override
    public Integer call() throws IOException, InterruptedException {
        Path dir = work != null ? work : Files.createTempDirectory("locus-chaos-");
        ChaosExperiment.Settings settings = new ChaosExperiment.Settings(facts, from, layers, seed, workerKills, aggregatorKills, brokerKills,
                dir, app != null ? app : ChildJvm.ownJar(), timeout);
        ChaosReport result = new ChaosExperiment(settings, line -> {
            System.out.println(line);
            System.out.flush();
        }).run();
        System.out.print(result.render());
        if (report != null) {
            Files.writeString(report, result.render());
        }
        return result.passed() ? 0 : 1;
    }
}
