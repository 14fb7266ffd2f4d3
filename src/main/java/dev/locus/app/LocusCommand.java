package dev.locus.app;

import dev.locus.bench.BenchAggregatorCommand;
import dev.locus.bench.BenchEditCommand;
import dev.locus.bench.BenchForwardCommand;
import dev.locus.bench.BenchGemmCommand;
import dev.locus.bench.BenchServiceCommand;
import dev.locus.bench.BenchTraceCommand;
import dev.locus.bench.RandomCheckpointCommand;
import dev.locus.chaos.ChaosCommand;
import io.quarkus.picocli.runtime.annotations.TopCommand;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** The command line; {@link Main} runs the service when no subcommand is given. */
@TopCommand
@Command(name = "locus", mixinStandardHelpOptions = true,
        description = "Causal tracing vs model editing, as a service and a library.",
        subcommands = {AccuracyCommand.class, LogitsCommand.class, TraceCommand.class, TrainTestbedCommand.class, BenchForwardCommand.class,
                BenchTraceCommand.class, EditCommand.class, EditStudyCommand.class, EditSelectivityCommand.class, BenchEditCommand.class,
                BenchAggregatorCommand.class, BenchServiceCommand.class, RandomCheckpointCommand.class, BrokerCommand.class,
                BenchGemmCommand.class, ChaosCommand.class})
public class LocusCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
