package dev.locus.app;

import dev.locus.stream.EmbeddedKafka;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * A standalone single-node broker on fixed ports, for running worker, aggregator and broker as separate processes (and
 * killing any of them): restarted on the same data directory, it is where its clients expect it, with its data.
 */
@Command(name = "broker", mixinStandardHelpOptions = true,
        description = "Run the in-process Kafka broker (KRaft, one node, on 127.0.0.1) on fixed ports until stopped; "
                + "restarted on the same --data it keeps its topics, offsets and records.")
public class BrokerCommand implements Callable<Integer> {
    @Option(names = "--data", required = true, description = "data directory (created if missing; reused as it is)")
    Path data;

    @Option(names = "--port", defaultValue = "9092", description = "client port (default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--controller-port", description = "KRaft controller port (default: --port + 1)")
    Integer controllerPort;

    @Override
    public Integer call() throws InterruptedException {
        int controller = controllerPort != null ? controllerPort : port + 1;
        Map<String, String> settings = new HashMap<>(EmbeddedKafka.fixedPorts(port, controller));
        // Restarted after a crash, the node must wait out its previous registration's session with its own controller
        // (DUPLICATE_BROKER_REGISTRATION until then): 9 s by default, which made a restart take 13 s instead of 5.
        settings.put("broker.session.timeout.ms", "3000");
        settings.put("broker.heartbeat.interval.ms", "500");
        try (EmbeddedKafka kafka = EmbeddedKafka.start(data, settings, EmbeddedKafka.DEFAULT_START_TIMEOUT)) {
            System.out.println("broker ready: " + kafka.bootstrapServers() + " (data in " + data.toAbsolutePath() + "); stop it with Ctrl-C");
            System.out.flush();
            Thread.sleep(Long.MAX_VALUE);
        }
        return 0;
    }
}
