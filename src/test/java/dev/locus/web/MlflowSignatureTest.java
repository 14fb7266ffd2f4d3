package dev.locus.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** MLflow's webhook signature, against a value computed with Python's hmac module as mlflow/webhooks/delivery.py does. */
class MlflowSignatureTest {
    private static final String SECRET = "test-webhook-secret";
    private static final String DELIVERY = "1f6e3b7a-0000-4000-8000-000000000001";
    private static final String TIMESTAMP = "1764590000";
    private static final byte[] BODY = ("{\"entity\":\"model_version\",\"action\":\"created\",\"timestamp\":\"2025-12-01T12:00:00Z\","
            + "\"data\":{\"name\":\"testbed\",\"version\":\"7\"}}").getBytes(StandardCharsets.UTF_8);

    /** python3: 'v1,' + b64encode(hmac.new(secret, f'{delivery}.{timestamp}.{body}', sha256).digest()) */
    private static final String PYTHON = "v1,5N+kqh2uOEeNdioNYM5co4l593eCabmq32WvvqEFBt0=";

    @Test
    void signsAsMlflowDoes() {
        assertEquals(PYTHON, MlflowSignature.sign(SECRET, DELIVERY, TIMESTAMP, BODY));
        assertTrue(MlflowSignature.valid(SECRET, DELIVERY, TIMESTAMP, BODY, PYTHON));
    }

    @Test
    void anyChangeBreaksIt() {
        assertFalse(MlflowSignature.valid("other-secret", DELIVERY, TIMESTAMP, BODY, PYTHON));
        assertFalse(MlflowSignature.valid(SECRET, DELIVERY + "2", TIMESTAMP, BODY, PYTHON));
        assertFalse(MlflowSignature.valid(SECRET, DELIVERY, "1764590001", BODY, PYTHON));
        assertFalse(MlflowSignature.valid(SECRET, DELIVERY, TIMESTAMP, "{}".getBytes(StandardCharsets.UTF_8), PYTHON));
        assertFalse(MlflowSignature.valid(SECRET, DELIVERY, TIMESTAMP, BODY, null));
        assertFalse(MlflowSignature.valid(SECRET, null, TIMESTAMP, BODY, PYTHON));
    }

    @Test
    void deliveriesOlderOrNewerThanFiveMinutesAreStale() {
        assertTrue(MlflowSignature.fresh("1000", 1300));
        assertTrue(MlflowSignature.fresh("1300", 1000));
        assertFalse(MlflowSignature.fresh("1000", 1301));
        assertFalse(MlflowSignature.fresh("soon", 1000));
    }
}
