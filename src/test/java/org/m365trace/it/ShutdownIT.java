package org.m365trace.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.m365trace.demo.SimulatedReportingService;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Graceful stop of the packaged jar, as a service manager does it (SIGTERM), at a bad moment: every record sits in the
 * syslog spool (the receiver is down) and the HTTP spool (the receiver takes POSTs and never answers, so one is in
 * flight), and the poll is waiting for an API page that never comes. The process must end within 30 s with exit code
 * 0 or 143; started again on the same state with the receivers up, it delivers every row to every sink, the file sink
 * holding none twice.
 */
class ShutdownIT {

    static final Path JAR = Path.of("target/m365-trace-forwarder.jar");

    @TempDir
    Path tmp;

    @Test
    void sigterm_with_full_spools_and_calls_in_flight_stops_in_time_and_loses_nothing() throws Exception {
        SimulatedReportingService api = Fixtures.seededSimulator(15);
        try {
            Properties p = Fixtures.oneWindow(Fixtures.pipelineProperties(api, tmp), api, 3);
            p.put("trace.syslog.enabled", "true");
            p.put("trace.syslog.protocol", "tcp");
            p.put("trace.http.enabled", "true");
            Set<String> expected = api.currentKeys();
            Path state = tmp.resolve("state");

            try (SilentServer hanging = new SilentServer()) {
                p.put("trace.syslog.port", String.valueOf(closedPort()));
                p.put("trace.http.url", hanging.url());
                Process first = fork(p, "first");
                try {
                    // every row was accepted by every sink: written to the file, queued in both spools, committed
                    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                        assertTrue(first.isAlive(), () -> "the forwarder died: " + output("first"));
                        assertEquals(expected, Set.copyOf(Sinks.keys(Sinks.files(tmp.resolve("out")))), "file sink");
                        assertTrue(Files.exists(state.resolve("checkpoint")), "the window was committed");
                    });
                    // the syslog delivery was refused and waits to try again; an HTTP POST is in flight
                    await().atMost(Duration.ofSeconds(10)).until(() -> output("first").contains("sink-syslog-deliver: delivery failed"));
                    await().atMost(Duration.ofSeconds(10)).until(() -> hanging.connections() > 0);
                    // the next page request never gets an answer either: a poll is in flight at SIGTERM
                    api.failNext("hang");
                    await().atMost(Duration.ofSeconds(10)).until(() -> api.hungRequests() > 0);
                    assertEquals(expected, Set.copyOf(spooled(state.resolve("spool/syslog"), true)), "syslog spool");
                    assertEquals(expected, Set.copyOf(spooled(state.resolve("spool/http"), false)), "http spool");

                    long sigterm = System.nanoTime();
                    first.destroy();
                    boolean ended = first.waitFor(30, TimeUnit.SECONDS);
                    long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sigterm);
                    assertTrue(ended, "the forwarder had not ended 30 s after SIGTERM: " + output("first"));
                    int exit = first.exitValue();
                    assertTrue(exit == 0 || exit == 143, "exit code " + exit + " after " + took + " ms: " + output("first"));
                    System.out.println("ShutdownIT: first run ended " + took + " ms after SIGTERM, exit code " + exit);
                    assertEquals(1, output("first").lines().filter(l -> l.contains("WARN m365trace - sink-syslog-deliver: delivery failed")).count(),
                            "the refused syslog deliveries are one WARN line: " + output("first"));
                } finally {
                    first.destroyForcibly();
                }
            }
            // nothing of the stopped run is lost: what it had accepted is still queued
            assertEquals(expected, Set.copyOf(spooled(state.resolve("spool/syslog"), true)), "syslog spool after the stop");
            assertEquals(expected, Set.copyOf(spooled(state.resolve("spool/http"), false)), "http spool after the stop");

            try (SyslogReceiver syslog = SyslogReceiver.tcp(); HttpReceiver http = new HttpReceiver()) {
                p.put("trace.syslog.port", String.valueOf(syslog.port()));
                p.put("trace.http.url", http.url());
                Process second = fork(p, "second");
                try {
                    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                        assertTrue(second.isAlive(), () -> "the forwarder died: " + output("second"));
                        assertEquals(expected, Set.copyOf(Sinks.keys(Sinks.syslog(syslog))), "syslog sink");
                        assertEquals(expected, Set.copyOf(Sinks.keys(Sinks.http(http))), "http sink");
                    });
                    second.destroy();
                    assertTrue(second.waitFor(30, TimeUnit.SECONDS), "the second run ended within 30 s: " + output("second"));
                    assertTrue(second.exitValue() == 0 || second.exitValue() == 143, "exit code " + second.exitValue());
                } finally {
                    second.destroyForcibly();
                }
                assertTrue(syslog.errors().isEmpty(), "octet-counting frames: " + syslog.errors());
            }
            List<String> files = Sinks.keys(Sinks.files(tmp.resolve("out")));
            assertEquals(expected, Set.copyOf(files), "file sink");
            assertEquals(files.size(), new HashSet<>(files).size(), "no record twice in the file sink: " + files);
        } finally {
            api.stop();
        }
    }

    /**
     * A syslog receiver that takes the connection and stops reading (hung, or far too slow): once the socket buffers
     * are full (some MB: ten thousand rows) the syslog delivery blocks in a write. A stop must still end within 30 s,
     * and what was still in the spool (the blocked batch and those after it) must be delivered after a restart. (What
     * went into the stalled connection's buffers before it blocked counted as sent: syslog over TCP has no
     * acknowledgement, as docs/output.md says.)
     * <p>
     * The stop does not wait for the blocked write: the syslog sender's close does not take the lock the write holds,
     * and closing the socket ends the write (as its write deadline, {@code trace.readTimeout}, would later).
     */
    @Test
    void sigterm_while_a_stalled_syslog_receiver_blocks_delivery_stops_in_time() throws Exception {
        SimulatedReportingService api = Fixtures.seededSimulator(5000);
        try {
            Properties p = Fixtures.oneWindow(Fixtures.pipelineProperties(api, tmp), api, 3);
            p.put("trace.syslog.enabled", "true");
            p.put("trace.syslog.protocol", "tcp");
            Set<String> expected = api.currentKeys();
            Path spool = tmp.resolve("state/spool/syslog");
            try (SilentServer stalled = new SilentServer()) {
                p.put("trace.syslog.port", String.valueOf(stalled.port()));
                Process first = fork(p, "first");
                try {
                    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
                        assertTrue(first.isAlive(), () -> "the forwarder died: " + output("first"));
                        assertEquals(expected.size(), Sinks.files(tmp.resolve("out")).size(), "file sink");
                    });
                    // the delivery is stuck: connected, and the spool does not drain
                    await().atMost(Duration.ofSeconds(20)).during(Duration.ofSeconds(3))
                            .until(() -> stalled.connections() > 0 && !spooled(spool, true).isEmpty());
                    long sigterm = System.nanoTime();
                    first.destroy();
                    boolean ended = first.waitFor(30, TimeUnit.SECONDS);
                    long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sigterm);
                    assertTrue(ended, "the forwarder had not ended 30 s after SIGTERM: " + output("first"));
                    assertTrue(first.exitValue() == 0 || first.exitValue() == 143, "exit code " + first.exitValue() + " after " + took + " ms");
                } finally {
                    first.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
                }
            }
            Set<String> pending = Set.copyOf(spooled(spool, true));
            assertTrue(!pending.isEmpty(), "the blocked batch is still in the spool");
            try (SyslogReceiver syslog = SyslogReceiver.tcp()) {
                p.put("trace.syslog.port", String.valueOf(syslog.port()));
                Process second = fork(p, "second");
                try {
                    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertTrue(
                            Set.copyOf(Sinks.keys(Sinks.syslog(syslog))).containsAll(pending), "what the spool held was delivered"));
                } finally {
                    second.destroy();
                    second.waitFor(30, TimeUnit.SECONDS);
                    second.destroyForcibly();
                }
            }
            List<String> files = Sinks.keys(Sinks.files(tmp.resolve("out")));
            assertEquals(files.size(), new HashSet<>(files).size(), "no record twice in the file sink");
        } finally {
            api.stop();
        }
    }

    /** The packaged jar with {@code settings} as -D options, in {@link #tmp}, its output in {@code <name>.log}. */
    private Process fork(Properties settings, String name) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m"));
        cmd.add("-Dcamel.management.port=0");     // a free port: two forwarders run at once here
        settings.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
        cmd.addAll(List.of("-jar", JAR.toAbsolutePath().toString()));
        return new ProcessBuilder(cmd).directory(tmp.toFile()).redirectErrorStream(true)
                .redirectOutput(tmp.resolve(name + ".log").toFile()).start();
    }

    private String output(String name) {
        return Fixtures.unchecked(() -> Files.readString(tmp.resolve(name + ".log"), StandardCharsets.UTF_8));
    }

    /** The keys of the records queued in a spool folder (sealed batches and the open one). */
    private static List<String> spooled(Path dir, boolean syslog) throws IOException {
        List<JsonNode> records = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".ndjson")).sorted().toList()) {
                for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                    if (!line.isBlank()) {
                        records.add(Sinks.MAPPER.readTree(syslog ? Sinks.Rfc5424Message.parse(line).msg() : line));
                    }
                }
            }
        }
        return Sinks.keys(records);
    }

    /** A loopback port nothing listens on (a syslog receiver that is down: connections are refused). */
    private static int closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /**
     * A TCP server that accepts connections and never reads from them or answers, with a small receive buffer: as a
     * syslog receiver it is stalled (writes block once the buffers are full); as an HTTP endpoint a POST to it stays in
     * flight.
     */
    static final class SilentServer implements AutoCloseable {
        private final ServerSocket server = new ServerSocket();
        private final List<Socket> clients = Collections.synchronizedList(new ArrayList<>());

        SilentServer() throws IOException {
            server.setReceiveBufferSize(4096);
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Thread t = new Thread(() -> {
                while (!server.isClosed()) {
                    try {
                        clients.add(server.accept());
                    } catch (IOException closed) {
                        return;
                    }
                }
            }, "silent-server");
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return server.getLocalPort();
        }

        String url() {
            return "http://127.0.0.1:" + port() + "/ingest";
        }

        int connections() {
            return clients.size();
        }

        @Override
        public void close() throws IOException {
            server.close();
            synchronized (clients) {
                for (Socket s : clients) {
                    s.close();
                }
            }
        }
    }
}
