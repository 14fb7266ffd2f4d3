package dev.locus.deploy;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.locus.config.LocusConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * Shared helpers of the deployment checks: the files under docker/ and k8s/, YAML (with anchors and
 * merge keys, as compose files use them), the Grafana dashboard's and the alert rules' PromQL, the
 * metric names a PromQL expression refers to, the service's configuration keys, and external tools
 * (kubectl kustomize, promtool) where they are installed.
 */
final class DeploymentFiles {
    static final Path ROOT = Path.of("").toAbsolutePath();
    static final Path DOCKER = ROOT.resolve("docker");
    static final Path K8S = ROOT.resolve("k8s");
    static final Path DASHBOARD = K8S.resolve("base/monitoring/locus-dashboard.json");
    static final Path ALERTS = DOCKER.resolve("prometheus/alerts.yml");
    static final Path ALERTS_TEST = DOCKER.resolve("prometheus/alerts-test.yml");
    static final Path PROMETHEUS_CONFIG = DOCKER.resolve("prometheus/prometheus.yml");
    static final Path PROMETHEUS_RULE = K8S.resolve("base/monitoring/prometheusrule.yaml");
    static final Path COMPOSE = DOCKER.resolve("compose.yaml");
    static final Path PROMTOOL = Path.of("/usr/bin/promtool");
    static final Path PROMETHEUS = Path.of("/usr/bin/prometheus");

    /** Strict JSON: records of our own fail on fields they do not know. */
    static final ObjectMapper STRICT = JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();
    static final ObjectMapper JSON = new ObjectMapper();

    private DeploymentFiles() {}

    /** Every file under docker/ and k8s/ whose name ends with one of {@code extensions}. */
    static List<Path> files(String... extensions) {
        List<Path> out = new ArrayList<>();
        for (Path dir : List.of(DOCKER, K8S)) {
            try (Stream<Path> walk = Files.walk(dir)) {
                walk.filter(Files::isRegularFile)
                        .filter(p -> Stream.of(extensions).anyMatch(e -> p.getFileName().toString().endsWith(e)))
                        .sorted().forEach(out::add);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out;
    }

    static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** All documents of a YAML stream, as plain maps and lists (anchors, aliases and merge keys resolved). */
    static List<Object> yamlDocuments(String text) {
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        Yaml yaml = new Yaml(new SafeConstructor(options));
        List<Object> docs = new ArrayList<>();
        for (Object doc : yaml.loadAll(text)) {
            if (doc != null) {
                docs.add(doc);
            }
        }
        return docs;
    }

    static List<Object> yamlDocuments(Path file) {
        return yamlDocuments(read(file));
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> yamlMap(Path file) {
        List<Object> docs = yamlDocuments(file);
        if (docs.size() != 1 || !(docs.get(0) instanceof Map)) {
            throw new AssertionError(file + ": expected one YAML mapping");
        }
        return (Map<String, Object>) docs.get(0);
    }

    static JsonNode dashboard() {
        try {
            return JSON.readTree(DASHBOARD.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every PromQL expression of the dashboard's panels (rows included), keyed "panel title / refId". */
    static Map<String, String> dashboardQueries(JsonNode dashboard) {
        Map<String, String> out = new LinkedHashMap<>();
        collectPanelQueries(dashboard.path("panels"), out);
        return out;
    }

    private static void collectPanelQueries(JsonNode panels, Map<String, String> out) {
        for (JsonNode panel : panels) {
            for (JsonNode target : panel.path("targets")) {
                out.put(panel.path("title").asText() + " / " + target.path("refId").asText(), target.path("expr").asText());
            }
            collectPanelQueries(panel.path("panels"), out);
        }
    }

    /** A query variable of the dashboard: label_values(query, label). */
    record VariableQuery(String name, String query, String label) {}

    static List<VariableQuery> dashboardVariables(JsonNode dashboard) {
        List<VariableQuery> out = new ArrayList<>();
        Pattern labelValues = Pattern.compile("^\\s*label_values\\((.*),\\s*([a-zA-Z_][a-zA-Z0-9_]*)\\s*\\)\\s*$", Pattern.DOTALL);
        for (JsonNode variable : dashboard.path("templating").path("list")) {
            if (!variable.path("type").asText().equals("query")) {
                continue;
            }
            String definition = variable.path("query").isObject() ? variable.path("query").path("query").asText()
                    : variable.path("query").asText();
            Matcher m = labelValues.matcher(definition);
            if (!m.matches()) {
                throw new AssertionError("variable " + variable.path("name").asText() + ": expected label_values(query, label), got "
                        + definition);
            }
            out.add(new VariableQuery(variable.path("name").asText(), m.group(1), m.group(2)));
        }
        return out;
    }

    /** The PromQL inside the dashboard's query variables, keyed "variable NAME". */
    static Map<String, String> dashboardVariableQueries(JsonNode dashboard) {
        Map<String, String> out = new LinkedHashMap<>();
        dashboardVariables(dashboard).forEach(v -> out.put("variable " + v.name(), v.query()));
        return out;
    }

    /** Every alert and recording rule expression of a rule file's groups, keyed by rule name. */
    @SuppressWarnings("unchecked")
    static Map<String, String> ruleExpressions(List<Map<String, Object>> groups) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Map<String, Object> group : groups) {
            for (Map<String, Object> rule : (List<Map<String, Object>>) group.get("rules")) {
                String name = (String) (rule.containsKey("alert") ? rule.get("alert") : rule.get("record"));
                out.put(name, (String) rule.get("expr"));
            }
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> alertGroups() {
        return (List<Map<String, Object>>) yamlMap(ALERTS).get("groups");
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> prometheusRuleGroups() {
        Map<String, Object> spec = (Map<String, Object>) yamlMap(PROMETHEUS_RULE).get("spec");
        return (List<Map<String, Object>>) spec.get("groups");
    }

    /** Grafana's variables replaced by values a real Prometheus accepts. */
    static String substituteGrafanaVariables(String expr, Map<String, String> values) {
        String out = expr.replace("$__rate_interval", "1m").replace("$__interval", "15s").replace("$__range", "1h");
        for (Map.Entry<String, String> e : values.entrySet()) {
            out = out.replace("${" + e.getKey() + "}", e.getValue()).replace("$" + e.getKey(), e.getValue());
        }
        return out;
    }

    private static final Set<String> PROMQL_WORDS = Set.of("and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "bool", "offset", "inf", "nan", "atan2", "start", "end");

    /**
     * The metric names a PromQL expression selects: identifiers that are neither functions (followed by
     * "("), keywords, label names (in matchers and in by/without/on/ignoring/group_x clauses), durations
     * nor strings. Grafana variables are replaced first. Selecting by {__name__=...} is refused, so that
     * every name stays checkable.
     */
    static Set<String> metricNames(String expr) {
        if (expr.contains("__name__")) {
            throw new AssertionError("select metrics by name, not by __name__ matchers, so that they can be checked: " + expr);
        }
        String s = expr.replaceAll("\\$__\\w+", "1m").replaceAll("\\$\\{\\w+}", "v").replaceAll("\\$\\w+", "v");
        s = s.replaceAll("\"(?:[^\"\\\\]|\\\\.)*\"", "\"\"").replaceAll("'(?:[^'\\\\]|\\\\.)*'", "''").replaceAll("`[^`]*`", "``");
        s = s.replaceAll("#[^\n]*", " ");
        s = s.replaceAll("\\{[^}]*}", " ").replaceAll("\\[[^\\]]*]", " ");
        s = s.replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ");
        Set<String> names = new TreeSet<>();
        Matcher m = Pattern.compile("(?<![\\w.:])[a-zA-Z_:][a-zA-Z0-9_:]*").matcher(s);
        while (m.find()) {
            String word = m.group();
            int next = m.end();
            while (next < s.length() && Character.isWhitespace(s.charAt(next))) {
                next++;
            }
            boolean function = next < s.length() && s.charAt(next) == '(';
            if (!function && !PROMQL_WORDS.contains(word.toLowerCase(Locale.ROOT))) {
                names.add(word);
            }
        }
        return names;
    }

    /** Sample names in a Prometheus text exposition (the names PromQL selects: _total, _bucket, ... included). */
    static Set<String> exposedSampleNames(String exposition) {
        Set<String> names = new TreeSet<>();
        for (String line : exposition.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int end = 0;
            while (end < line.length() && line.charAt(end) != '{' && line.charAt(end) != ' ') {
                end++;
            }
            names.add(line.substring(0, end));
        }
        return names;
    }

    /**
     * Every configuration property of the service under {@code locus.*}, from {@link LocusConfig}:
     * kebab-case names as SmallRye's config mapping derives them; a map is "prefix.*".
     */
    static Set<String> locusProperties() {
        Set<String> out = new TreeSet<>();
        collectProperties(LocusConfig.class, "locus", out);
        return out;
    }

    private static void collectProperties(Class<?> mapping, String prefix, Set<String> out) {
        for (Method method : mapping.getDeclaredMethods()) {
            if (method.getParameterCount() != 0 || method.isDefault() || java.lang.reflect.Modifier.isStatic(method.getModifiers())) {
                continue;
            }
            String name = prefix + "." + kebab(method.getName());
            Class<?> type = method.getReturnType();
            if (type.isInterface() && type.getEnclosingClass() == LocusConfig.class) {
                collectProperties(type, name, out);
            } else if (Map.class.isAssignableFrom(type)) {
                out.add(name + ".*");
            } else {
                out.add(name);
            }
        }
    }

    private static String kebab(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
    }

    /** The environment-variable form SmallRye reads a property from: upper case, every other character "_". */
    static String environmentName(String property) {
        return property.replaceAll("[^a-zA-Z0-9]", "_").toUpperCase(Locale.ROOT);
    }

    /**
     * Why an environment variable given to a Locus container is not one the service reads, or empty:
     * LOCUS_* must be a {@link LocusConfig} property; KAFKA_* pass through to every Kafka client
     * (kafka.* keys); a few more are read by the image or the JVM.
     */
    static Optional<String> unknownServiceVariable(String variable) {
        Set<String> known = new LinkedHashSet<>();
        List<String> mapPrefixes = new ArrayList<>();
        for (String property : locusProperties()) {
            if (property.endsWith(".*")) {
                mapPrefixes.add(environmentName(property.substring(0, property.length() - 2)) + "_");
            } else {
                known.add(environmentName(property));
            }
        }
        if (variable.startsWith("LOCUS_")) {
            return known.contains(variable) || mapPrefixes.stream().anyMatch(variable::startsWith) ? Optional.empty()
                    : Optional.of(variable + " is no locus.* property (LocusConfig)");
        }
        if (variable.startsWith("KAFKA_") || variable.startsWith("QUARKUS_") || variable.startsWith("MP_MESSAGING_")
                || Set.of("JAVA_OPTS", "DJL_CACHE_DIR").contains(variable)) {
            return Optional.empty();
        }
        return Optional.of(variable + " is read by nothing in the service");
    }

    /** Runs a command with a time limit and returns its exit code and output (stdout and stderr together). */
    record Run(int exitCode, String output) {}

    static Run run(Path workingDirectory, long timeoutSeconds, String... command) {
        try {
            Path log = Files.createTempFile("locus-deploy-", ".log");
            Process process = new ProcessBuilder(command).directory(workingDirectory.toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError(String.join(" ", command) + " did not finish within " + timeoutSeconds + " s");
            }
            String output = Files.readString(log);
            Files.deleteIfExists(log);
            return new Run(process.exitValue(), output);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** kubectl with its built-in kustomize, or empty where it is not installed. */
    static Optional<Path> kubectl() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            Path candidate = Path.of(dir, "kubectl");
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }
}
