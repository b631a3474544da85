package org.m365trace.chaos;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;

import org.awaitility.core.ConditionTimeoutException;

import static org.awaitility.Awaitility.await;

/**
 * The fakes around one forwarder: fake Graph with its dataset, syslog and HTTP receivers, the forked jar pointed at
 * them, and a work folder {@code target/chaos/<name>-<time>-<random>/} holding the forwarder's state, its NDJSON output and
 * one log per process. Shared by {@link ChaosIT} and {@link SoakIT}.
 */
final class ChaosHarness implements AutoCloseable {

    static final Path JAR = Path.of("target", "m365-trace-forwarder.jar");
    static final String APP_NAME = "m365-trace";

    final TraceDataset data;
    final FakeGraph graph;
    final FakeSyslog syslog;
    final FakeHttpSink http;
    final ForwarderProcess forwarder;
    private final Path work;
    private final Map<Integer, Instant> killed = new HashMap<>();
    private final ExecutorService background = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "chaos-fault");
        t.setDaemon(true);
        return t;
    });

    ChaosHarness(String name, TraceDataset data, Map<String, String> overrides) throws IOException {
        if (!Files.isRegularFile(JAR)) {
            throw new IllegalStateException(JAR.toAbsolutePath() + " is missing: run mvn package first (failsafe runs after it)");
        }
        this.data = data;
        this.work = Files.createTempDirectory(Files.createDirectories(Path.of("target", "chaos")),
                name + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + "-");
        this.graph = new FakeGraph(data, Duration.ofMinutes(2));
        this.syslog = new FakeSyslog();
        this.http = new FakeHttpSink();
        Map<String, String> settings = settings();
        settings.putAll(overrides);
        this.forwarder = new ForwarderProcess(JAR.toAbsolutePath(), work, settings);
    }

    /** Every setting the forwarder gets, as -D options. */
    private Map<String, String> settings() {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("trace.api", "graph");
        s.put("trace.auth", "oauth2");
        s.put("trace.graph.baseUrl", graph.baseUrl());
        s.put("trace.tokenUrl", graph.tokenUrl());
        s.put("trace.tenantId", FakeGraph.TENANT);
        s.put("trace.clientId", FakeGraph.CLIENT_ID);
        s.put("trace.clientSecret", FakeGraph.CLIENT_SECRET);
        s.put("trace.pollInterval", "2s");
        s.put("trace.delay", "10s");
        s.put("trace.overlap", "1h");
        s.put("trace.initialLookback", "3d");
        s.put("trace.maxWindow", "12h");
        s.put("trace.pageSize", "250");
        // the fake does not enforce Graph's 100 requests per 5 minutes: pacing would only slow the test down
        s.put("trace.graph.budget", "100000");
        s.put("trace.graph.maxBackoff", "2s");
        s.put("trace.stateDir", work.resolve("state").toAbsolutePath().toString());
        s.put("trace.file.enabled", "true");
        s.put("trace.file.dir", fileDir().toAbsolutePath().toString());
        s.put("trace.syslog.enabled", "true");
        s.put("trace.syslog.protocol", "tcp");
        s.put("trace.syslog.host", "127.0.0.1");
        s.put("trace.syslog.port", String.valueOf(syslog.port()));
        s.put("trace.syslog.appName", APP_NAME);
        s.put("trace.http.enabled", "true");
        s.put("trace.http.url", http.url());
        s.put("trace.http.format", "json-array");
        s.put("trace.http.batchSize", "100");
        s.put("trace.http.batchTimeout", "1s");
        // a hung request must end: the read time-out of the API and HTTP-sink connections
        s.put("camel.component.http.responseTimeout", "5000");
        s.put("camel.component.http.soTimeout", "5000");
        return s;
    }

    Path work() {
        return work;
    }

    Path fileDir() {
        return work.resolve("out");
    }

    /** Starts the next forwarder process on the same state; the fake books its requests under its generation. */
    int startForwarder() throws IOException {
        graph.setGeneration(forwarder.generation() + 1);
        return forwarder.start();
    }

    /** kill -9 of the running forwarder. */
    void killForwarder() throws InterruptedException {
        forwarder.kill();
        killed.put(forwarder.generation(), Instant.now());
    }

    int kills() {
        return killed.size();
    }

    /** Bytes in the NDJSON files so far: grows while records flow. */
    long fileBytes() throws IOException {
        if (!Files.isDirectory(fileDir())) {
            return 0;
        }
        try (Stream<Path> files = Files.list(fileDir())) {
            return files.mapToLong(f -> f.toFile().length()).sum();
        }
    }

    /** Batch files still waiting in the forwarder's spools. */
    long spooledFiles() throws IOException {
        Path spool = work.resolve("state").resolve("spool");
        if (!Files.isDirectory(spool)) {
            return 0;
        }
        try (Stream<Path> files = Files.walk(spool)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".ndjson")).count();
        }
    }

    /** Runs a fault in the background (e.g. a receiver away for a while), so the test can go on meanwhile. */
    CompletableFuture<Void> inBackground(String what, Outage outage) {
        return CompletableFuture.runAsync(() -> {
            try {
                outage.run();
            } catch (Exception e) {
                throw new IllegalStateException(what + " failed", e);
            }
        }, background);
    }

    /** A fault on one side that holds for its stated duration. */
    interface Outage {
        void run() throws Exception;
    }

    /** Keeps a fault in place for its stated duration (the only sleeping the harness does). */
    static void hold(Duration duration) throws InterruptedException {
        Thread.sleep(duration.toMillis());
    }

    /** What the sinks hold now, compared with what the fake served. */
    Verdict verdict(boolean settled) throws IOException {
        return new Verdict(data, graph.served(), graph.exposed(), Map.copyOf(killed), graph.finalStatusNotServed(),
                List.of(SinkContents.files(fileDir(), settled),
                        SinkContents.syslog(syslog.messages(), syslog.framingErrors(), APP_NAME),
                        SinkContents.http(http.posts())));
    }

    /** Waits until every served record is in every sink and every row was read in its final status. */
    Verdict awaitComplete(Duration atMost) throws IOException {
        try {
            await("every served record in every sink").atMost(atMost).pollInterval(Duration.ofSeconds(2))
                    .until(() -> verdict(false).complete());
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("not every served record reached every sink within " + atMost + ":\n"
                    + verdict(false).summary() + String.join("\n", verdict(false).failures(Map.of())), e);
        }
        return verdict(false);
    }

    /** Requests that broke Graph's rules (the fake answered 400, as Graph would): each is a failure. */
    List<String> refusedRequests() {
        return graph.refused().stream().map(r -> "the fake Graph refused a request: " + r).toList();
    }

    /** For a failure message: the state of things and the end of every forwarder log. */
    String diagnostics() {
        StringBuilder out = new StringBuilder();
        out.append("work folder: ").append(work.toAbsolutePath()).append('\n');
        out.append("dataset: ").append(data.describe()).append('\n');
        try {
            out.append(verdict(false).summary());
        } catch (Exception e) {
            out.append("(no verdict: ").append(e).append(")\n");
        }
        out.append(forwarder.tail(60));
        return out.toString();
    }

    /** One paragraph on what the fakes saw, for the test's output. */
    String activity() {
        List<FakeGraph.Request> requests = graph.requests();
        Map<String, Long> byOutcome = new LinkedHashMap<>();
        requests.forEach(r -> byOutcome.merge(r.status() == 400 ? "400" : r.fault() != null ? r.fault() : String.valueOf(r.status()), 1L, Long::sum));
        return "list requests " + requests.size() + " " + byOutcome + ", token requests " + graph.tokenRequests()
                + ", kills " + killed.size() + ", syslog connections " + syslog.acceptedConnections() + ", cut syslog frames "
                + syslog.cutFrames() + ", HTTP POSTs " + http.posts().size() + " accepted / " + http.rejected().size()
                + " answered 503" + retryPace(http.rejected());
    }

    /** How fast the forwarder came back to a receiver answering 503: the median gap between two such POSTs. */
    private static String retryPace(List<Instant> rejected) {
        if (rejected.size() < 2) {
            return "";
        }
        List<Long> gaps = new ArrayList<>();
        for (int i = 1; i < rejected.size(); i++) {
            gaps.add(Duration.between(rejected.get(i - 1), rejected.get(i)).toMillis());
        }
        gaps.sort(null);
        return " (median " + gaps.get(gaps.size() / 2) + " ms between two)";
    }

    Instant t0() {
        return data.t0();
    }

    @Override
    public void close() throws Exception {
        try {
            forwarder.close();
        } finally {
            background.shutdownNow();
            graph.close();
            syslog.close();
            http.close();
        }
    }
}
