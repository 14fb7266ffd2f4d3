package dev.locus.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.app.EmbeddedKafkaResource;
import dev.locus.app.KafkaTestSupport;
import dev.locus.stream.EventSchemas;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Announcing model versions over HTTP and through MLflow's webhook, on the real in-process broker: new, the same again,
 * conflicting, invalid; the webhook's signature checked; every announcement on locus.models valid against its schema.
 */
@QuarkusTest
@Tag("service")
@QuarkusTestResource(EmbeddedKafkaResource.class)
class ModelResourceTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final String SECRET = "test-webhook-secret"; // %test.locus.api.mlflow-webhook-secret

    @TestHTTPResource("/")
    URI base;

    @Test
    void versionsAreAnnouncedOnceAndConflictsRefused() throws Exception {
        String v1 = "{\"name\":\"registry-test\",\"version\":\"1\",\"checkpoint\":\"testbed\"}";
        HttpResponse<String> first = post("api/models", v1, "test-key");
        assertEquals(202, first.statusCode(), first.body());
        assertTrue(JSON.readTree(first.body()).path("baseline").isMissingNode(), "the first version has no baseline");
        assertEquals(200, post("api/models", v1, "test-key").statusCode(), "the same announcement again changes nothing");

        HttpResponse<String> v2 = post("api/models", "{\"name\":\"registry-test\",\"version\":\"2\",\"checkpoint\":\"testbed-llama\","
                + "\"editing_config\":\"testbed\",\"grid\":{\"methods\":[\"rome\"],\"problems\":[\"error_injection\"],\"layers\":[0,4]}}", "test-key");
        assertEquals(202, v2.statusCode(), v2.body());
        assertEquals("1", JSON.readTree(v2.body()).get("baseline").asText(), "the baseline defaults to the previous version");

        HttpResponse<String> conflict = post("api/models", "{\"name\":\"registry-test\",\"version\":\"1\",\"checkpoint\":\"/elsewhere\"}", "test-key");
        assertEquals(409, conflict.statusCode(), conflict.body());
        assertEquals("testbed", JSON.readTree(conflict.body()).get("announced").get("checkpoint").asText());

        HttpResponse<String> invalid = post("api/models", "{\"name\":\"has space\",\"version\":\"\",\"grid\":{\"methods\":[\"sgd\"],"
                + "\"layers\":[-1]}}", "test-key");
        assertEquals(400, invalid.statusCode());
        List<String> problems = JSON.convertValue(JSON.readTree(invalid.body()).get("problems"), JSON.getTypeFactory()
                .constructCollectionType(List.class, String.class));
        assertEquals(5, problems.size(), invalid.body()); // name, version, checkpoint, the method, the layer
        assertEquals(400, post("api/models", "not json", "test-key").statusCode());
        assertEquals(401, post("api/models", v1, null).statusCode());
        assertEquals(403, post("api/models", v1, "wrong").statusCode());

        JsonNode listed = JSON.readTree(get("api/models").body());
        List<String> versions = new java.util.ArrayList<>();
        for (JsonNode v : listed) {
            if (v.get("announcement").get("name").asText().equals("registry-test")) {
                versions.add(v.get("announcement").get("version").asText() + ":" + v.get("status").asText());
            }
        }
        assertEquals(List.of("1:announced", "2:announced"), versions);
        assertAnnouncementsOnTopicAreValid(2);
    }

    @Test
    void mlflowWebhookNeedsItsSignature() throws Exception {
        String body = "{\"entity\":\"model_version\",\"action\":\"created\",\"timestamp\":\"2026-12-01T12:00:00Z\",\"data\":"
                + "{\"name\":\"mlflow-test\",\"version\":\"3\",\"source\":\"models:/m-123\",\"run_id\":\"abc\","
                + "\"tags\":{\"locus.checkpoint\":\"testbed\"},\"description\":null}}";
        String delivery = UUID.randomUUID().toString();
        String now = Long.toString(System.currentTimeMillis() / 1000);
        assertEquals(401, webhook(body, delivery, now, "v1,AAAA").statusCode(), "a bad signature");
        assertEquals(401, webhook(body, delivery, now, null).statusCode(), "no signature");
        String stale = Long.toString(System.currentTimeMillis() / 1000 - 3600);
        assertEquals(400, webhook(body, delivery, stale, MlflowSignature.sign(SECRET, delivery, stale, bytes(body))).statusCode());

        HttpResponse<String> accepted = webhook(body, delivery, now, MlflowSignature.sign(SECRET, delivery, now, bytes(body)));
        assertEquals(202, accepted.statusCode(), accepted.body());
        JsonNode announced = JSON.readTree(accepted.body());
        assertEquals("testbed", announced.get("checkpoint").asText());
        assertEquals("mlflow", announced.get("source").asText());

        String tag = "{\"entity\":\"model_version_tag\",\"action\":\"set\",\"timestamp\":\"2026-12-01T12:00:00Z\",\"data\":{}}";
        HttpResponse<String> ignored = webhook(tag, delivery, now, MlflowSignature.sign(SECRET, delivery, now, bytes(tag)));
        assertEquals(200, ignored.statusCode(), "other events are acknowledged, so MLflow does not retry them");

        String noCheckpoint = body.replace("\"tags\":{\"locus.checkpoint\":\"testbed\"}", "\"tags\":{}").replace("\"3\"", "\"4\"");
        HttpResponse<String> refused = webhook(noCheckpoint, delivery, now, MlflowSignature.sign(SECRET, delivery, now, bytes(noCheckpoint)));
        assertEquals(400, refused.statusCode(), "models:/ is no directory a worker can read");
        assertTrue(refused.body().contains("checkpoint"), refused.body());
    }

    private void assertAnnouncementsOnTopicAreValid(int atLeast) throws Exception {
        List<ConsumerRecord<String, String>> records = KafkaTestSupport.readUntil("locus.models", Duration.ofSeconds(60),
                got -> got.size() >= atLeast);
        for (ConsumerRecord<String, String> r : records) {
            EventSchemas.requireValid(EventSchemas.MODEL_ANNOUNCEMENT, r.value());
            JsonNode a = JSON.readTree(r.value());
            assertEquals(a.get("name").asText() + "|" + a.get("version").asText(), r.key());
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private HttpResponse<String> webhook(String body, String delivery, String timestamp, String signature) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve("api/models/mlflow")).header("Content-Type", "application/json")
                .header("X-MLflow-Delivery-Id", delivery).header("X-MLflow-Timestamp", timestamp)
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (signature != null) {
            request.header("X-MLflow-Signature", signature);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String path, String body, String key) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) {
            request.header("X-API-Key", key);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(base.resolve(path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }
}
