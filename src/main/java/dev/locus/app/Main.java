package dev.locus.app;

import dev.locus.stream.EmbeddedKafka;
import dev.locus.model.ModelLoadException;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.QuarkusApplication;
import io.quarkus.runtime.annotations.QuarkusMain;
import jakarta.inject.Inject;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.UUID;
import picocli.CommandLine;

/**
 * The launcher. With no arguments (or {@code serve}) Locus runs as a service: if no Kafka address
 * is configured it first starts an in-process KRaft broker and has the testbed facts published,
 * so one command shows the whole pipeline. With a subcommand (trace, edit-study, ...) it runs
 * that command with messaging switched off.
 */
@QuarkusMain
public class Main implements QuarkusApplication {
    private static final Set<String> SERVICE = Set.of("serve");

    @Inject
    CommandLine.IFactory factory;

    public static void main(String... args) throws Exception {
        boolean service = args.length == 0 || SERVICE.contains(args[0]);
        if (!service) {
            runCommand(args);
            return;
        }
        EmbeddedKafka broker = null;
        if (configured("kafka.bootstrap.servers", "KAFKA_BOOTSTRAP_SERVERS") == null) {
            Path data = Files.createTempDirectory("locus-kafka-");
            System.err.println("No Kafka address configured (KAFKA_BOOTSTRAP_SERVERS): starting an in-process broker in " + data);
            broker = EmbeddedKafka.start(data);
            System.setProperty("kafka.bootstrap.servers", broker.bootstrapServers());
            setDefault("locus.demo.publish-testbed-facts", "LOCUS_DEMO_PUBLISH_TESTBED_FACTS", "true");
            // The demo evaluates two announced versions of the testbed (DemoVersions), a few facts at a time each, so
            // that their comparison shows within minutes.
            setDefault("locus.worker.versions", "LOCUS_WORKER_VERSIONS", "announced");
            setDefault("locus.worker.version-slice-facts", "LOCUS_WORKER_VERSION_SLICE_FACTS", "3");
            if (configured("locus.api.keys", "LOCUS_API_KEYS") == null) {
                String key = UUID.randomUUID().toString();
                System.setProperty("locus.api.keys", key);
                System.err.println("Demo API key for POST /api/facts (header X-API-Key): " + key);
            }
        }
        String device = configured("locus.model.device", "LOCUS_MODEL_DEVICE");
        if (device == null || device.equalsIgnoreCase("cpu")) {
            quietCudaProbe();
        }
        String role = configured("locus.role", "LOCUS_ROLE");
        // An aggregator reads no facts; a worker of announced versions reads them in each version's own group, not this channel's.
        if ("aggregator".equalsIgnoreCase(role) || "announced".equals(configured("locus.worker.versions", "LOCUS_WORKER_VERSIONS"))) {
            disableChannel("incoming", "facts");
        }
        int[] exit = {0};
        try {
            Quarkus.run(Main.class, (code, failure) -> exit[0] = code, args);
        } finally {
            // Stopped here, after Quarkus has closed every consumer and producer, never from a shutdown hook.
            if (broker != null) {
                broker.close();
            }
        }
        System.exit(exit[0]);
    }

    private static void runCommand(String... args) {
        for (String channel : new String[] {"facts"}) {
            disableChannel("incoming", channel);
        }
        for (String channel : new String[] {"results", "dead-letters", "fact-submissions"}) {
            disableChannel("outgoing", channel);
        }
        // A command's output is what it says: Quarkus's start-up lines, the notice that the channels above are
        // off and DJL's CUDA probe are not news to its user. Warnings of everything else still show.
        setLogLevel("io.quarkus", "WARN");
        setLogLevel("io.smallrye.reactive.messaging.provider", "ERROR");
        quietCudaProbe();
        System.setProperty("locus.role", "none");
        System.setProperty("quarkus.http.port", "0"); // several commands may run side by side
        Quarkus.run(Main.class, args);
    }

    private static void disableChannel(String direction, String channel) {
        System.setProperty("mp.messaging." + direction + "." + channel + ".enabled", "false");
    }

    /** DJL looks for a GPU when its engine starts and warns four times on a machine without one; on CPU that is expected. */
    private static void quietCudaProbe() {
        setLogLevel("ai.djl.util.cuda.CudaUtils", "ERROR");
    }

    private static void setLogLevel(String category, String level) {
        setDefault("quarkus.log.category.\"" + category + "\".level", null, level);
    }

    private static String configured(String property, String env) {
        String value = System.getProperty(property);
        return value != null || env == null ? value : System.getenv(env);
    }

    private static void setDefault(String property, String env, String value) {
        if (configured(property, env) == null) {
            System.setProperty(property, value);
        }
    }

    /**
     * What a user can fix (a model that does not load, a bad option value, a file that cannot be read) is said in
     * one line, exit status 2; anything else is a bug and keeps its stack trace.
     */
    static CommandLine withUserErrors(CommandLine commandLine) {
        return commandLine.setExecutionExceptionHandler(Main::userError);
    }

    private static int userError(Exception e, CommandLine command, CommandLine.ParseResult parsed) throws Exception {
        if (!(e instanceof ModelLoadException || e instanceof IllegalArgumentException || e instanceof UncheckedIOException)) {
            throw e;
        }
        command.getErr().println(command.getCommandName() + ": " + e.getMessage());
        return 2;
    }

    @Override
    public int run(String... args) {
        if (args.length > 0 && !SERVICE.contains(args[0])) {
            return withUserErrors(new CommandLine(LocusCommand.class, factory)).execute(args);
        }
        Quarkus.waitForExit();
        return 0;
    }
}
