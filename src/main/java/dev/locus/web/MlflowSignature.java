package dev.locus.web;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * MLflow's webhook signature (mlflow/webhooks/delivery.py; docs "Webhooks", "Security"): header
 * {@code X-MLflow-Signature: v1,<base64 HMAC-SHA256>} over {@code "<delivery id>.<timestamp>.<body>"},
 * with {@code X-MLflow-Delivery-Id} and {@code X-MLflow-Timestamp} (Unix seconds); deliveries older
 * than {@link #MAX_AGE_SECONDS} are refused, as MLflow recommends against replays.
 */
final class MlflowSignature {
    static final long MAX_AGE_SECONDS = 300;

    private MlflowSignature() {}

    /** The header value MLflow sends for this delivery. */
    static String sign(String secret, String deliveryId, String timestamp, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            mac.update((deliveryId + "." + timestamp + ".").getBytes(StandardCharsets.UTF_8));
            return "v1," + Base64.getEncoder().encodeToString(mac.doFinal(body));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is unavailable", e);
        }
    }

    /** Whether {@code signature} is the one {@code secret} gives this delivery (compared in constant time). */
    static boolean valid(String secret, String deliveryId, String timestamp, byte[] body, String signature) {
        if (deliveryId == null || timestamp == null || signature == null) {
            return false;
        }
        byte[] expected = sign(secret, deliveryId, timestamp, body).getBytes(StandardCharsets.UTF_8);
        return MessageDigest.isEqual(expected, signature.trim().getBytes(StandardCharsets.UTF_8));
    }

    /** Whether {@code timestamp} (Unix seconds) lies within {@link #MAX_AGE_SECONDS} of {@code nowSeconds}, either way. */
    static boolean fresh(String timestamp, long nowSeconds) {
        try {
            return Math.abs(nowSeconds - Long.parseLong(timestamp.trim())) <= MAX_AGE_SECONDS;
        } catch (RuntimeException e) {
            return false;
        }
    }
}
