package dev.locus.web;

import dev.locus.config.LocusConfig;
import io.quarkus.security.identity.SecurityIdentity;
import jakarta.enterprise.context.RequestScoped;
import jakarta.inject.Inject;
import jakarta.ws.rs.core.Response;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Who may write: fact submissions and model announcements take the same credentials. */
@RequestScoped
public class Credentials {
    @Inject
    LocusConfig config;

    @Inject
    SecurityIdentity identity;

    /**
     * A valid OIDC bearer token (verified by quarkus-oidc before this runs; a bad one is a 401
     * there) or a configured API key. Returns the refusal, or null when the caller may {@code act}.
     */
    Response refusal(String apiKey, String act) {
        if (!identity.isAnonymous()) {
            Optional<String> role = config.api().submitRole();
            if (role.isPresent() && !identity.hasRole(role.get())) {
                return error(Response.Status.FORBIDDEN, "the token lacks the role '" + role.get() + "' needed to " + act);
            }
            return null;
        }
        if (apiKey == null || apiKey.isBlank()) {
            return error(Response.Status.UNAUTHORIZED,
                    "missing credentials: send an API key in the X-API-Key header or an OIDC bearer token");
        }
        List<String> keys = config.api().keys().orElse(List.of());
        if (keys.stream().noneMatch(k -> MessageDigest.isEqual(k.getBytes(StandardCharsets.UTF_8), apiKey.getBytes(StandardCharsets.UTF_8)))) {
            return error(Response.Status.FORBIDDEN, keys.isEmpty() ? "API keys are not accepted here (none configured in locus.api.keys)"
                    : "the API key is not valid");
        }
        return null;
    }

    static Response error(Response.Status status, String message) {
        return Response.status(status).entity(Map.of("error", message)).build();
    }
}
