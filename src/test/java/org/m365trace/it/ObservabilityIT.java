package org.m365trace.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.m365trace.state.TraceCheckpoint;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What an operator sees of a running forwarder: GET /observe/metrics and /observe/health on the management port, scraped
 * over HTTP while the real routes read the simulated Reporting Web Service (live traffic, rows 3 s late, status
 * changes, and a backlog of 50 minutes) and forward to a file, a TCP syslog receiver and an HTTP receiver.
 */
class ObservabilityIT extends SimulatorTestSupport {

    private static final String PASSWORD = "p@ss w0rd:secret";
    private static final String SINK_TOKEN = "Bearer sink-token-123";
    /** trace.health.sourceFailingFor and trace.health.sinkBacklogFor here. */
    private static final Duration THRESHOLD = Duration.ofSeconds(5);

    private Management management;

    @Override
    protected Properties settings() {
        api = Fixtures.simulator(4);
        api.setLateBy("8s");    // rows show up 8 s after their received time: later than trace.delay (1 s) and a poll
        // a backlog: 600 messages received over the last 50 minutes, read in windows of a minute
        Instant now = Instant.now();
        for (int i = 0; i < 600; i++) {
            Instant received = now.minusSeconds(3000 - i * 5L);
            api.sendMessage(received, received);
        }
        Properties p = withHttp(withSyslog(Fixtures.pipelineProperties(api, tmp)));
        p.put("trace.initialLookback", "1h");
        p.put("trace.maxWindow", "1m");
        p.put("trace.http.authorization", SINK_TOKEN);
        p.put("trace.health.sourceFailingFor", THRESHOLD.toSeconds() + "s");
        p.put("trace.health.sinkBacklogFor", THRESHOLD.toSeconds() + "s");
        int port = Management.freePort();
        p.put("camel.management.port", String.valueOf(port));
        management = new Management(port);
        return p;
    }

    @Test
    void the_lag_falls_as_the_backlog_is_caught_up() {
        List<Double> lags = new ArrayList<>();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).until(() -> {
            double lag = management.metrics().value("trace_checkpoint_lag_seconds", "api", "reporting");
            if (!Double.isNaN(lag)) {
                lags.add(lag);
            }
            return !Double.isNaN(lag) && lag < 30;
        });
        assertTrue(lags.get(0) > 40 * 60, "the first window read leaves most of the hour's backlog: " + lags);
        assertTrue(lags.get(lags.size() - 1) < 30, "caught up: " + lags);
        long drops = 0;
        for (int i = 1; i < lags.size(); i++) {
            if (lags.get(i) < lags.get(i - 1) - 30) {
                drops++;
            }
        }
        assertTrue(drops >= 3, "the lag fell window by window while the backlog was read: " + lags);
    }

    @Test
    void the_counters_agree_with_what_each_sink_received() throws Exception {
        http.refuseNext(2);     // two POSTs refused: their records count once, when a POST of them is answered 2xx
        await().atMost(Duration.ofSeconds(40)).until(() -> api.servedKeys().size() > 700);
        api.stopTraffic();
        Instant last = Instant.now();
        TraceCheckpoint checkpoint = checkpoint();
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            Instant cp = checkpoint.read();
            return cp != null && cp.isAfter(last.plusSeconds(16));
        });
        Set<String> expected = api.servedKeys();
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            assertSameKeys(expected, Sinks.files(out()), "file sink");
            assertSameKeys(expected, Sinks.syslog(syslog), "syslog sink");
            assertSameKeys(expected, Sinks.http(http), "http sink");
            Management.Metrics m = management.metrics();
            for (String sink : List.of("file", "syslog", "http")) {
                assertEquals(0.0, m.value("trace_sink_pending_records", "sink", sink), sink + " spool empty");
            }
        });

        Management.Metrics m = management.metrics();
        assertEquals(Sinks.files(out()).size(), m.sum("trace_records_forwarded_total", "sink", "file"), "file");
        assertEquals(syslog.messages().size(), m.sum("trace_records_forwarded_total", "sink", "syslog"), "syslog");
        assertEquals(Sinks.http(http).size(), m.sum("trace_records_forwarded_total", "sink", "http"), "http");
        assertEquals(expected.size(), m.sum("trace_records_forwarded_total", "sink", "file", "api", "reporting"));
        assertEquals(2, http.refused());

        // every row fetched was forwarded, skipped as a duplicate (re-read in the overlap) or filtered out
        double fetched = m.sum("trace_rows_fetched_total");
        double duplicates = m.sum("trace_records_duplicate_total");
        assertTrue(duplicates > 0, "the overlap re-reads rows");
        assertEquals(fetched, expected.size() + duplicates + m.sum("trace_records_filtered_total"), 0.0, m.text);
        assertTrue(m.sum("trace_api_requests_total", "outcome", "ok") > 60, "a request per page");
        assertEquals(0.0, m.sum("trace_api_requests_total", "outcome", "error"));
        assertTrue(m.value("trace_window_seconds_count", "api", "reporting") > 60, "a window per minute of backlog, then one a poll");

        // the simulator shows rows 8 s after their received time, later than trace.delay (1 s): the first read of their
        // time misses most of them, the overlap finds them, 8 to 11 s late (status changes are not late rows)
        double late = m.value("trace_row_lateness_seconds_count", "api", "reporting");
        assertTrue(late > 5, "late rows were measured: " + late);
        assertEquals(late, m.value("trace_row_lateness_seconds_bucket", "api", "reporting", "le", "60.0"), "all within a minute");
        double mean = m.value("trace_row_lateness_seconds_sum", "api", "reporting") / late;
        assertTrue(mean >= 7 && mean < 20, "about 8 s late: " + mean);

        Management.Reply health = management.health();
        assertEquals(200, health.status(), health.body());
        for (String check : List.of("trace-source", "trace-sink-file", "trace-sink-syslog", "trace-sink-http")) {
            assertEquals("UP", health.check(check), check);
        }
        assertNoSecret(m.text + health.body() + String.join("\n", logs.lines()));
        // Camel's and the JVM's own meters are there too
        assertTrue(m.has("jvm_memory_used_bytes") && m.has("camel_exchanges_total"), "standard meters");
    }

    @Test
    void health_turns_down_when_every_poll_fails_for_longer_than_the_threshold_and_up_again() {
        awaitUp(Duration.ofSeconds(40));
        api.failNext("500", "500", "500", "500", "500", "500", "500", "500", "500", "500");
        Instant failing = Instant.now();
        await().atMost(THRESHOLD.plusSeconds(1 + 5)).until(() -> management.health().status() == 503);
        Duration took = Duration.between(failing, Instant.now());
        assertTrue(took.compareTo(THRESHOLD) >= 0, "DOWN only past the threshold: " + took);
        Management.Reply down = management.health();
        assertEquals("DOWN", down.check("trace-source"), down.body());
        assertTrue(down.body().contains("trace.health.sourceFailingFor"), down.body());
        assertEquals("UP", down.check("trace-sink-file"), "the sinks are fine");

        // the faults are used up one poll each (1 s): the first window read brings it back
        awaitUp(Duration.ofSeconds(20));
        assertNoSecret(String.join("\n", logs.lines()) + down.body());
    }

    @Test
    void health_turns_down_while_a_sink_is_away_for_longer_than_the_threshold() {
        awaitUp(Duration.ofSeconds(40));
        http.refuseNext(1_000_000);
        await().atMost(THRESHOLD.plusSeconds(15)).until(() -> management.health().status() == 503);
        Management.Reply down = management.health();
        assertEquals("DOWN", down.check("trace-sink-http"), down.body());
        assertTrue(down.body().contains("trace.health.sinkBacklogFor"), down.body());
        assertEquals("UP", down.check("trace-sink-file"), down.body());
        assertEquals("UP", down.check("trace-source"), "the source goes on: records wait in the spool");
        assertTrue(management.metrics().value("trace_sink_pending_records", "sink", "http") > 0);

        http.refuseNext(0);
        awaitUp(Duration.ofSeconds(20));
        await().atMost(Duration.ofSeconds(10)).until(() -> management.metrics().value("trace_sink_pending_records", "sink", "http") < 10);
    }

    /** Waits for /observe/health to answer 200 once the source has read a window. */
    private void awaitUp(Duration within) {
        await().atMost(within).untilAsserted(() -> {
            Management.Reply health = management.health();
            assertEquals(200, health.status(), health.body());
            assertTrue(health.body().contains("trace.lastWindowRead"), "a window was read: " + health.body());
        });
    }

    /** The sink holds the records of exactly these keys (reported as counts and a few examples, not whole sets). */
    private static void assertSameKeys(Set<String> expected, List<JsonNode> records, String sink) {
        Set<String> got = Set.copyOf(Sinks.keys(records));
        List<String> missing = expected.stream().filter(k -> !got.contains(k)).limit(3).toList();
        List<String> extra = got.stream().filter(k -> !expected.contains(k)).limit(3).toList();
        assertTrue(missing.isEmpty() && extra.isEmpty(), sink + ": " + expected.size() + " expected, " + got.size()
                + " received; missing e.g. " + missing + ", unexpected e.g. " + extra);
    }

    private static void assertNoSecret(String text) {
        assertFalse(text.contains(PASSWORD), "the API password is never shown");
        assertFalse(text.contains("sink-token-123"), "the HTTP sink's Authorization is never shown");
    }
}
