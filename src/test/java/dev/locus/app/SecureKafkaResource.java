package dev.locus.app;

import dev.locus.stream.EmbeddedKafka;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * An {@link EmbeddedKafka} broker whose client listener takes SASL/PLAIN over TLS only, with a certificate made for the
 * test (keytool, valid for 2 days, for 127.0.0.1); the application gets the credentials of user {@code locus} as
 * {@code kafka.*} settings, the way an operator gives them (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_JAAS_CONFIG, ...).
 */
public class SecureKafkaResource extends EmbeddedKafkaResource {
    public static final String PASSWORD = "locus-secret";
    static final String STORE_PASSWORD = "changeit";

    private static Path certificates;

    @Override
    protected EmbeddedKafka startBroker(Path dir) {
        try {
            certificates = dir.resolve("tls");
            Files.createDirectories(certificates);
            makeCertificate(certificates);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        Map<String, String> broker = new HashMap<>();
        broker.put("listener.security.protocol.map", "CLIENT:SASL_SSL,CONTROLLER:PLAINTEXT");
        broker.put("sasl.enabled.mechanisms", "PLAIN");
        broker.put("sasl.mechanism.inter.broker.protocol", "PLAIN");
        broker.put("listener.name.client.plain.sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required "
                + "username=\"admin\" password=\"admin-secret\" user_admin=\"admin-secret\" user_locus=\"" + PASSWORD + "\";");
        broker.put("ssl.keystore.location", certificates.resolve("broker.p12").toString());
        broker.put("ssl.keystore.password", STORE_PASSWORD);
        broker.put("ssl.key.password", STORE_PASSWORD);
        broker.put("ssl.keystore.type", "PKCS12");
        broker.putAll(trust("ssl."));
        return EmbeddedKafka.start(dir.resolve("kafka"), broker, new HashMap<>(client("admin", "admin-secret")),
                EmbeddedKafka.DEFAULT_START_TIMEOUT);
    }

    @Override
    protected Map<String, String> config(EmbeddedKafka broker) {
        Map<String, String> config = new HashMap<>(super.config(broker));
        client("locus", PASSWORD).forEach((k, v) -> config.put("kafka." + k, v));
        return config;
    }

    /** Client settings for SASL/PLAIN over TLS as {@code user}, trusting the test's certificate. */
    public static Map<String, String> client(String user, String password) {
        Map<String, String> c = new HashMap<>(trust("ssl."));
        c.put("security.protocol", "SASL_SSL");
        c.put("sasl.mechanism", "PLAIN");
        c.put("sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"" + user
                + "\" password=\"" + password + "\";");
        return c;
    }

    private static Map<String, String> trust(String prefix) {
        return Map.of(prefix + "truststore.location", certificates.resolve("trust.p12").toString(), prefix + "truststore.password",
                STORE_PASSWORD, prefix + "truststore.type", "PKCS12");
    }

    private static void makeCertificate(Path at) throws IOException, InterruptedException {
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        run(at, keytool, "-genkeypair", "-alias", "broker", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2", "-dname",
                "CN=127.0.0.1", "-ext", "SAN=ip:127.0.0.1", "-keystore", "broker.p12", "-storetype", "PKCS12", "-storepass",
                STORE_PASSWORD, "-keypass", STORE_PASSWORD);
        run(at, keytool, "-exportcert", "-alias", "broker", "-keystore", "broker.p12", "-storepass", STORE_PASSWORD, "-file", "broker.crt");
        run(at, keytool, "-importcert", "-noprompt", "-alias", "broker", "-file", "broker.crt", "-keystore", "trust.p12", "-storetype",
                "PKCS12", "-storepass", STORE_PASSWORD);
    }

    private static void run(Path dir, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(command)).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
        }
    }
}
