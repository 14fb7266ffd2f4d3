package dev.locus.deploy;

import static dev.locus.deploy.DeploymentFiles.ALERTS;
import static dev.locus.deploy.DeploymentFiles.ALERTS_TEST;
import static dev.locus.deploy.DeploymentFiles.COMPOSE;
import static dev.locus.deploy.DeploymentFiles.DASHBOARD;
import static dev.locus.deploy.DeploymentFiles.DOCKER;
import static dev.locus.deploy.DeploymentFiles.JSON;
import static dev.locus.deploy.DeploymentFiles.K8S;
import static dev.locus.deploy.DeploymentFiles.PROMETHEUS_CONFIG;
import static dev.locus.deploy.DeploymentFiles.PROMTOOL;
import static dev.locus.deploy.DeploymentFiles.ROOT;
import static dev.locus.deploy.DeploymentFiles.STRICT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.locus.SharedFiles;
import dev.locus.deploy.CustomResources.Compose;
import dev.locus.deploy.CustomResources.KafkaScalerMetadata;
import dev.locus.deploy.CustomResources.KafkaTopic;
import dev.locus.deploy.CustomResources.ScaledObject;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.kustomize.v1beta1.Kustomization;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.openshift.api.model.monitoring.v1.PodMonitor;
import io.fabric8.openshift.api.model.monitoring.v1.PrometheusRule;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.Test;

/**
 * The deployment files (docker/, k8s/, the dashboard and the alert rules) checked without a cluster
 * or a Docker engine: everything parses; every Kubernetes manifest, as written and as kustomize
 * renders each overlay, reads into a typed model that fails on misspelt fields; the pieces agree with
 * each other and with the service's configuration; promtool accepts the Prometheus configuration and
 * rules and passes the rules' unit tests. What needs the running service (metric names, a real
 * Prometheus scraping it) is in {@link MonitoringAgainstServiceTest}.
 */
class DeploymentFilesTest {
    private static final KubernetesSerialization KUBERNETES = new KubernetesSerialization();

    // --- everything parses --------------------------------------------------------------------------

    @Test
    void everyYamlAndJsonFileParses() throws IOException {
        List<Path> yaml = DeploymentFiles.files(".yaml", ".yml");
        List<Path> json = DeploymentFiles.files(".json");
        assertTrue(yaml.size() >= 15, "YAML files found: " + yaml);
        assertTrue(json.contains(DASHBOARD), "the dashboard is among " + json);
        for (Path file : yaml) {
            assertFalse(DeploymentFiles.yamlDocuments(file).isEmpty(), file + " has no YAML document");
        }
        for (Path file : json) {
            assertNotNull(JSON.readTree(file.toFile()), file.toString());
        }
    }

    // --- Kubernetes manifests, typed ----------------------------------------------------------------

    @Test
    void everyManifestAsWrittenReadsIntoItsTypedModel() {
        int checked = 0;
        for (Path file : DeploymentFiles.files(".yaml", ".yml")) {
            if (!file.startsWith(K8S)) {
                continue;
            }
            for (Object doc : DeploymentFiles.yamlDocuments(file)) {
                typed(doc, ROOT.relativize(file).toString());
                checked++;
            }
        }
        assertTrue(checked >= 16, "manifests checked: " + checked);
    }

    @Test
    void typedCheckFailsOnMisspeltFields() {
        Map<String, Object> deployment = Map.of("apiVersion", "apps/v1", "kind", "Deployment", "metadata", Map.of("name", "x"),
                "spec", Map.of("replicas", 1, "template", Map.of("spec", Map.of("containers",
                        List.of(Map.of("name", "c", "image", "i", "resource", Map.of())))))); // "resource" for "resources"
        AssertionError error = org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class, () -> typed(deployment, "test"));
        assertTrue(error.getMessage().contains("resource"), error.getMessage());

        Map<String, Object> topic = Map.of("apiVersion", "kafka.strimzi.io/v1beta2", "kind", "KafkaTopic", "metadata", Map.of("name", "t"),
                "spec", Map.of("partition", 3)); // "partition" for "partitions"
        org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> typed(topic, "test"));
        Map<String, Object> badConfig = Map.of("apiVersion", "kafka.strimzi.io/v1beta2", "kind", "KafkaTopic", "metadata",
                Map.of("name", "t"), "spec", Map.of("partitions", 3, "config", Map.of("retention.msec", "1")));
        org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class, () -> typed(badConfig, "test"));
        Map<String, Object> scaled = Map.of("apiVersion", "keda.sh/v1alpha1", "kind", "ScaledObject", "metadata", Map.of("name", "s"),
                "spec", Map.of("scaleTargetRef", Map.of("name", "w"), "triggers",
                        List.of(Map.of("type", "kafka", "metadata", Map.of("lagTreshold", "5")))));
        org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> typed(scaled, "test"));
        Map<String, Object> monitor = Map.of("apiVersion", "monitoring.coreos.com/v1", "kind", "PodMonitor", "metadata",
                Map.of("name", "m"), "spec", Map.of("podMetricEndpoints", List.of())); // for podMetricsEndpoints
        org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class, () -> typed(monitor, "test"));
    }

    /**
     * Reads one manifest into its typed model and fails on anything the model does not know. Built-in
     * kinds, Kustomization and the Prometheus Operator's kinds: fabric8 (whose models keep unknown
     * fields aside instead of failing, so every object is walked for them). KafkaTopic and ScaledObject:
     * records of our own (CustomResources) with FAIL_ON_UNKNOWN_PROPERTIES.
     */
    @SuppressWarnings("unchecked")
    static Object typed(Object document, String where) {
        Map<String, Object> doc = (Map<String, Object>) document;
        String kind = String.valueOf(doc.get("kind"));
        String apiVersion = String.valueOf(doc.get("apiVersion"));
        String at = where + " (" + kind + " " + name(doc) + ")";
        Object typed;
        if (apiVersion.startsWith("kustomize.config.k8s.io/")) {
            typed = KUBERNETES.convertValue(doc, Kustomization.class);
        } else if (kind.equals("KafkaTopic")) {
            assertTrue(Set.of("kafka.strimzi.io/v1beta2", "kafka.strimzi.io/v1").contains(apiVersion), at + ": " + apiVersion);
            KafkaTopic topic = STRICT.convertValue(doc, KafkaTopic.class);
            Set<String> topicConfigs = topicConfigNames();
            for (String key : Optional.ofNullable(topic.spec().config()).orElse(Map.of()).keySet()) {
                assertTrue(topicConfigs.contains(key), at + ": " + key + " is no Kafka topic configuration");
            }
            typed = topic;
        } else if (kind.equals("ScaledObject")) {
            assertEquals("keda.sh/v1alpha1", apiVersion, at);
            ScaledObject scaled = STRICT.convertValue(doc, ScaledObject.class);
            List<Map<String, Object>> triggers = (List<Map<String, Object>>) ((Map<String, Object>) doc.get("spec")).get("triggers");
            for (Map<String, Object> trigger : triggers) {
                Map<String, Object> metadata = (Map<String, Object>) trigger.get("metadata");
                metadata.forEach((k, v) -> assertTrue(v instanceof String, at + ": trigger metadata " + k + " must be a string"));
                if ("kafka".equals(trigger.get("type"))) {
                    STRICT.convertValue(metadata, KafkaScalerMetadata.class);
                }
            }
            typed = scaled;
        } else {
            typed = KUBERNETES.convertValue(doc, KubernetesResource.class);
            assertFalse(typed instanceof GenericKubernetesResource, at + ": no typed model for " + apiVersion + " " + kind);
        }
        List<String> unknown = new ArrayList<>();
        unknownFields(typed, "", unknown);
        assertTrue(unknown.isEmpty(), at + ": unknown fields " + unknown);
        return typed;
    }

    @SuppressWarnings("unchecked")
    private static String name(Map<String, Object> doc) {
        Object metadata = doc.get("metadata");
        return metadata instanceof Map ? String.valueOf(((Map<String, Object>) metadata).get("name")) : "";
    }

    private static Set<String> topicConfigNames() {
        Set<String> names = new TreeSet<>();
        for (Field f : TopicConfig.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getName().endsWith("_CONFIG") && f.getType() == String.class) {
                try {
                    names.add((String) f.get(null));
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return names;
    }

    /** Walks a fabric8 model (or one of our records holding fabric8 parts) for fields kept aside as unknown. */
    private static void unknownFields(Object value, String path, List<String> out) {
        if (value == null || value instanceof String || value instanceof Number || value instanceof Boolean || value instanceof Enum) {
            return;
        }
        if (value instanceof Map<?, ?> map) {
            map.forEach((k, v) -> unknownFields(v, path + "." + k, out));
            return;
        }
        if (value instanceof Collection<?> list) {
            int i = 0;
            for (Object item : list) {
                unknownFields(item, path + "[" + i++ + "]", out);
            }
            return;
        }
        Class<?> type = value.getClass();
        if (type.isRecord()) {
            for (RecordComponent c : type.getRecordComponents()) {
                try {
                    unknownFields(c.getAccessor().invoke(value), path + "." + c.getName(), out);
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException(e);
                }
            }
            return;
        }
        if (!type.getName().startsWith("io.fabric8.")) {
            return;
        }
        try {
            Method additional = type.getMethod("getAdditionalProperties");
            Map<?, ?> extra = (Map<?, ?>) additional.invoke(value);
            if (extra != null && !extra.isEmpty()) {
                out.add((path.isEmpty() ? "" : path + ": ") + extra.keySet());
            }
        } catch (NoSuchMethodException e) {
            // a model without a bag for unknown fields fails on them when it is read
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
        for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers()) || f.getName().equals("additionalProperties")) {
                    continue;
                }
                f.setAccessible(true);
                try {
                    unknownFields(f.get(value), path + "." + f.getName(), out);
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
    }

    // --- kustomize: what each overlay really applies ---------------------------------------------------

    /** The rendered overlay, typed, by kind and name. */
    record Rendered(String overlay, String text, Map<String, Map<String, Object>> byKindAndName) {
        @SuppressWarnings("unchecked")
        <T> T get(String kind, String name, Class<T> type) {
            Object typed = byKindAndName.getOrDefault(kind, Map.of()).get(name);
            assertNotNull(typed, overlay + ": no " + kind + " " + name + " among " + byKindAndName.keySet());
            return (T) typed;
        }

        @SuppressWarnings("unchecked")
        <T> List<T> all(String kind) {
            return new ArrayList<>((Collection<T>) byKindAndName.getOrDefault(kind, Map.of()).values());
        }

        /** A generated ConfigMap by the name it was given in a kustomization (kustomize appends a hash). */
        ConfigMap configMap(String generatedFrom) {
            List<ConfigMap> found = this.<ConfigMap>all("ConfigMap").stream()
                    .filter(c -> c.getMetadata().getName().equals(generatedFrom) || c.getMetadata().getName().matches(
                            Pattern.quote(generatedFrom) + "-[a-z0-9]{10}")).toList();
            assertEquals(1, found.size(), overlay + ": ConfigMap " + generatedFrom);
            return found.get(0);
        }
    }

    static Rendered render(String directory) {
        Optional<Path> kubectl = DeploymentFiles.kubectl();
        assumeTrue(kubectl.isPresent(), "kubectl (with its built-in kustomize) is not installed: the rendered overlays are not checked");
        DeploymentFiles.Run run = DeploymentFiles.run(ROOT, 120, kubectl.get().toString(), "kustomize", "k8s/" + directory);
        assertEquals(0, run.exitCode(), "kubectl kustomize k8s/" + directory + ":\n" + run.output());
        Map<String, Map<String, Object>> byKind = new LinkedHashMap<>();
        for (Object doc : DeploymentFiles.yamlDocuments(run.output())) {
            @SuppressWarnings("unchecked")
            Map<String, Object> map = (Map<String, Object>) doc;
            Object typed = typed(map, "kubectl kustomize k8s/" + directory);
            byKind.computeIfAbsent(String.valueOf(map.get("kind")), k -> new LinkedHashMap<>()).put(name(map), typed);
        }
        return new Rendered(directory, run.output(), byKind);
    }

    @Test
    void baseRendersAndHoldsEveryPart() {
        Rendered base = render("base");
        assertEquals(Set.of("ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "KafkaTopic", "ScaledObject", "PodMonitor",
                "PrometheusRule"), base.byKindAndName().keySet());
        assertEquals(Set.of("locus.facts", "locus.results", "locus.facts.dlq", "locus.stats", "locus.models"), base.byKindAndName().get("KafkaTopic").keySet());
    }

    @Test
    void cpuDevOverlayIsOneCpuWorkerWithTheTestbed() {
        Rendered cpu = render("overlays/cpu-dev");
        checkOverlay(cpu);
        assertFalse(cpu.text().contains("nvidia.com/gpu"), "cpu-dev asks for no GPU and selects no GPU node");
        assertTrue(cpu.all("PersistentVolumeClaim").isEmpty());
        Deployment worker = cpu.get("Deployment", "locus-worker", Deployment.class);
        assertTrue(worker.getSpec().getTemplate().getSpec().getVolumes().stream().noneMatch(v -> v.getPersistentVolumeClaim() != null));
        assertEquals("locus:cpu", worker.getSpec().getTemplate().getSpec().getContainers().get(0).getImage());
        ScaledObject scaled = cpu.get("ScaledObject", "locus-worker", ScaledObject.class);
        assertEquals(1, scaled.spec().minReplicaCount());
        assertEquals(1, scaled.spec().maxReplicaCount());
        Map<String, String> config = cpu.configMap("locus-worker").getData();
        assertEquals("testbed", config.get("LOCUS_MODEL_NAME"));
        assertFalse(config.containsKey("LOCUS_MODEL_DIR"), "the testbed model is the one in the jar");
        for (KafkaTopic topic : cpu.<KafkaTopic>all("KafkaTopic")) {
            assertEquals(1, topic.spec().replicas(), "one broker in a dev cluster");
            assertEquals("1", String.valueOf(topic.spec().config().get("min.insync.replicas")));
        }
    }

    @Test
    void gpuOverlayPutsGpt2XlOnGpuNodesFromAVolume() {
        Rendered gpu = render("overlays/gpu");
        checkOverlay(gpu);
        Deployment worker = gpu.get("Deployment", "locus-worker", Deployment.class);
        var pod = worker.getSpec().getTemplate().getSpec();
        Container container = pod.getContainers().get(0);
        assertEquals("locus:cuda", container.getImage());
        assertEquals("1", container.getResources().getLimits().get("nvidia.com/gpu").toString());
        assertEquals("1", container.getResources().getRequests().get("nvidia.com/gpu").toString());
        assertEquals("true", pod.getNodeSelector().get("nvidia.com/gpu.present"));
        assertTrue(pod.getTolerations().stream().anyMatch(t -> "nvidia.com/gpu".equals(t.getKey())));
        Map<String, String> config = gpu.configMap("locus-worker").getData();
        assertEquals("gpt2-xl", config.get("LOCUS_MODEL_NAME"));
        assertEquals("paper-gpt2-xl", config.get("LOCUS_GRID_PROTOCOL"), "the published run on GPT-2 XL");
        // Every file the worker is told to read lies on a mounted volume.
        for (String key : List.of("LOCUS_MODEL_DIR", "LOCUS_EDITING_CORPUS")) {
            String path = config.get(key);
            assertNotNull(path, key);
            assertTrue(container.getVolumeMounts().stream().anyMatch(m -> path.startsWith(m.getMountPath() + "/")),
                    key + "=" + path + " is on no volume of the worker");
        }
        Volume models = pod.getVolumes().stream().filter(v -> v.getName().equals("models")).findFirst().orElseThrow();
        assertEquals("locus-models", models.getPersistentVolumeClaim().getClaimName());
        Volume statistics = pod.getVolumes().stream().filter(v -> v.getName().equals("key-statistics")).findFirst().orElseThrow();
        assertEquals("locus-key-statistics", statistics.getPersistentVolumeClaim().getClaimName());
        assertTrue(config.get("LOCUS_MODEL_NAME").length() > 0 && gpu.configMap("locus-common").getData().get("LOCUS_MODEL_KNOWN")
                .contains(config.get("LOCUS_MODEL_NAME")), "the worker's model is among the known models");
    }

    /** What must hold in every overlay: the parts refer to each other, and to the service, correctly. */
    private static void checkOverlay(Rendered r) {
        Map<String, String> common = r.configMap("locus-common").getData();
        Map<String, String> workerConfig = r.configMap("locus-worker").getData();
        Map<String, String> aggregatorConfig = r.configMap("locus-aggregator").getData();
        assertEquals("worker", workerConfig.get("LOCUS_ROLE"));
        assertEquals("aggregator", aggregatorConfig.get("LOCUS_ROLE"));
        assertEquals("false", common.get("LOCUS_TOPICS_CREATE"), "Strimzi owns the topics");
        // The launcher reads these two from the environment only (not from a config file): they must be variables.
        assertNotNull(common.get("KAFKA_BOOTSTRAP_SERVERS"));
        for (Map<String, String> data : List.of(common, workerConfig, aggregatorConfig)) {
            for (String key : data.keySet()) {
                Optional<String> problem = DeploymentFiles.unknownServiceVariable(key);
                assertTrue(problem.isEmpty(), r.overlay() + ": " + problem.orElse(""));
            }
        }

        // Topics: the service's default names; the stats topic compacted.
        Map<String, KafkaTopic> topics = new HashMap<>();
        r.<KafkaTopic>all("KafkaTopic").forEach(t -> topics.put(t.spec().topicName() != null ? t.spec().topicName() : t.metadata().getName(), t));
        assertEquals(Set.of("locus.facts", "locus.results", "locus.facts.dlq", "locus.stats", "locus.models"), topics.keySet());
        assertEquals("compact", topics.get("locus.stats").spec().config().get("cleanup.policy"));
        assertEquals("compact", topics.get("locus.models").spec().config().get("cleanup.policy"));
        assertEquals(1, topics.get("locus.models").spec().partitions(), "one order of announcements for every instance");
        for (KafkaTopic t : topics.values()) {
            assertNotNull(t.metadata().getLabels().get("strimzi.io/cluster"), t.metadata().getName() + " names its Kafka cluster");
        }

        // KEDA scales the worker Deployment on its own consumer group's lag on the facts topic, on the same brokers.
        ScaledObject scaled = r.get("ScaledObject", "locus-worker", ScaledObject.class);
        r.get("Deployment", scaled.spec().scaleTargetRef().name(), Deployment.class);
        assertEquals(1, scaled.spec().triggers().size());
        ScaledObject.Trigger trigger = scaled.spec().triggers().get(0);
        assertEquals("kafka", trigger.type());
        assertEquals("locus-worker-" + workerConfig.get("LOCUS_MODEL_NAME"), trigger.metadata().get("consumerGroup"),
                "the application's group.id is locus-worker-${locus.model.name}");
        assertEquals(common.get("KAFKA_BOOTSTRAP_SERVERS"), trigger.metadata().get("bootstrapServers"));
        assertEquals("locus.facts", trigger.metadata().get("topic"));
        assertEquals("earliest", trigger.metadata().get("offsetResetPolicy"), "as the worker's auto.offset.reset");
        assertTrue(scaled.spec().maxReplicaCount() <= topics.get("locus.facts").spec().partitions(),
                "no more workers than partitions of locus.facts");

        Set<String> configMaps = r.<ConfigMap>all("ConfigMap").stream().map(c -> c.getMetadata().getName()).collect(Collectors.toSet());
        Set<String> claims = r.<PersistentVolumeClaim>all("PersistentVolumeClaim").stream().map(c -> c.getMetadata().getName())
                .collect(Collectors.toSet());
        for (Deployment d : r.<Deployment>all("Deployment")) {
            String at = r.overlay() + " " + d.getMetadata().getName();
            var pod = d.getSpec().getTemplate().getSpec();
            Map<String, String> podLabels = d.getSpec().getTemplate().getMetadata().getLabels();
            assertTrue(podLabels.entrySet().containsAll(d.getSpec().getSelector().getMatchLabels().entrySet()), at + ": selector");
            assertTrue(pod.getSecurityContext().getRunAsNonRoot(), at + " runs as non-root");
            for (Container c : pod.getContainers()) {
                for (String resource : List.of("cpu", "memory")) {
                    assertNotNull(c.getResources().getRequests().get(resource), at + ": request " + resource);
                    assertNotNull(c.getResources().getLimits().get(resource), at + ": limit " + resource);
                }
                assertTrue(c.getPorts().stream().anyMatch(p -> "http".equals(p.getName()) && p.getContainerPort() == 8080), at + ": port http");
                for (Probe probe : List.of(c.getReadinessProbe(), c.getLivenessProbe())) {
                    assertNotNull(probe, at + ": probes");
                    assertEquals("http", probe.getHttpGet().getPort().getStrVal());
                }
                assertEquals("/q/health/ready", c.getReadinessProbe().getHttpGet().getPath());
                assertEquals("/q/health/live", c.getLivenessProbe().getHttpGet().getPath());
                for (EnvFromSource from : c.getEnvFrom()) {
                    if (from.getSecretRef() != null) {
                        assertTrue(from.getSecretRef().getOptional(), at + ": a Secret the user creates is optional");
                        continue;
                    }
                    assertTrue(configMaps.contains(from.getConfigMapRef().getName()), at + ": envFrom " + from.getConfigMapRef().getName());
                }
                Set<String> volumes = pod.getVolumes().stream().map(Volume::getName).collect(Collectors.toSet());
                for (VolumeMount m : c.getVolumeMounts()) {
                    assertTrue(volumes.contains(m.getName()), at + ": mount of " + m.getName());
                }
            }
            for (Volume v : pod.getVolumes()) {
                if (v.getPersistentVolumeClaim() != null) {
                    assertTrue(claims.contains(v.getPersistentVolumeClaim().getClaimName()), at + ": claim " + v.getPersistentVolumeClaim().getClaimName());
                }
            }
            // Prometheus finds every pod.
            PodMonitor monitor = r.get("PodMonitor", "locus", PodMonitor.class);
            assertTrue(podLabels.entrySet().containsAll(monitor.getSpec().getSelector().getMatchLabels().entrySet()), at + ": PodMonitor");
            assertEquals("/q/metrics", monitor.getSpec().getPodMetricsEndpoints().get(0).getPath());
            assertEquals("http", monitor.getSpec().getPodMetricsEndpoints().get(0).getPort());
        }
        // Workers are static group members named after their pod (a crashed container is back on its partitions at once).
        Container worker = r.get("Deployment", "locus-worker", Deployment.class).getSpec().getTemplate().getSpec().getContainers().get(0);
        assertEquals("metadata.name", worker.getEnv().stream().filter(e -> e.getName().equals("LOCUS_WORKER_INSTANCE_ID")).findFirst()
                .orElseThrow(() -> new AssertionError("the worker sets LOCUS_WORKER_INSTANCE_ID")).getValueFrom().getFieldRef().getFieldPath());
        assertTrue(DeploymentFiles.unknownServiceVariable("LOCUS_WORKER_INSTANCE_ID").isEmpty());
        Map<String, String> workerPod = r.get("Deployment", "locus-worker", Deployment.class).getSpec().getTemplate().getMetadata().getLabels();
        Map<String, String> aggregatorPod = r.get("Deployment", "locus-aggregator", Deployment.class).getSpec().getTemplate().getMetadata().getLabels();
        PodDisruptionBudget pdb = r.get("PodDisruptionBudget", "locus-worker", PodDisruptionBudget.class);
        assertTrue(workerPod.entrySet().containsAll(pdb.getSpec().getSelector().getMatchLabels().entrySet()), "the PDB covers the workers");
        assertFalse(aggregatorPod.entrySet().containsAll(pdb.getSpec().getSelector().getMatchLabels().entrySet()), "and only them");
        Service service = r.get("Service", "locus-aggregator", Service.class);
        assertTrue(aggregatorPod.entrySet().containsAll(service.getSpec().getSelector().entrySet()), "the Service selects the aggregator");
        assertFalse(workerPod.entrySet().containsAll(service.getSpec().getSelector().entrySet()), "and not the workers");

        // Grafana's sidecar gets exactly the dashboard file; the operator gets exactly the alert rules.
        ConfigMap dashboard = r.configMap("locus-grafana-dashboard");
        assertEquals("1", dashboard.getMetadata().getLabels().get("grafana_dashboard"));
        assertEquals(DeploymentFiles.read(DASHBOARD), dashboard.getData().get("locus-dashboard.json"));
        PrometheusRule rule = r.get("PrometheusRule", "locus", PrometheusRule.class);
        assertEquals(DeploymentFiles.ruleExpressions(DeploymentFiles.alertGroups()),
                DeploymentFiles.ruleExpressions(JSON.convertValue(rule.getSpec().getGroups(),
                        new com.fasterxml.jackson.core.type.TypeReference<List<Map<String, Object>>>() {})));
    }

    // --- alert rules, Prometheus configuration: promtool ---------------------------------------------

    @Test
    void alertRulesAreTheSameForComposeAndKubernetes() {
        assertEquals(DeploymentFiles.alertGroups(), DeploymentFiles.prometheusRuleGroups(),
                "docker/prometheus/alerts.yml and k8s/base/monitoring/prometheusrule.yaml must carry the same groups");
    }

    @Test
    void promtoolAcceptsConfigurationAndRulesAndTheRulesPassTheirTests() throws IOException {
        SharedFiles.prerequisite(Files.isExecutable(PROMTOOL), "promtool is not installed (apt-get install prometheus; .ci/run does)");
        List<String> lines = new ArrayList<>();
        DeploymentFiles.Run config = DeploymentFiles.run(ROOT, 60, PROMTOOL.toString(), "check", "config", ROOT.relativize(PROMETHEUS_CONFIG).toString());
        assertEquals(0, config.exitCode(), config.output());
        lines.add("promtool check config: " + config.output().strip().replace('\n', ' '));
        DeploymentFiles.Run rules = DeploymentFiles.run(ROOT, 60, PROMTOOL.toString(), "check", "rules", ROOT.relativize(ALERTS).toString());
        assertEquals(0, rules.exitCode(), rules.output());
        lines.add("promtool check rules: " + rules.output().strip().replace('\n', ' '));
        // The PrometheusRule's groups, as a rule file of their own.
        Path extracted = Files.createTempFile("locus-prometheusrule-", ".yml");
        try {
            Files.writeString(extracted, JSON.writeValueAsString(Map.of("groups", DeploymentFiles.prometheusRuleGroups())));
            DeploymentFiles.Run operator = DeploymentFiles.run(ROOT, 60, PROMTOOL.toString(), "check", "rules", extracted.toString());
            assertEquals(0, operator.exitCode(), operator.output());
            lines.add("promtool check rules (PrometheusRule): " + operator.output().strip().replace('\n', ' '));
        } finally {
            Files.deleteIfExists(extracted);
        }
        DeploymentFiles.Run tests = DeploymentFiles.run(ALERTS_TEST.getParent(), 60, PROMTOOL.toString(), "test", "rules",
                ALERTS_TEST.getFileName().toString());
        assertEquals(0, tests.exitCode(), tests.output());
        lines.add("promtool test rules: " + tests.output().strip().replace('\n', ' '));
        lines.forEach(System.out::println);
    }

    // --- compose ----------------------------------------------------------------------------------------

    @Test
    @SuppressWarnings("unchecked")
    void composeFileIsConsistent() {
        Map<String, Object> raw = new LinkedHashMap<>(DeploymentFiles.yamlMap(COMPOSE));
        raw.keySet().removeIf(k -> k.startsWith("x-"));
        Compose compose = STRICT.convertValue(raw, Compose.class);
        Map<String, Compose.Service> services = compose.services();
        assertTrue(services.keySet().containsAll(Set.of("kafka", "worker", "aggregator", "prometheus", "grafana")), services.keySet().toString());

        // The Locus services: roles, broker address, and only settings the service reads.
        assertEquals("worker", services.get("worker").environment().get("LOCUS_ROLE"));
        assertEquals("aggregator", services.get("aggregator").environment().get("LOCUS_ROLE"));
        for (String locus : List.of("worker", "aggregator")) {
            Compose.Service s = services.get(locus);
            assertEquals("docker/Dockerfile", s.build().dockerfile());
            assertTrue(Files.isRegularFile(DOCKER.resolve(s.build().context()).resolve(s.build().dockerfile())));
            String bootstrap = String.valueOf(s.environment().get("KAFKA_BOOTSTRAP_SERVERS"));
            assertTrue(services.containsKey(bootstrap.split(":")[0]), locus + ": " + bootstrap);
            for (String key : s.environment().keySet()) {
                Optional<String> problem = DeploymentFiles.unknownServiceVariable(key);
                assertTrue(problem.isEmpty(), "compose " + locus + ": " + problem.orElse(""));
            }
        }
        // Kafka runs in KRaft mode.
        Map<String, Object> kafkaEnv = services.get("kafka").environment();
        assertEquals("broker,controller", kafkaEnv.get("KAFKA_PROCESS_ROLES"));
        assertNotNull(kafkaEnv.get("KAFKA_CONTROLLER_QUORUM_VOTERS"));

        // Bind mounts exist; Prometheus scrapes services that exist, on the port they listen on.
        for (Compose.Service s : services.values()) {
            for (String volume : Optional.ofNullable(s.volumes()).orElse(List.of())) {
                String source = volume.split(":")[0];
                if (source.startsWith(".")) {
                    assertTrue(Files.exists(DOCKER.resolve(source).normalize()), "compose mounts " + source);
                }
            }
        }
        Map<String, Object> prometheus = DeploymentFiles.yamlMap(PROMETHEUS_CONFIG);
        Map<String, Integer> ports = Map.of("worker", 8080, "aggregator", 8080, "kafka-exporter", 9308);
        int targets = 0;
        for (Map<String, Object> job : (List<Map<String, Object>>) prometheus.get("scrape_configs")) {
            for (Map<String, Object> staticConfig : (List<Map<String, Object>>) job.get("static_configs")) {
                for (String target : (List<String>) staticConfig.get("targets")) {
                    String host = target.split(":")[0];
                    assertTrue(services.containsKey(host), "Prometheus scrapes " + target + ", which is no compose service");
                    assertEquals(ports.get(host), Integer.valueOf(target.split(":")[1]), target);
                    targets++;
                }
            }
            if (job.get("job_name").equals("locus")) {
                assertEquals("/q/metrics", job.get("metrics_path"));
            }
        }
        assertEquals(3, targets);
        // Grafana: the dashboard is mounted where the provisioned provider looks for it.
        Map<String, Object> provider = ((List<Map<String, Object>>) DeploymentFiles.yamlMap(
                DOCKER.resolve("grafana/provisioning/dashboards/locus.yaml")).get("providers")).get(0);
        String providerPath = String.valueOf(((Map<String, Object>) provider.get("options")).get("path"));
        assertTrue(services.get("grafana").volumes().stream().anyMatch(v -> v.startsWith("../k8s/base/monitoring/locus-dashboard.json:"
                + providerPath + "/")), "the dashboard is mounted under " + providerPath);
    }

    // --- Dockerfiles ------------------------------------------------------------------------------------

    @Test
    void dockerfilesBuildInStagesAndRunAsNonRootWithAHealthCheck() throws IOException {
        String pom = Files.readString(ROOT.resolve("pom.xml"));
        Matcher cudaVersion = Pattern.compile("<id>cuda</id>\\s*<properties>.*?<pytorch.version>([^<]+)</pytorch.version>", Pattern.DOTALL)
                .matcher(pom);
        assertTrue(cudaVersion.find(), "the cuda profile sets pytorch.version");
        for (String name : List.of("Dockerfile", "Dockerfile.cuda")) {
            String dockerfile = DeploymentFiles.read(DOCKER.resolve(name));
            assertTrue(dockerfile.contains("AS build"), name + ": a build stage");
            assertEquals(2, Pattern.compile("(?m)^FROM ").matcher(dockerfile).results().count(), name + ": build and runtime stages");
            assertTrue(Pattern.compile("(?m)^USER 10001").matcher(dockerfile).find(), name + ": non-root");
            assertTrue(dockerfile.contains("HEALTHCHECK") && dockerfile.contains("/q/health/live"), name + ": health check");
            assertTrue(dockerfile.contains("-jre-"), name + ": a JRE runtime");
            Matcher copy = Pattern.compile("(?m)^COPY (?!--from)(\\S+) ").matcher(dockerfile);
            while (copy.find()) {
                for (String source : copy.group(1).split(" ")) {
                    assertTrue(Files.exists(ROOT.resolve(source)), name + " copies " + source);
                }
            }
            assertTrue(Files.isRegularFile(DOCKER.resolve(name + ".dockerignore")), name + " has its own .dockerignore");
        }
        String cuda = DeploymentFiles.read(DOCKER.resolve("Dockerfile.cuda"));
        assertTrue(cuda.contains("-Pcuda package"), "the CUDA image builds with the cuda profile");
        assertTrue(cuda.contains("pytorch-native-cu124-" + cudaVersion.group(1) + "-linux-x86_64.jar"), "the natives the profile resolves");
        assertTrue(cuda.contains("PYTORCH_VERSION=" + cudaVersion.group(1)), "DJL is told the version it loads");
    }

    // --- the dashboard ----------------------------------------------------------------------------------

    @Test
    void dashboardIsWellFormed() {
        JsonNode dashboard = DeploymentFiles.dashboard();
        Set<String> variables = new TreeSet<>();
        dashboard.path("templating").path("list").forEach(v -> variables.add(v.path("name").asText()));
        assertTrue(variables.containsAll(Set.of("datasource", "model", "method", "problem")), variables.toString());
        Set<Integer> ids = new TreeSet<>();
        List<JsonNode> panels = new ArrayList<>();
        dashboard.path("panels").forEach(panels::add);
        for (JsonNode panel : panels) {
            assertTrue(ids.add(panel.path("id").asInt()), "unique panel id " + panel.path("id"));
            JsonNode grid = panel.path("gridPos");
            assertTrue(grid.path("x").asInt() + grid.path("w").asInt() <= 24, panel.path("title").asText());
            if (panel.path("type").asText().equals("row")) {
                continue;
            }
            assertEquals("${datasource}", panel.path("datasource").path("uid").asText(), panel.path("title").asText());
            assertTrue(panel.path("targets").size() > 0, panel.path("title").asText());
        }
        Pattern variable = Pattern.compile("\\$\\{?([a-zA-Z_]\\w*)");
        List<String> texts = new ArrayList<>(DeploymentFiles.dashboardQueries(dashboard).values());
        panels.forEach(p -> texts.add(p.path("title").asText()));
        for (String text : texts) {
            Matcher m = variable.matcher(text);
            while (m.find()) {
                assertTrue(m.group(1).startsWith("__") || variables.contains(m.group(1)), "unknown variable $" + m.group(1) + " in " + text);
            }
        }
        // What the issue asks the dashboard to show.
        String queries = String.join("\n", DeploymentFiles.dashboardQueries(dashboard).values());
        for (String needed : List.of("locus_facts_received_total", "locus_facts_rejected_total", "kafka_consumergroup_lag",
                "locus_trace_duration_seconds_bucket", "locus_edit_duration_seconds_bucket", "locus_layer_mean_score",
                "locus_layer_mean_tracing", "locus_correlation", "locus_r2", "by (stage, reason)")) {
            assertTrue(queries.contains(needed), "the dashboard shows " + needed);
        }
    }

    // --- the PromQL metric-name reader itself ------------------------------------------------------------

    @Test
    void promqlMetricNamesAreReadCorrectly() {
        assertEquals(Set.of("locus_edit_duration_seconds_bucket"), DeploymentFiles.metricNames(
                "histogram_quantile(0.9, sum by (le, method) (rate(locus_edit_duration_seconds_bucket{model=~\"$model\", method=~\"$method\"}[$__rate_interval])))"));
        assertEquals(Set.of("a_total", "b_lag"), DeploymentFiles.metricNames(
                "label_replace(sum by (consumergroup) (b_lag{topic=\"x.y\"}) > 0 unless on (consumergroup) "
                        + "sum without (pod) (increase(a_total[15m] offset 5m)) > bool 1e3, \"model\", \"$1\", \"consumergroup\", \"(.+)\")"));
        assertEquals(Set.of("x", "y"), DeploymentFiles.metricNames("x / on (instance) group_left (model) y"));
        assertEquals(Set.of("q"), DeploymentFiles.metricNames("delta(sum(q)[15m:1m]) >= 0"));
        org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class, () -> DeploymentFiles.metricNames("{__name__=~\"locus_.*\"}"));
    }

    @Test
    void configurationKeysAreReadFromTheServicesConfigMapping() {
        Set<String> properties = DeploymentFiles.locusProperties();
        assertTrue(properties.containsAll(Set.of("locus.role", "locus.model.name", "locus.topics.dead-letters",
                "locus.demo.publish-testbed-facts", "locus.tracing.windows.*", "locus.editing.cache")), properties.toString());
        assertTrue(DeploymentFiles.unknownServiceVariable("LOCUS_GRID_LAYERS").isEmpty());
        assertTrue(DeploymentFiles.unknownServiceVariable("LOCUS_TRACING_WINDOWS_MLP").isEmpty());
        assertTrue(DeploymentFiles.unknownServiceVariable("LOCUS_GRID_LAYER").isPresent());
    }
}
