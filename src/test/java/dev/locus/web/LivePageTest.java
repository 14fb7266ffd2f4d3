package dev.locus.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.app.EmbeddedKafkaResource;
import dev.locus.facts.Fact;
import dev.locus.facts.FactIntake;
import dev.locus.testbed.Testbed;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The live page in a real browser: headless Chromium, driven over W3C WebDriver (chromedriver, plain HTTP, no
 * Selenium), against the running service on the in-process broker. Facts go in over HTTP; once their results are
 * aggregated the page must draw them (the per-layer curves at the grid's layers, ordered as the means are, the
 * scatter with one dot per observation, the R² table equal to /api/stats to the printed precision), then grow by
 * itself when another fact's results arrive, without a reload, over server-sent events; and draw the same when
 * told to poll instead.
 */
@QuarkusTest
@Tag("service")
@QuarkusTestResource(EmbeddedKafkaResource.class)
class LivePageTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private static final String GROUP = "#model=testbed&method=rome&problem=error_injection&metric=rewrite";
    /** Every metric the aggregator analyses: the essence ones are there, as the service measures them by default. */
    private static final List<String> METRICS = dev.locus.stream.StatsState.METRICS;

    @TestHTTPResource("/")
    URI base;

    @Test
    void pageDrawsTheServiceFiguresAndUpdatesWithoutReload() throws Exception {
        Browser.require();
        JsonNode before = stats();
        long baseline = rewriteObservations(before);
        double completed = before.get("progress").get("completed").asDouble();

        // Two facts to trace and edit, and one ROME known fact (known_1000's form) to trace only.
        Fact knownFact = Testbed.GPT2.facts().get(43);
        String known = JSON.createObjectNode().put("known_id", 800_043).put("subject", knownFact.subject())
                .put("attribute", knownFact.targetTrue()).put("prompt", knownFact.prompt()).toString();
        String facts = Stream.concat(Stream.of(40, 41).map(i -> FactIntake.json(Testbed.GPT2.facts().get(i))), Stream.of(known))
                .collect(Collectors.joining("\n"));
        HttpResponse<String> accepted = postFacts(facts);
        assertEquals(202, accepted.statusCode(), accepted.body());
        JsonNode settled = awaitSettled(s -> s.get("progress").get("completed").asDouble() >= completed + 3
                && rewriteObservations(s) > baseline && traceOnly(s) != null, Duration.ofSeconds(600),
                "the facts done and their results aggregated");

        try (Browser browser = Browser.start()) {
            browser.open(base.resolve("/" + GROUP).toString());
            browser.await("return +document.querySelector('[data-chart=layers]').dataset.points >= 3"
                    + " && +document.querySelector('[data-chart=scatter]').dataset.points > 0", Duration.ofSeconds(60),
                    "the page to draw the curves and the scatter");
            String dom = browser.source();
            Files.writeString(Path.of("target", "live-page-dom.html"), dom);
            JsonNode now = stats();
            assertEquals(settled.get("groups"), now.get("groups"), "the figures did not move while the page was read");
            checkDrawnFigures(dom, now, sample());
            checkTraceOnly(browser, traceOnly(now));
            assertEquals("sse", browser.script("return document.getElementById('transport').dataset.transport").asText(),
                    "the page listens to /api/stats/stream");

            // Live: another fact's results must reach the open page by themselves.
            String shownBefore = browser.script("window.__sameDocument = 'no reload';"
                    + " return document.querySelector('td[data-metric=rewrite][data-stat=observations]').textContent").asText();
            assertEquals(rewriteObservations(now), Long.parseLong(shownBefore.replace(",", "")));
            assertEquals(202, postFacts(FactIntake.json(Testbed.GPT2.facts().get(42))).statusCode());
            browser.await("return +document.querySelector('td[data-metric=rewrite][data-stat=observations]').textContent.replace(/,/g, '') > "
                    + rewriteObservations(now), Duration.ofSeconds(600), "the observation count on the open page to grow");
            assertEquals("no reload", browser.script("return window.__sameDocument").asText(), "updated in place, not reloaded");
            JsonNode later = awaitSettled(s -> rewriteObservations(s) > rewriteObservations(now), Duration.ofSeconds(300), "the third fact");
            browser.await("return document.querySelector('td[data-metric=rewrite][data-stat=observations]').textContent.replace(/,/g, '') === '"
                    + rewriteObservations(later) + "'", Duration.ofSeconds(30), "the page to show the service's latest count");
            assertEquals("no reload", browser.script("return window.__sameDocument").asText());

            // The fallback: the same figures when polling /api/stats instead of listening to events.
            browser.open(base.resolve("/?transport=poll" + GROUP).toString());
            browser.await("return document.getElementById('transport').dataset.transport === 'polling'"
                    + " && +document.querySelector('[data-chart=scatter]').dataset.points > 0", Duration.ofSeconds(30),
                    "the polling page to draw");
            checkDrawnFigures(browser.source(), stats(), sample());
        }
    }

    /** The model group's trace-only average, once it has a fact traced; else null. */
    private static JsonNode traceOnly(JsonNode stats) {
        for (JsonNode g : stats.get("groups")) {
            if (g.get("model").asText().equals("testbed") && g.get("method").asText().equals("*") && g.path("trace_only").path("facts").asLong() > 0) {
                return g.get("trace_only");
            }
        }
        return null;
    }

    /** The trace-only card: its count and every kind's grid of token groups × layers, cell by cell as the service has them. */
    private static void checkTraceOnly(Browser browser, JsonNode average) throws Exception {
        String caption = browser.script("return document.getElementById('trace-only-caption').textContent").asText();
        assertTrue(caption.contains(average.get("facts").asLong() + " facts traced"), caption);
        for (String kind : List.of("hidden", "mlp", "attn")) {
            JsonNode cells = browser.script("return Array.from(document.querySelectorAll('#trace-only table[data-kind=" + kind
                    + "] tbody tr')).map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent))");
            JsonNode rows = average.get("effect").get(kind);
            assertEquals(6, cells.size(), kind);
            for (int g = 0; g < 6; g++) {
                for (int l = 0; l < average.get("layers").asInt(); l++) {
                    String expected = rows.get(g).isNull() ? "—" : String.format(java.util.Locale.ROOT, "%.2f", rows.get(g).get(l).asDouble())
                            .replace("-0.00", "0.00").replace("-", "\u2212");
                    assertEquals(expected, cells.get(g).get(l).asText(), kind + ", group " + g + ", layer " + l);
                }
            }
        }
    }

    /** The drawn page against the service's own figures. */
    private static void checkDrawnFigures(String dom, JsonNode stats, JsonNode sample) {
        JsonNode group = rome(stats);
        JsonNode rewrite = group.get("analysis").get("rewrite");
        List<JsonNode> observed = new ArrayList<>();
        rewrite.get("layers").forEach(l -> {
            if (l.get("observations").asLong() > 0) {
                observed.add(l);
            }
        });
        Set<Integer> layers = observed.stream().map(l -> l.get("layer").asInt()).collect(Collectors.toCollection(TreeSet::new));
        assertEquals(Set.of(0, 4, 8), layers, "the test grid's layers have observations");

        // The curves: one point per observed layer for each series, placed as the means are ordered.
        String chart = element(dom, "svg", "data-chart", "layers");
        assertEquals(Integer.toString(observed.size()), attributes(chart).get("data-points"), chart);
        for (String series : List.of("score", "tracing")) {
            String g = element(chart, "g", "data-series", series);
            assertEquals(1, count(g, "<path\\b[^>]*\\bd=\"M[^\"]+\""), "one line for " + series);
            Map<Integer, Double> cy = new HashMap<>();
            for (Map<String, String> circle : tags(g, "circle")) {
                cy.put(Integer.parseInt(circle.get("data-layer")), Double.parseDouble(circle.get("cy")));
            }
            assertEquals(layers, new TreeSet<>(cy.keySet()), series + " points at the observed layers");
            String field = series.equals("score") ? "mean_score" : "mean_tracing";
            for (JsonNode a : observed) {
                for (JsonNode b : observed) {
                    double dm = a.get(field).asDouble() - b.get(field).asDouble();
                    if (Math.abs(dm) > 1e-3) { // higher mean, higher on screen (smaller y)
                        double dy = cy.get(a.get("layer").asInt()) - cy.get(b.get("layer").asInt());
                        assertTrue(Math.signum(dy) == -Math.signum(dm), series + " at layers " + a.get("layer") + ", " + b.get("layer"));
                    }
                }
            }
        }
        Map<Integer, List<String>> perLayer = new HashMap<>();
        Matcher row = Pattern.compile("<tr data-layer=\"(\\d+)\">(.*?)</tr>").matcher(element(dom, "table", "data-table", "per-layer"));
        while (row.find()) {
            perLayer.put(Integer.parseInt(row.group(1)), cells(row.group(2)));
        }
        for (JsonNode l : observed) {
            List<String> cells = perLayer.get(l.get("layer").asInt());
            assertEquals(l.get("observations").asLong(), Long.parseLong(cells.get(1).replace(",", "")));
            assertPrinted(cells.get(2), l.get("mean_score").asDouble(), "mean score at layer " + l.get("layer"));
            assertPrinted(cells.get(3), l.get("mean_tracing").asDouble(), "mean tracing at layer " + l.get("layer"));
        }

        // The scatter: one dot per observation in the service's sample (all of them here: a fresh broker, under 500), and the layer means.
        String scatter = element(dom, "svg", "data-chart", "scatter");
        int points = sample.get("points").size();
        assertEquals(Math.min(rewrite.get("observations").asLong(), sample.get("capacity").asLong()), points, "the sample holds every observation");
        assertEquals(Integer.toString(points), attributes(scatter).get("data-points"));
        assertEquals(points, tags(element(scatter, "g", "data-series", "observations"), "circle").size());
        assertEquals(Integer.toString(observed.size()), attributes(scatter).get("data-means"));
        assertFalse(dom.contains("waiting for results"), "no chart is still waiting");

        // The R² table: every figure of every metric, as the service computed it, to the precision printed.
        String table = element(dom, "table", "data-table", "r2");
        Map<String, String> shown = new HashMap<>();
        Matcher cell = Pattern.compile("<td\\b([^>]*)>([^<]*)</td>").matcher(table);
        while (cell.find()) {
            Map<String, String> a = attributes("<td" + cell.group(1) + ">");
            shown.put(a.get("data-metric") + "/" + a.get("data-stat"), cell.group(2));
        }
        for (String metric : METRICS) {
            JsonNode a = group.get("analysis").get(metric);
            assertEquals(a.get("observations").asLong(), Long.parseLong(shown.get(metric + "/observations").replace(",", "")), metric);
            for (String stat : List.of("layer_r2", "tracing_r2", "both_r2", "gain", "correlation")) {
                assertPrinted(shown.get(metric + "/" + stat), a.get(stat).asDouble(), metric + " " + stat);
            }
            assertPrinted(shown.get(metric + "/p_value"), a.get("gain_test").get("p_value").asDouble(), metric + " p-value");
            assertPrinted(shown.get(metric + "/f").replaceAll(" \\(.*", ""), a.get("gain_test").get("f").asDouble(), metric + " F");
        }

        // The paper's table: a row per method × problem of the run shown, the selected (rewrite) score's fits.
        List<JsonNode> run = new ArrayList<>();
        stats.get("groups").forEach(g -> {
            if (!g.get("method").asText().equals("*") && g.get("model").equals(group.get("model"))
                    && g.get("model_version").equals(group.get("model_version")) && g.get("grid_id").equals(group.get("grid_id"))
                    && g.get("analysis").has("rewrite")) {
                run.add(g);
            }
        });
        String paper = element(dom, "table", "data-table", "paper");
        Matcher paperRow = Pattern.compile("<tr\\b[^>]*data-method=\"([^\"]+)\"[^>]*data-problem=\"([^\"]+)\"[^>]*>(.*?)</tr>").matcher(paper);
        int rows = 0;
        while (paperRow.find()) {
            rows++;
            JsonNode g = run.stream().filter(x -> x.get("method").asText().equals(paperRow.group(1))
                    && x.get("problem").asText().equals(paperRow.group(2))).findFirst().orElseThrow();
            JsonNode a = g.get("analysis").get("rewrite");
            List<String> cells = cells(paperRow.group(3));
            assertEquals(a.get("observations").asLong(), Long.parseLong(cells.get(2).replace(",", "")));
            String[] figures = {"layer_r2", "tracing_r2", "both_r2", "gain"};
            for (int i = 0; i < figures.length; i++) {
                assertPrinted(cells.get(3 + i), a.get(figures[i]).asDouble(), "paper table " + figures[i]);
            }
            assertPrinted(cells.get(7), a.get("gain_test").get("p_value").asDouble(), "paper table p-value");
        }
        assertEquals(run.size(), rows, "one row per method × problem of the run");

        JsonNode progress = stats.get("progress");
        for (String figure : List.of("received", "completed", "in_flight", "rejected")) {
            String value = element(dom, "span", "data-progress", figure).replaceAll("<[^>]*>", "").replace(",", "");
            assertEquals(progress.get(figure).asLong(), Long.parseLong(value), figure);
        }
    }

    /** The printed number equals the value to its printed precision (half a unit of the last digit shown). */
    private static void assertPrinted(String printed, double expected, String what) {
        assertTrue(printed != null, what + " is on the page");
        String text = printed.trim().replace('\u2212', '-').replace(",", "");
        if (text.equals("—")) {
            assertTrue(Double.isNaN(expected), what + ": the page shows — but the service says " + expected);
            return;
        }
        if (text.equals("∞")) {
            assertEquals(Double.POSITIVE_INFINITY, expected, what);
            return;
        }
        String mantissa = text;
        int exponent = 0;
        int e = text.toLowerCase().indexOf('e');
        if (e >= 0) {
            mantissa = text.substring(0, e);
            exponent = Integer.parseInt(text.substring(e + 1));
        }
        int dot = mantissa.indexOf('.');
        int decimals = dot < 0 ? 0 : mantissa.length() - dot - 1;
        double tolerance = 0.5 * Math.pow(10, exponent - decimals);
        assertEquals(expected, Double.parseDouble(text), tolerance * (1 + 1e-9) + 1e-12, what + " (shown as " + printed + ")");
    }

    // ---------- the service ----------

    private JsonNode stats() throws Exception {
        return JSON.readTree(get("api/stats"));
    }

    private JsonNode sample() throws Exception {
        JsonNode rome = rome(stats());
        return JSON.readTree(get("api/stats/sample?model=testbed&version=" + rome.get("model_version").asText() + "&grid="
                + rome.get("grid_id").asText() + "&method=rome&problem=error_injection"));
    }

    private static JsonNode rome(JsonNode stats) {
        for (JsonNode g : stats.get("groups")) {
            if (g.get("model").asText().equals("testbed") && g.get("method").asText().equals("rome")
                    && g.get("problem").asText().equals("error_injection")) {
                return g;
            }
        }
        throw new AssertionError("no testbed/rome/error_injection group: " + stats);
    }

    private static long rewriteObservations(JsonNode stats) {
        for (JsonNode g : stats.get("groups")) {
            if (g.get("method").asText().equals("rome") && g.get("problem").asText().equals("error_injection")) {
                return g.path("analysis").path("rewrite").path("observations").asLong(0);
            }
        }
        return 0;
    }

    /** Waits for the condition, then until two reads a second apart agree (the aggregator has caught up). */
    private JsonNode awaitSettled(Predicate<JsonNode> condition, Duration timeout, String what) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            JsonNode s = stats();
            if (condition.test(s)) {
                if (last != null && last.get("groups").equals(s.get("groups")) && s.get("progress").get("in_flight").asDouble() == 0) {
                    return s;
                }
                last = s;
                Thread.sleep(1000);
            } else {
                last = null;
                Thread.sleep(250);
            }
        }
        throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for " + what + ": " + stats());
    }

    private HttpResponse<String> postFacts(String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(base.resolve("api/facts")).header("Content-Type", "application/x-ndjson")
                .header("X-API-Key", "test-key").POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private String get(String path) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), path + ": " + r.body());
        return r.body();
    }

    // ---------- reading the DOM (the page's markup is ours: attributes in double quotes, no nesting of the same tag) ----------

    /** The first {@code <tag ...name="value"...>...</tag>} of the markup, opening and closing tags included. */
    private static String element(String markup, String tag, String name, String value) {
        Matcher m = Pattern.compile("<" + tag + "\\b[^>]*\\b" + name + "=\"" + Pattern.quote(value) + "\"[^>]*>").matcher(markup);
        assertTrue(m.find(), "no <" + tag + " " + name + "=\"" + value + "\"> on the page");
        int end = markup.indexOf("</" + tag + ">", m.end());
        assertTrue(end >= 0, "unclosed <" + tag + " " + name + "=\"" + value + "\">");
        return markup.substring(m.start(), end + tag.length() + 3);
    }

    private static Map<String, String> attributes(String markup) {
        Matcher open = Pattern.compile("<[a-zA-Z]+\\b([^>]*)>").matcher(markup);
        assertTrue(open.find(), markup);
        Map<String, String> out = new HashMap<>();
        Matcher a = Pattern.compile("([a-zA-Z:-]+)=\"([^\"]*)\"").matcher(open.group(1));
        while (a.find()) {
            out.put(a.group(1), a.group(2));
        }
        return out;
    }

    private static List<Map<String, String>> tags(String markup, String tag) {
        List<Map<String, String>> out = new ArrayList<>();
        Matcher m = Pattern.compile("<" + tag + "\\b[^>]*>").matcher(markup);
        while (m.find()) {
            out.add(attributes(m.group()));
        }
        return out;
    }

    private static int count(String markup, String regex) {
        return (int) Pattern.compile(regex).matcher(markup).results().count();
    }

    private static List<String> cells(String row) {
        return Pattern.compile("<td\\b[^>]*>([^<]*)</td>").matcher(row).results().map(r -> r.group(1)).toList();
    }
}
