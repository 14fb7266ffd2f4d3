package dev.locus.deploy;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscalerBehavior;
import java.util.List;
import java.util.Map;

/**
 * Typed records for the custom resources and files that no maintained Java model covers here, read
 * with FAIL_ON_UNKNOWN_PROPERTIES so that a misspelt field fails. Their fields follow the upstream
 * definitions: Strimzi's KafkaTopic CRD (kafka.strimzi.io v1beta2 / v1), KEDA's ScaledObject CRD
 * (keda.sh/v1alpha1) and the parameters of its Kafka scaler, and the part of the Compose
 * specification that docker/compose.yaml uses. Nested Kubernetes types (metadata, HPA behaviour) are
 * fabric8's own, checked by {@link DeploymentFilesTest}'s walk for unknown fields.
 */
final class CustomResources {
    private CustomResources() {}

    record KafkaTopic(String apiVersion, String kind, ObjectMeta metadata, Spec spec) {
        record Spec(String topicName, Integer partitions, Integer replicas, Map<String, Object> config) {}
    }

    record ScaledObject(String apiVersion, String kind, ObjectMeta metadata, Spec spec) {
        record Spec(ScaleTargetRef scaleTargetRef, Integer pollingInterval, Integer cooldownPeriod, Integer initialCooldownPeriod,
                    Integer idleReplicaCount, Integer minReplicaCount, Integer maxReplicaCount, Fallback fallback, Advanced advanced,
                    List<Trigger> triggers) {}

        record ScaleTargetRef(String apiVersion, String kind, String name, String envSourceContainerName) {}

        record Fallback(Integer failureThreshold, Integer replicas, String behavior) {}

        record Advanced(Boolean restoreToOriginalReplicaCount, HorizontalPodAutoscalerConfig horizontalPodAutoscalerConfig,
                        ScalingModifiers scalingModifiers) {}

        record HorizontalPodAutoscalerConfig(String name, HorizontalPodAutoscalerBehavior behavior) {}

        record ScalingModifiers(String formula, String target, String activationTarget, String metricType) {}

        record Trigger(String type, String name, Map<String, String> metadata, AuthenticationRef authenticationRef, String metricType,
                       Boolean useCachedMetrics) {}

        record AuthenticationRef(String name, String kind) {}
    }

    /** The parameters of KEDA's "kafka" scaler (trigger metadata; every value a string). */
    record KafkaScalerMetadata(String bootstrapServers, String bootstrapServersFromEnv, String consumerGroup,
                               String consumerGroupFromEnv, String topic, String topicFromEnv, String lagThreshold,
                               String activationLagThreshold, String offsetResetPolicy, String allowIdleConsumers,
                               String scaleToZeroOnInvalidOffset, String excludePersistentLag, String limitToPartitionsWithLag,
                               String ensureEvenDistributionOfPartitions, String partitionLimitation, String version, String sasl,
                               String tls, String unsafeSsl) {}

    /** The Compose keys docker/compose.yaml may use (x- extension keys are removed before reading). */
    record Compose(String name, Map<String, Service> services, Map<String, Object> volumes, Map<String, Object> networks) {
        record Service(String image, Build build, String hostname, List<String> command, Map<String, Object> environment,
                       List<String> ports, List<String> volumes, Object depends_on, Healthcheck healthcheck, String restart,
                       @JsonProperty("user") String user) {}

        record Build(String context, String dockerfile) {}

        record Healthcheck(List<String> test, String interval, String timeout, Integer retries, String start_period) {}
    }
}
