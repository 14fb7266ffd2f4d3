package dev.locus.app;

import io.quarkus.picocli.runtime.annotations.TopCommand;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** The command line: with no subcommand it runs the demo. */
@TopCommand
@Command(name = "locus", mixinStandardHelpOptions = true,
        description = "Causal tracing vs model editing, as a service and a library.",
        subcommands = {DemoCommand.class, TraceCommand.class, TrainTestbedCommand.class, BenchForwardCommand.class,
                BenchTraceCommand.class, EditStudyCommand.class, BenchEditCommand.class})
public class LocusCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        int status = spec.subcommands().get("demo").execute();
        if (status != 0) {
            throw new IllegalStateException("demo failed");
        }
    }
}
