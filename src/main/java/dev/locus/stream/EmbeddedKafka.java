package dev.locus.stream;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.utils.Time;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;

/**
 * An in-process, single-node Apache Kafka broker in KRaft mode (one process that is both broker and controller,
 * node id 1), for the one-command demo and for the integration tests. It is not meant for production use.
 *
 * <p>{@link #start(Path)} picks two free ephemeral ports on 127.0.0.1 up front (one for clients, one for the
 * controller quorum), formats the storage under the given directory (an already formatted directory is reused), starts
 * {@link KafkaRaftServer} and returns only once the broker really accepts clients (an Admin {@code describeCluster}
 * answered with one node). Internal topics are single-replica, topics are auto-created with one partition by default,
 * and the initial consumer group rebalance delay is zero. Several instances may run side by side in one JVM, each in
 * its own directory and on its own ports.
 *
 * <p><b>Lifecycle:</b> the broker must be {@linkplain #close() closed} by its owner <em>after</em> the Kafka
 * consumers, producers and admin clients that use it have been closed (otherwise those clients hang retrying against a
 * vanished broker, and a consumer group leaves no committed offsets). Do not stop it from a JVM shutdown hook: the
 * order of shutdown hooks is unspecified, so the broker could be gone while the application's clients are still
 * closing; stop it explicitly at the end of the demo command or the test instead.
 *
 * <p>Kafka logs through SLF4J under the categories {@code org.apache.kafka} and {@code kafka}; the application
 * configuration keeps them at WARN.
 */
public final class EmbeddedKafka implements AutoCloseable {

    /** How long {@link #start(Path)} waits for the broker to accept clients. */
    public static final Duration DEFAULT_START_TIMEOUT = Duration.ofSeconds(60);

    private static final String CLIENT_LISTENER = "CLIENT";
    private static final String CONTROLLER_LISTENER = "CONTROLLER";
    private static final int NODE_ID = 1;
    private static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(30);

    private final KafkaRaftServer server;
    private final Path dataDir;
    private final String bootstrapServers;
    private final Map<String, Object> clientSecurity;
    private final AtomicBoolean closed = new AtomicBoolean();

    private EmbeddedKafka(KafkaRaftServer server, Path dataDir, String bootstrapServers, Map<String, Object> clientSecurity) {
        this.server = server;
        this.dataDir = dataDir;
        this.bootstrapServers = bootstrapServers;
        this.clientSecurity = Map.copyOf(clientSecurity);
    }

    /**
     * Starts a broker whose data lives under {@code dataDir} (created if missing), waiting up to
     * {@link #DEFAULT_START_TIMEOUT} for it to accept clients.
     *
     * @throws IllegalStateException if the storage cannot be formatted or the broker does not come up in time
     */
    public static EmbeddedKafka start(Path dataDir) {
        return start(dataDir, Map.of(), DEFAULT_START_TIMEOUT);
    }

    /**
     * Starts a broker as {@link #start(Path)} does, with extra broker properties (they override the defaults, e.g.
     * {@code log.retention.ms}) and a custom start timeout.
     *
     * @throws IllegalStateException if the storage cannot be formatted or the broker does not come up in time
     */
    public static EmbeddedKafka start(Path dataDir, Map<String, String> brokerOverrides, Duration startTimeout) {
        return start(dataDir, brokerOverrides, Map.of(), startTimeout);
    }

    /**
     * The same with client security: {@code brokerOverrides} secure the client listener (named {@code CLIENT}, e.g.
     * {@code listener.security.protocol.map=CLIENT:SASL_SSL,CONTROLLER:PLAINTEXT} with its SASL and TLS settings) and
     * {@code clientSecurity} are the settings this class's own admin client needs to reach it (security.protocol,
     * sasl.*, ssl.truststore.*).
     */
    public static EmbeddedKafka start(Path dataDir, Map<String, String> brokerOverrides, Map<String, Object> clientSecurity,
                                      Duration startTimeout) {
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(brokerOverrides, "brokerOverrides");
        Objects.requireNonNull(startTimeout, "startTimeout");
        Path logDir = dataDir.toAbsolutePath().resolve("kraft-logs");
        try {
            Files.createDirectories(logDir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the Kafka data directory " + logDir, e);
        }

        int[] ports = freePorts(2);
        String host = "127.0.0.1";
        Map<String, Object> props = brokerProperties(logDir, host, ports[0], ports[1]);
        props.putAll(brokerOverrides);
        // Overridden listeners (fixed ports, so that a restarted broker is where its clients look) are where it is polled.
        String bootstrap = clientAddress(String.valueOf(props.get("advertised.listeners"))).orElse(host + ":" + ports[0]);

        KafkaConfig config;
        try {
            config = new KafkaConfig(props, false);
            format(dataDir, logDir, props);
        } catch (Exception e) {
            throw new IllegalStateException("cannot prepare the embedded Kafka broker in " + logDir + ": " + e, e);
        }

        KafkaRaftServer server = new KafkaRaftServer(config, Time.SYSTEM);
        EmbeddedKafka kafka = new EmbeddedKafka(server, dataDir, bootstrap, clientSecurity);
        try {
            server.startup();
            kafka.awaitReady(startTimeout);
            return kafka;
        } catch (RuntimeException | Error e) {
            try {
                kafka.close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw new IllegalStateException("the embedded Kafka broker at " + bootstrap + " (data in " + logDir
                    + ") did not come up within " + startTimeout.toSeconds() + " s: " + e, e);
        }
    }

    private static Map<String, Object> brokerProperties(Path logDir, String host, int clientPort, int controllerPort) {
        Map<String, Object> p = new HashMap<>();
        p.put("process.roles", "broker,controller");
        p.put("node.id", String.valueOf(NODE_ID));
        p.put("controller.quorum.voters", NODE_ID + "@" + host + ":" + controllerPort);
        p.put("listeners", CLIENT_LISTENER + "://" + host + ":" + clientPort + ","
                + CONTROLLER_LISTENER + "://" + host + ":" + controllerPort);
        p.put("advertised.listeners", CLIENT_LISTENER + "://" + host + ":" + clientPort);
        p.put("listener.security.protocol.map", CLIENT_LISTENER + ":PLAINTEXT," + CONTROLLER_LISTENER + ":PLAINTEXT");
        p.put("inter.broker.listener.name", CLIENT_LISTENER);
        p.put("controller.listener.names", CONTROLLER_LISTENER);
        p.put("log.dirs", logDir.toString());
        p.put("metadata.log.dir", logDir.toString());
        // A single node: every internal topic has one replica.
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "1");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "1");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("default.replication.factor", "1");
        p.put("min.insync.replicas", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("auto.create.topics.enable", "true");
        p.put("num.partitions", "1");
        // Small footprint: the log cleaner would otherwise allocate a 128 MiB dedupe buffer.
        p.put("log.cleaner.dedupe.buffer.size", String.valueOf(8 * 1024 * 1024));
        p.put("log.cleaner.threads", "1");
        p.put("num.network.threads", "2");
        p.put("num.io.threads", "2");
        p.put("background.threads", "2");
        p.put("num.recovery.threads.per.data.dir", "1");
        return p;
    }

    /**
     * Formats the storage with Kafka's own {@code kafka-storage format} tool (the {@code Formatter} class itself lives in
     * kafka-metadata, which is only a runtime dependency of kafka_2.13). The broker properties are written to
     * {@code server.properties} next to the log directory.
     */
    private static void format(Path dataDir, Path logDir, Map<String, Object> props) throws IOException {
        Properties file = new Properties();
        props.forEach((k, v) -> file.setProperty(k, String.valueOf(v)));
        Path configFile = dataDir.toAbsolutePath().resolve("server.properties");
        try (var out = Files.newBufferedWriter(configFile, StandardCharsets.UTF_8)) {
            file.store(out, "embedded Kafka broker (written on each start)");
        }
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        int rc;
        try (PrintStream print = new PrintStream(output, true, StandardCharsets.UTF_8)) {
            rc = StorageTool.execute(new String[] {
                "format",
                "--config", configFile.toString(),
                "--cluster-id", existingClusterId(logDir).orElseGet(() -> Uuid.randomUuid().toString()),
                // A directory formatted by an earlier run keeps its cluster id and data.
                "--ignore-formatted"
            }, print);
        } catch (RuntimeException e) {
            throw new IllegalStateException("kafka-storage format failed for " + logDir + ": " + e.getMessage(), e);
        }
        if (rc != 0) {
            throw new IllegalStateException("kafka-storage format failed for " + logDir + " (exit code " + rc + "): "
                    + output.toString(StandardCharsets.UTF_8).strip());
        }
    }

    /** The cluster id of a log directory formatted by an earlier run, if any. */
    private static Optional<String> existingClusterId(Path logDir) throws IOException {
        Path meta = logDir.resolve("meta.properties");
        if (!Files.isRegularFile(meta)) {
            return Optional.empty();
        }
        Properties properties = new Properties();
        try (var in = Files.newBufferedReader(meta, StandardCharsets.UTF_8)) {
            properties.load(in);
        }
        return Optional.ofNullable(properties.getProperty("cluster.id")).filter(id -> !id.isBlank());
    }

    /** The host:port of the CLIENT listener among {@code advertised.listeners}. */
    private static Optional<String> clientAddress(String advertised) {
        for (String listener : advertised.split(",")) {
            String l = listener.strip();
            if (l.startsWith(CLIENT_LISTENER + "://")) {
                return Optional.of(l.substring(CLIENT_LISTENER.length() + 3));
            }
        }
        return Optional.empty();
    }

    /**
     * Broker overrides that put the client listener on {@code clientPort} and the controller on {@code controllerPort} of
     * 127.0.0.1, for a broker that is restarted on the same data directory where its clients expect it.
     */
    public static Map<String, String> fixedPorts(int clientPort, int controllerPort) {
        String host = "127.0.0.1";
        return Map.of("listeners", CLIENT_LISTENER + "://" + host + ":" + clientPort + "," + CONTROLLER_LISTENER + "://" + host + ":" + controllerPort,
                "advertised.listeners", CLIENT_LISTENER + "://" + host + ":" + clientPort,
                "controller.quorum.voters", NODE_ID + "@" + host + ":" + controllerPort);
    }

    /** Picks {@code n} distinct free ports on the loopback interface (they are released before the broker binds). */
    private static int[] freePorts(int n) {
        ServerSocket[] sockets = new ServerSocket[n];
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                sockets[i] = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
                sockets[i].setReuseAddress(true);
                ports[i] = sockets[i].getLocalPort();
            }
            return ports;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot find a free port for the embedded Kafka broker", e);
        } finally {
            for (ServerSocket s : sockets) {
                if (s != null) {
                    try {
                        s.close();
                    } catch (IOException ignored) {
                        // best effort
                    }
                }
            }
        }
    }

    /** Polls the broker with an Admin client until it reports a cluster with this node, or the timeout passes. */
    private void awaitReady(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        try (Admin admin = newAdmin(Duration.ofSeconds(5))) {
            while (true) {
                long leftMs = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (leftMs <= 0) {
                    break;
                }
                try {
                    Collection<?> nodes = admin.describeCluster().nodes().get(Math.min(leftMs, 5_000), TimeUnit.MILLISECONDS);
                    if (!nodes.isEmpty()) {
                        return;
                    }
                } catch (ExecutionException e) {
                    last = e.getCause() instanceof Exception cause ? cause : e;
                } catch (TimeoutException e) {
                    last = e;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for the embedded Kafka broker", e);
                }
                sleep(100);
            }
        }
        throw new IllegalStateException("the broker did not answer describeCluster"
                + (last == null ? "" : " (last error: " + last + ")"), last);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the embedded Kafka broker", e);
        }
    }

    private Admin newAdmin(Duration apiTimeout) {
        Map<String, Object> conf = new HashMap<>(clientSecurity);
        conf.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        conf.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) apiTimeout.toMillis());
        conf.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.min(apiTimeout.toMillis(), 30_000));
        conf.put(AdminClientConfig.CLIENT_ID_CONFIG, "embedded-kafka-admin");
        return Admin.create(conf);
    }

    /** The {@code bootstrap.servers} value for clients, {@code 127.0.0.1:<port>}. */
    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** The directory given to {@link #start(Path)}. */
    public Path dataDir() {
        return dataDir;
    }

    /**
     * Creates a topic (one replica) and waits until it is created; an existing topic of that name is left as it is.
     *
     * @param configs topic configs, e.g. {@code Map.of("cleanup.policy", "compact")}
     */
    public void createTopic(String name, int partitions, Map<String, String> configs) {
        createTopics(List.of(new NewTopic(name, Optional.of(partitions), Optional.of((short) 1)).configs(configs)));
    }

    /** Creates topics and waits until they are created; topics that already exist are left as they are. */
    public void createTopics(Collection<NewTopic> topics) {
        ensureOpen();
        try (Admin admin = newAdmin(ADMIN_TIMEOUT)) {
            for (var entry : admin.createTopics(topics).values().entrySet()) {
                try {
                    entry.getValue().get(ADMIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException("cannot create topic " + entry.getKey() + ": " + e.getCause(),
                                e.getCause());
                    }
                }
            }
        } catch (TimeoutException e) {
            throw new IllegalStateException("timed out creating topics " + topics, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        }
    }

    private void ensureOpen() {
        if (closed.get()) {
            throw new IllegalStateException("the embedded Kafka broker is closed");
        }
    }

    /** Shuts the broker and its controller down and waits until they have stopped. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            server.shutdown();
            server.awaitShutdown();
        }
    }

    @Override
    public String toString() {
        return "EmbeddedKafka[" + bootstrapServers + ", " + dataDir + "]";
    }
}
