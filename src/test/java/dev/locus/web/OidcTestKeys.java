package dev.locus.web;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.smallrye.jwt.build.Jwt;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.Set;

/**
 * Stands in for an OIDC provider's signing key: the application verifies bearer tokens with the
 * public half (quarkus.oidc.public-key), tests sign tokens with the private half.
 */
public class OidcTestKeys implements QuarkusTestResourceLifecycleManager {
    public static final String ISSUER = "https://issuer.test";
    private static final KeyPair KEYS = generate();

    private static KeyPair generate() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(2048);
            return generator.generateKeyPair();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A signed access token with the given roles (groups claim), valid for a minute. */
    public static String token(String... roles) {
        return Jwt.issuer(ISSUER).subject("test-user").groups(Set.of(roles)).expiresIn(Duration.ofMinutes(1)).sign(KEYS.getPrivate());
    }

    /** A token signed by a key the application does not trust. */
    public static String forgedToken() {
        return Jwt.issuer(ISSUER).subject("intruder").groups(Set.of("locus-submit")).sign(generate().getPrivate());
    }

    @Override
    public Map<String, String> start() {
        return Map.of("quarkus.oidc.tenant-enabled", "true",
                "quarkus.oidc.public-key", Base64.getEncoder().encodeToString(KEYS.getPublic().getEncoded()),
                "quarkus.oidc.token.issuer", ISSUER,
                "locus.api.submit-role", "locus-submit");
    }

    @Override
    public void stop() {}
}
