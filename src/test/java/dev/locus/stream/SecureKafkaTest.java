package dev.locus.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.app.SecureKafkaResource;
import dev.locus.facts.FactIntake;
import dev.locus.testbed.Testbed;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Kafka security, tested: the broker takes SASL/PLAIN over TLS only (a certificate made for the test), Locus is given
 * user locus's credentials as kafka.* settings, and a fact goes in over HTTP and through the worker, the results topic
 * and the aggregator to /api/stats; a client with a wrong password is refused by the broker, and one without TLS and
 * SASL gets nothing.
 */
@QuarkusTest
@Tag("secure") // another broker for the application: a JVM of its own (see the pom)
@TestProfile(SecureKafkaTest.Secure.class)
class SecureKafkaTest {
    /** Only the secure broker: none of the other test classes' (global) in-process brokers. */
    public static class Secure implements QuarkusTestProfile {
        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(SecureKafkaResource.class));
        }

        @Override
        public boolean disableGlobalTestResources() {
            return true;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TestHTTPResource("/")
    URI base;

    @Test
    void locusWorksWithItsCredentialsAndOthersAreRefused() throws Exception {
        HttpResponse<String> accepted = HTTP.send(HttpRequest.newBuilder(base.resolve("api/facts")).header("Content-Type", "application/x-ndjson")
                .header("X-API-Key", "test-key").POST(HttpRequest.BodyPublishers.ofString(FactIntake.json(Testbed.GPT2.facts().get(3)))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(202, accepted.statusCode(), accepted.body());
        long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        JsonNode stats;
        long edits;
        do {
            Thread.sleep(500);
            stats = JSON.readTree(HTTP.send(HttpRequest.newBuilder(base.resolve("api/stats")).build(), HttpResponse.BodyHandlers.ofString()).body());
            edits = 0;
            for (JsonNode g : stats.get("groups")) {
                edits += g.get("edits").asLong();
            }
        } while (edits < 3 && System.nanoTime() < deadline);
        assertEquals(3, edits, "the fact's three edits (layers 0, 4, 8) went through the worker and the aggregator over SASL_SSL: " + stats);
        // The fact's offset is committed just after its last result is acknowledged, and progress is read at most a second old.
        JsonNode progress = stats.get("progress");
        for (long until = System.nanoTime() + Duration.ofSeconds(30).toNanos(); progress.get("completed").asLong() < 1 && System.nanoTime() < until; ) {
            Thread.sleep(250);
            progress = JSON.readTree(HTTP.send(HttpRequest.newBuilder(base.resolve("api/stats")).build(), HttpResponse.BodyHandlers.ofString())
                    .body()).get("progress");
        }
        assertEquals(1, progress.get("completed").asLong(), "progress read over SASL_SSL too: " + progress);

        String bootstrap = ConfigProvider.getConfig().getValue("kafka.bootstrap.servers", String.class);
        ExecutionException wrong = assertThrows(ExecutionException.class,
                () -> describe(bootstrap, SecureKafkaResource.client("locus", "not-the-password")));
        assertInstanceOf(SaslAuthenticationException.class, wrong.getCause(), wrong.toString());
        assertThrows(Exception.class, () -> describe(bootstrap, Map.of()), "a client without TLS and SASL gets nothing");
        assertTrue(describe(bootstrap, SecureKafkaResource.client("locus", SecureKafkaResource.PASSWORD)) > 0, "the right credentials work");
    }

    /** The cluster's node count as a client with {@code security} sees it (5 s to answer). */
    private static int describe(String bootstrap, Map<String, String> security) throws Exception {
        Map<String, Object> conf = new HashMap<>(security);
        conf.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        conf.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5000);
        conf.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000);
        try (Admin admin = Admin.create(conf)) {
            return admin.describeCluster().nodes().get().size();
        }
    }
}
