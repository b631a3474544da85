package org.m365trace.kamelet;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.m365trace.demo.SimulatedReportingService;
import org.m365trace.state.TraceCheckpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Another project's Camel Main app, as a user writes it: the library jar with its runtime dependencies, camel-main, and
 * one YAML route of its own, {@code from: kamelet:m365-message-trace-source?...} to {@code file:}. None of the
 * forwarder's routes or settings are on its class path. Through a stop and a start, every row arrives once.
 */
class KameletAppIT {

    static final ObjectMapper MAPPER = new ObjectMapper();
    /** Built by mvn package before the integration tests; the same jar mvn install installs. */
    static final Path LIBRARY = Path.of("target").resolve("m365-message-trace-" + System.getProperty("project.version", "0.1.0-SNAPSHOT") + ".jar");

    @TempDir
    Path tmp;
    /** The apps' logs, kept for a look after the run. */
    final Path logs = Path.of("target", "kamelet-app");

    @Test
    void a_three_line_route_collects_every_row_once_through_a_restart() throws Exception {
        SimulatedReportingService api = simulator();
        Path out = tmp.resolve("out");
        Path route = route(api, out);
        try {
            Process first = start(route, "first");
            await().atMost(Duration.ofSeconds(40)).until(() -> records(out).size() >= 15);
            stop(first);
            Process second = start(route, "second");
            await().atMost(Duration.ofSeconds(40)).until(() -> records(out).size() >= 40);
            Set<String> expected = settled(api);
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertEquals(Set.of(), missing(expected, out)));
            stop(second);
            List<String> keys = keys(out);
            assertTrue(new HashSet<>(keys).containsAll(expected), "every row of the API");
            assertTrue(api.expectedKeys(Instant.MAX).containsAll(keys), "nothing else");
            assertEquals(keys.size(), new HashSet<>(keys).size(), "no row twice");
            assertTrue(records(out).stream().allMatch(r -> "reporting".equals(r.path("api").asText())), "records as in the contract");
        } finally {
            api.stop();
        }
    }

    @Test
    void records_the_route_fails_on_are_read_again_and_none_is_lost() throws Exception {
        SimulatedReportingService api = simulator();
        Path out = tmp.resolve("out");
        Files.writeString(out, "a file where the route wants a folder: every write of the file endpoint fails");
        Path route = route(api, out);
        try {
            Process app = start(route, "failing");
            // the route fails on the first record of each window: the window is logged and read again at each poll
            await().atMost(Duration.ofSeconds(40)).until(() -> Files.readString(logs.resolve("failing.log")).contains("not read"));
            Files.delete(out);
            Set<String> expected = settled(api);
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertEquals(Set.of(), missing(expected, out)));
            stop(app);
            List<String> keys = keys(out);
            assertTrue(new HashSet<>(keys).containsAll(expected), "every row of the API");
            assertTrue(api.expectedKeys(Instant.MAX).containsAll(keys), "nothing else");
            assertEquals(keys.size(), new HashSet<>(keys).size(), "no row twice");
        } finally {
            api.stop();
        }
    }

    @Test
    void records_reach_an_http_endpoint_as_they_are() throws Exception {
        SimulatedReportingService api = simulator();
        List<String> bodies = java.util.Collections.synchronizedList(new ArrayList<>());
        List<String> methods = java.util.Collections.synchronizedList(new ArrayList<>());
        com.sun.net.httpserver.HttpServer receiver = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
        receiver.createContext("/ingest", exchange -> {
            methods.add(exchange.getRequestMethod() + " " + exchange.getRequestHeaders().getFirst("Content-Type"));
            bodies.add(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        receiver.start();
        Path route = tmp.resolve("traces.camel.yaml");
        Files.writeString(route, """
                - from:
                    uri: "kamelet:m365-message-trace-source?api=reporting&auth=basic&username=app@contoso.com&password=RAW(app-p4ss)&reportingBaseUrl=%s&stateDir=%s&pollInterval=1s&delay=1s&overlap=30s&initialLookback=1m&maxWindow=20s&pageSize=7"
                    steps:
                      - to: "http://127.0.0.1:%d/ingest"
                """.formatted(api.baseUrl(), tmp.resolve("state"), receiver.getAddress().getPort()), StandardCharsets.UTF_8);
        try {
            Process app = start(route, "http");
            Set<String> expected = settled(api);
            await().atMost(Duration.ofSeconds(20)).until(() -> posted(bodies).containsAll(expected));
            stop(app);
            // each record is POSTed as JSON, as the route's own request: none of the API request's headers go with it
            assertTrue(methods.stream().allMatch(m -> m.startsWith("POST application/json")), methods.stream().distinct().toList().toString());
            List<String> keys = posted(bodies);
            assertEquals(keys.size(), new HashSet<>(keys).size(), "no row twice");
        } finally {
            receiver.stop(0);
            api.stop();
        }
    }

    private static List<String> posted(List<String> bodies) throws IOException {
        List<String> keys = new ArrayList<>();
        for (String body : List.copyOf(bodies)) {
            JsonNode r = MAPPER.readTree(body);
            keys.add(r.path("messageTraceId").asText() + "|" + r.path("recipientAddress").asText() + "|" + r.path("status").asText());
        }
        return keys;
    }

    /**
     * Stops the mail and waits until the app's checkpoint is past the late rows and status changes of the last
     * messages; then says what the app must have forwarded.
     */
    private Set<String> settled(SimulatedReportingService api) {
        api.stopTraffic();
        Instant last = Instant.now();
        TraceCheckpoint checkpoint = new TraceCheckpoint();
        checkpoint.setStateDir(tmp.resolve("state").toString());
        await().atMost(Duration.ofSeconds(40)).until(() -> checkpoint.read() != null && checkpoint.read().isAfter(last.plusSeconds(8)));
        // every state the API served to the app, and the state every row has now (a Pending that became Delivered while
        // no app was running was never served by anyone)
        Set<String> expected = new HashSet<>(api.servedKeys());
        expected.addAll(api.currentKeys());
        return expected;
    }

    /** The Reporting Web Service simulator: 4 messages a second, late rows, Pending rows that settle. */
    private static SimulatedReportingService simulator() throws IOException {
        assertTrue(Files.isRegularFile(LIBRARY), "run mvn package first: " + LIBRARY);
        SimulatedReportingService api = new SimulatedReportingService();
        api.setPort(0);
        api.setMessagesPerSecond(4);
        api.setLateBy("3s");
        api.setPendingFor("5s");
        api.setUsername("app@contoso.com");
        api.setPassword("app-p4ss");
        api.start();
        return api;
    }

    /** The user's route: the Kamelet to a file, one record a line. */
    private Path route(SimulatedReportingService api, Path out) throws IOException {
        Path route = tmp.resolve("traces.camel.yaml");
        Files.writeString(route, """
                - from:
                    uri: "kamelet:m365-message-trace-source?api=reporting&auth=basic&username=app@contoso.com&password=RAW(app-p4ss)&reportingBaseUrl=%s&stateDir=%s&pollInterval=1s&delay=1s&overlap=30s&initialLookback=1m&maxWindow=20s&pageSize=7"
                    steps:
                      - to: "file:%s?fileName=traces.ndjson&fileExist=Append&appendChars=\\\\n"
                """.formatted(api.baseUrl(), tmp.resolve("state"), out), StandardCharsets.UTF_8);
        return route;
    }

    /**
     * The app's JVM: java -cp <library + its dependencies + camel-main> org.apache.camel.main.Main, the route from a file;
     * its logging settings are the forwarder's (without any, logback would log everything at DEBUG).
     */
    private Process start(Path route, String name) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-cp", classPath(), "-Dcamel.main.routesIncludePattern=file:" + route,
                "-Dlogback.configurationFile=" + Path.of("target", "classes", "logback.xml").toAbsolutePath(),
                "-Dcamel.main.name=kamelet-app", "org.apache.camel.main.Main"));
        Files.createDirectories(logs);
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(logs.resolve(name + ".log").toFile()).start();
    }

    private void stop(Process p) throws Exception {
        p.destroy();   // SIGTERM: Camel stops gracefully
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "stopped within 30 s");
    }

    /**
     * The library jar and the runtime jars of the test class path (Camel, Jackson, HTTP client, a logging binding);
     * neither target/classes (the forwarder's routes and settings) nor the test frameworks.
     */
    private static String classPath() {
        String all = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Stream<String> jars = Arrays.stream(all.split(File.pathSeparator))
                .filter(e -> e.endsWith(".jar"))
                .filter(e -> !e.matches(".*(junit|opentest4j|apiguardian|awaitility|hamcrest|camel-test|surefire|failsafe).*"));
        return Stream.concat(Stream.of(LIBRARY.toAbsolutePath().toString()), jars).collect(Collectors.joining(File.pathSeparator));
    }

    private static List<JsonNode> records(Path out) throws IOException {
        Path f = out.resolve("traces.ndjson");
        if (!Files.exists(f)) {
            return List.of();
        }
        String content = Files.readString(f, StandardCharsets.UTF_8);
        List<JsonNode> records = new ArrayList<>();
        for (String line : content.substring(0, content.lastIndexOf('\n') + 1).split("\n")) {
            if (!line.isEmpty()) {
                records.add(MAPPER.readTree(line));
            }
        }
        return records;
    }

    private static Set<String> missing(Set<String> expected, Path out) throws IOException {
        Set<String> missing = new HashSet<>(expected);
        keys(out).forEach(missing::remove);
        return missing;
    }

    private static List<String> keys(Path out) throws IOException {
        return records(out).stream().map(r -> r.path("messageTraceId").asText() + "|" + r.path("recipientAddress").asText()
                + "|" + r.path("status").asText()).toList();
    }
}
