package dev.locus.web;

import dev.locus.stream.WorkerModel;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready once the worker's model is loaded (a big model takes a while); Kafka's own checks come with the extension. */
@Readiness
@ApplicationScoped
public class WorkerReadiness implements HealthCheck {
    @Inject
    WorkerModel model;

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("locus-worker-model").status(model.ready()).build();
    }
}
