package dev.locus.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.SharedFiles;
import dev.locus.app.EmbeddedKafkaResource;
import dev.locus.app.KafkaTestSupport;
import dev.locus.facts.FactIntake;
import dev.locus.testbed.Testbed;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The monitoring against the real service (the @QuarkusTest application on the in-process broker):
 * every metric name in the dashboard's and the alert rules' PromQL is one that /q/metrics really
 * exports, or is listed below as external with the reason, or is a version comparison's ({@code locus_version_*},
 * exported only while two versions are compared: VersionEvaluationTest checks those against its service); then a real Prometheus (Debian's package)
 * scrapes the service on loopback, loads the alert rules, and answers an R² query and every dashboard
 * query.
 */
@QuarkusTest
@Tag("service")
@QuarkusTestResource(EmbeddedKafkaResource.class)
class MonitoringAgainstServiceTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** Metrics that the dashboard or the alerts use and that another exporter provides, with the reason. */
    static final Map<String, String> EXTERNAL = Map.of(
            "kafka_consumergroup_lag",
            "consumer-group lag computed from the brokers' committed offsets, by a Kafka exporter (Strimzi's Kafka Exporter; "
                    + "kafka-exporter in docker/compose.yaml). The service's own kafka_consumer_fetch_manager_records_lag is the lag of "
                    + "the consumer's fetch position, which runs ahead of the facts processed (the client prefetches) and disappears "
                    + "with the worker, so it can show neither a backlog nor a stuck or scaled-to-zero group.");

    /** Grafana variables as the test fills them in: the testbed and the test profile's grid (its version and grid id come from the service). */
    private static final Map<String, String> VARIABLES = Map.of("model", "testbed", "method", "rome", "problem", "error_injection",
            "metric", "rewrite", "datasource", "prometheus");

    @TestHTTPResource("/")
    URI base;

    @Test
    void dashboardAndAlertsUseOnlyExportedMetricsAndARealPrometheusScrapesTheService() throws Exception {
        // Analysis data: one testbed fact no other test uses, and one unreadable message for a dead letter.
        HttpResponse<String> accepted = HTTP.send(HttpRequest.newBuilder(base.resolve("api/facts"))
                .header("Content-Type", "application/x-ndjson").header("X-API-Key", "test-key")
                .POST(HttpRequest.BodyPublishers.ofString(FactIntake.json(Testbed.GPT2.facts().get(80)))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(202, accepted.statusCode(), accepted.body());
        KafkaTestSupport.send("locus.facts", "deploy-monitoring-not-json", "not json".getBytes(StandardCharsets.UTF_8));
        // Micrometer's Kafka binder looks for new client metrics once a minute, so the per-partition lag of the
        // worker's consumer can appear up to a minute after its partitions were assigned: wait for it too.
        String exposition = awaitMetrics(m -> m.contains("locus_r2{") && m.contains("locus_facts_completed_total{")
                && m.contains("locus_facts_rejected_total{") && m.contains("locus_edit_duration_seconds_bucket{")
                && m.contains("kafka_consumer_fetch_manager_records_lag{"), Duration.ofMinutes(10));
        Set<String> exported = DeploymentFiles.exposedSampleNames(exposition);

        // Every name in every expression: exported by the service, or external with a reason.
        JsonNode dashboard = DeploymentFiles.dashboard();
        Map<String, String> expressions = new LinkedHashMap<>();
        DeploymentFiles.dashboardQueries(dashboard).forEach((k, v) -> expressions.put("dashboard: " + k, v));
        DeploymentFiles.dashboardVariableQueries(dashboard).forEach((k, v) -> expressions.put("dashboard " + k, v));
        DeploymentFiles.ruleExpressions(DeploymentFiles.alertGroups()).forEach((k, v) -> expressions.put("alert " + k, v));
        DeploymentFiles.ruleExpressions(DeploymentFiles.prometheusRuleGroups()).forEach((k, v) -> expressions.put("PrometheusRule " + k, v));
        Map<String, Set<String>> unknown = new TreeMap<>();
        Set<String> used = new TreeSet<>();
        expressions.forEach((where, expr) -> {
            for (String name : DeploymentFiles.metricNames(expr)) {
                used.add(name);
                if (!exported.contains(name) && !EXTERNAL.containsKey(name) && !name.startsWith(MonitoringMetrics.VERSION_COMPARISON_PREFIX)) {
                    unknown.computeIfAbsent(name, n -> new TreeSet<>()).add(where);
                }
            }
        });
        assertTrue(unknown.isEmpty(), "metrics the service does not export: " + unknown);
        for (String external : EXTERNAL.keySet()) {
            assertTrue(used.contains(external), external + " is listed as external but nothing uses it");
            assertFalse(exported.contains(external), external + " is exported by the service itself: it is not external");
        }
        // What the service really offers for lag: its consumer's fetch-position lag (see EXTERNAL).
        assertTrue(exported.contains("kafka_consumer_fetch_manager_records_lag"), "the Kafka client metrics are exported");
        System.out.printf("monitoring: %d expressions use %d metric names, all exported by the service except %s; lag metrics "
                        + "the service exports: %s%n", expressions.size(), used.size(), EXTERNAL.keySet(),
                exported.stream().filter(n -> n.contains("records_lag")).toList());

        // A real Prometheus scrapes the running service.
        SharedFiles.prerequisite(Files.isExecutable(DeploymentFiles.PROMETHEUS),
                "prometheus is not installed (apt-get install prometheus; .ci/run does): the scrape is not checked");
        Path dir = Files.createTempDirectory("locus-prometheus-");
        Process prometheus = null;
        try {
            Files.copy(DeploymentFiles.ALERTS, dir.resolve("alerts.yml"));
            Files.writeString(dir.resolve("prometheus.yml"), """
                    global:
                      scrape_interval: 1s
                      evaluation_interval: 1s
                    rule_files: [alerts.yml]
                    scrape_configs:
                      - job_name: locus
                        metrics_path: /q/metrics
                        static_configs:
                          - targets: ["127.0.0.1:%d"]
                    """.formatted(base.getPort()));
            int port = freePort();
            prometheus = new ProcessBuilder(DeploymentFiles.PROMETHEUS.toString(), "--config.file=" + dir.resolve("prometheus.yml"),
                    "--storage.tsdb.path=" + dir.resolve("data"), "--web.listen-address=127.0.0.1:" + port, "--log.level=warn")
                    .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
            URI api = URI.create("http://127.0.0.1:" + port + "/");
            await("Prometheus ready", Duration.ofSeconds(60), () -> get(api.resolve("-/ready")).statusCode() == 200);

            JsonNode r2 = await("an R² value scraped", Duration.ofSeconds(60), () -> {
                JsonNode result = query(api, "locus_r2{model=\"testbed\", method=\"rome\", metric=\"rewrite\", predictors=\"both\"}");
                return result.size() > 0 ? result : null;
            });
            double value = Double.parseDouble(r2.get(0).path("value").get(1).asText());
            Map<String, String> variables = new java.util.HashMap<>(VARIABLES);
            variables.put("version", r2.get(0).path("metric").path("version").asText());
            variables.put("grid", r2.get(0).path("metric").path("grid").asText());
            assertFalse(Double.isInfinite(value));
            assertTrue(Double.isNaN(value) || (value >= -1e-9 && value <= 1 + 1e-9), "R² " + value);
            System.out.printf("monitoring: Prometheus %s scraped 127.0.0.1:%d; locus_r2{predictors=\"both\",metric=\"rewrite\"} = %s%n",
                    version(api), base.getPort(), value);

            // Enough samples for rate() over [1m], then every dashboard query.
            await("three scrapes", Duration.ofSeconds(60), () -> {
                JsonNode up = query(api, "count_over_time(up{job=\"locus\"}[1m])");
                return up.size() > 0 && up.get(0).path("value").get(1).asDouble() >= 3 ? up : null;
            });
            List<String> empty = new ArrayList<>();
            for (Map.Entry<String, String> e : DeploymentFiles.dashboardQueries(dashboard).entrySet()) {
                String expr = DeploymentFiles.substituteGrafanaVariables(e.getValue(), variables);
                JsonNode result = query(api, expr); // fails on a parse or evaluation error
                boolean external = DeploymentFiles.metricNames(e.getValue()).stream()
                        .anyMatch(n -> EXTERNAL.containsKey(n) || n.startsWith(MonitoringMetrics.VERSION_COMPARISON_PREFIX));
                if (result.isEmpty() && !external) {
                    empty.add(e.getKey() + ": " + expr);
                }
            }
            assertTrue(empty.isEmpty(), "dashboard queries without data from the running service: " + empty);
            // Every query variable offers the values the test used.
            for (DeploymentFiles.VariableQuery v : DeploymentFiles.dashboardVariables(dashboard)) {
                String match = DeploymentFiles.substituteGrafanaVariables(v.query(), variables);
                JsonNode values = getJson(api.resolve("api/v1/label/" + v.label() + "/values?match[]=" + encode(match))).path("data");
                List<String> offered = new ArrayList<>();
                values.forEach(x -> offered.add(x.asText()));
                assertTrue(offered.contains(variables.get(v.name())), "variable " + v.name() + " offers " + offered);
            }
            // The alert rules load and evaluate without errors against the real series.
            JsonNode rules = await("the alert rules evaluated", Duration.ofSeconds(60), () -> {
                JsonNode groups = getJson(api.resolve("api/v1/rules")).path("data").path("groups");
                List<JsonNode> all = new ArrayList<>();
                groups.forEach(g -> g.path("rules").forEach(all::add));
                boolean evaluated = !all.isEmpty() && all.stream().allMatch(r -> !r.path("lastEvaluation").asText().startsWith("0001"));
                return evaluated ? groups : null;
            });
            List<String> unhealthy = new ArrayList<>();
            Set<String> names = new TreeSet<>();
            rules.forEach(g -> g.path("rules").forEach(r -> {
                names.add(r.path("name").asText());
                if (!r.path("health").asText().equals("ok")) {
                    unhealthy.add(r.path("name").asText() + ": " + r.path("lastError").asText());
                }
            }));
            assertEquals(DeploymentFiles.ruleExpressions(DeploymentFiles.alertGroups()).keySet(), names);
            assertTrue(unhealthy.isEmpty(), unhealthy.toString());
            System.out.printf("monitoring: %d dashboard queries answered, %d alert rules evaluated healthy%n",
                    DeploymentFiles.dashboardQueries(dashboard).size(), names.size());
        } finally {
            if (prometheus != null) {
                prometheus.destroy();
                if (!prometheus.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
                    prometheus.destroyForcibly();
                }
            }
            try (var walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private String awaitMetrics(Predicate<String> done, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        String metrics = "";
        while (System.nanoTime() < deadline) {
            metrics = get(base.resolve("q/metrics")).body();
            if (done.test(metrics)) {
                return metrics;
            }
            Thread.sleep(1000);
        }
        throw new AssertionError("the service did not export the analysis metrics within " + timeout + ": "
                + DeploymentFiles.exposedSampleNames(metrics).stream().filter(n -> n.startsWith("locus_")).collect(Collectors.toList()));
    }

    private static JsonNode query(URI api, String promql) throws IOException, InterruptedException {
        JsonNode answer = getJson(api.resolve("api/v1/query?query=" + encode(promql)));
        assertEquals("success", answer.path("status").asText(), promql + ": " + answer);
        return answer.path("data").path("result");
    }

    private static String version(URI api) {
        try {
            return getJson(api.resolve("api/v1/status/buildinfo")).path("data").path("version").asText();
        } catch (Exception e) {
            return "?";
        }
    }

    private static JsonNode getJson(URI uri) throws IOException, InterruptedException {
        return JSON.readTree(get(uri).body());
    }

    private static HttpResponse<String> get(URI uri) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    interface Probe<T> {
        T get() throws Exception;
    }

    /** Polls until the probe gives a non-null, non-false answer. */
    @SuppressWarnings("unchecked")
    private static <T> T await(String what, Duration timeout, Probe<T> probe) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        while (System.nanoTime() < deadline) {
            try {
                T value = probe.get();
                if (value != null && !Boolean.FALSE.equals(value)) {
                    return value;
                }
            } catch (IOException e) {
                last = e; // not up yet
            }
            Thread.sleep(500);
        }
        throw new AssertionError("timed out waiting for " + what, last);
    }
}
