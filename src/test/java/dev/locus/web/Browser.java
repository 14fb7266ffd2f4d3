package dev.locus.web;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Headless Chromium through chromedriver's W3C WebDriver endpoint (plain HTTP, no Selenium), for the page tests. */
final class Browser implements AutoCloseable {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private final Process driver;
    private final URI endpoint;
    private final Path profile;
    private final Path log;
    private String session;

    private Browser(Process driver, URI endpoint, Path profile, Path log) {
        this.driver = driver;
        this.endpoint = endpoint;
        this.profile = profile;
        this.log = log;
    }

    static Browser start() throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        Path log = Files.createTempFile("locus-chromedriver-", ".log");
        Path profile = Files.createTempDirectory("locus-chromium-");
        Process driver = new ProcessBuilder(CHROMEDRIVER.toString(), "--port=" + port)
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Browser browser = new Browser(driver, URI.create("http://127.0.0.1:" + port + "/"), profile, log);
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (true) {
                try {
                    if (browser.call("GET", "status", null).path("ready").asBoolean()) {
                        break;
                    }
                } catch (IOException notYet) {
                    // not listening yet
                }
                if (System.nanoTime() > deadline || !driver.isAlive()) {
                    throw new AssertionError("chromedriver did not start: " + Files.readString(log));
                }
                Thread.sleep(200);
            }
            ObjectNode options = JSON.createObjectNode().put("binary", CHROMIUM.toString());
            options.putArray("args").add("--headless=new").add("--no-sandbox").add("--disable-gpu").add("--disable-dev-shm-usage")
                    .add("--disable-quic").add("--no-first-run").add("--disable-background-networking").add("--disable-component-update")
                    .add("--disable-sync").add("--window-size=1400,1000").add("--user-data-dir=" + profile);
            ObjectNode capabilities = JSON.createObjectNode();
            capabilities.putObject("capabilities").putObject("alwaysMatch").put("browserName", "chrome").set("goog:chromeOptions", options);
            browser.session = browser.call("POST", "session", capabilities).get("sessionId").asText();
            return browser;
        } catch (Exception | AssertionError e) {
            browser.close();
            throw e;
        }
    }

    void open(String url) throws Exception {
        call("POST", "session/" + session + "/url", JSON.createObjectNode().put("url", url));
    }

    JsonNode script(String js) throws Exception {
        ObjectNode body = JSON.createObjectNode().put("script", js);
        body.putArray("args");
        return call("POST", "session/" + session + "/execute/sync", body);
    }

    String source() throws Exception {
        return call("GET", "session/" + session + "/source", null).asText();
    }

    /** Polls a script until it returns true. */
    void await(String js, Duration timeout, String what) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!script(js).asBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for " + what + "; the page:\n" + source());
            }
            Thread.sleep(250);
        }
    }

    private JsonNode call(String method, String path, JsonNode body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(endpoint.resolve(path)).timeout(Duration.ofSeconds(120))
                .header("Content-Type", "application/json; charset=utf-8")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body.toString()));
        HttpResponse<String> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode value = JSON.readTree(response.body()).path("value");
        if (response.statusCode() != 200) {
            throw new AssertionError("WebDriver " + method + " " + path + ": " + response.statusCode() + " " + value);
        }
        return value;
    }

    @Override
    public void close() throws Exception {
        try {
            if (session != null) {
                call("DELETE", "session/" + session, null);
            }
        } catch (Exception | AssertionError e) {
            // the browser is going anyway
        } finally {
            driver.descendants().forEach(ProcessHandle::destroy);
            driver.destroy();
            if (!driver.waitFor(10, TimeUnit.SECONDS)) {
                driver.descendants().forEach(ProcessHandle::destroyForcibly);
                driver.destroyForcibly();
            }
            try (Stream<Path> files = Files.walk(profile)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
            Files.deleteIfExists(log);
        }
    }

    /** Fails (never skips) where Chromium or its driver is missing, saying how to install them. */
    static void require() {
        List<String> missing = Stream.of(CHROMIUM, CHROMEDRIVER).filter(p -> !Files.isExecutable(p)).map(Path::toString).toList();
        if (!missing.isEmpty()) {
            fail("The page tests drive headless Chromium, and " + String.join(" and ", missing) + " is missing: run "
                    + "`apt-get install -y chromium chromium-driver` (as root; .ci/run does this on CI).");
        }
    }
}
