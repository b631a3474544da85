package org.m365trace.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.m365trace.demo.SimulatedReportingService;

/**
 * 5xx bursts in the middle of paging: page 2 of a 3-page window fails five times in a row, then answers. A 500 ends the
 * poll (the next poll reads the window again, page 1 going through dedupe); a 503 is waited out and the same page asked
 * again within the poll. Either way every row arrives once, the checkpoint moves only once page 3 was read, and the
 * burst is logged once, not once per reply.
 */
class ServerErrorsIT {

    @TempDir
    Path tmp;

    SimulatedReportingService api = Fixtures.seededSimulator(12);

    @AfterEach
    void stopApi() {
        api.stop();
    }

    @Test
    void reporting_page_2_of_3_answers_500_five_times_in_a_row() throws Exception {
        Properties p = Fixtures.oneWindow(Fixtures.pipelineProperties(api, tmp), api, 3);
        api.failNextPage(2, "500", "500", "500", "500", "500");
        try (LogLines logs = LogLines.capture(); Forwarder forwarder = Forwarder.start(p)) {
            assertEveryRowOnceAfterTheBurst(forwarder, p, 6);

            List<String> warnings = logs.forwarder("WARN");
            assertEquals(1, warnings.size(), "five failed polls, one WARN line: " + warnings);
            assertTrue(warnings.get(0).matches(".*window \\S+ not read: HTTP 500 .*An internal server error occurred\\..*"),
                    "the line names the window, the status and the API's message: " + warnings.get(0));
            assertEquals(1, logs.forwarder("INFO", "works again after 5 failed attempts").size(),
                    "the end of the burst is logged once: " + logs.forwarder("INFO", "works again"));
            // every failed poll had forwarded page 1 before page 2 failed: the poll that completed skipped it
            int pageSize = Integer.parseInt(p.getProperty("trace.pageSize"));
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertEquals(1, logs.forwarder("INFO",
                    "window \\S+: 3 pages, \\d+ rows fetched, \\d+ forwarded \\(file \\d+\\), " + pageSize + " duplicates skipped").size(),
                    "page 1 was read again and skipped as duplicates: " + logs.forwarder("INFO")));
        }
    }

    @Test
    void graph_page_2_of_3_answers_500_five_times_each_with_a_new_request_id() throws Exception {
        Properties p = Fixtures.oneWindow(Fixtures.graphProperties(api, tmp), api, 3);
        api.failNextPage(2, "500", "500", "500", "500", "500");
        try (LogLines logs = LogLines.capture(); Forwarder forwarder = Forwarder.start(p)) {
            assertEveryRowOnceAfterTheBurst(forwarder, p, 6);

            // Graph's error bodies differ in their request-id: still one episode
            List<String> warnings = logs.forwarder("WARN");
            assertEquals(1, warnings.size(), "five failed polls, one WARN line: " + warnings);
            assertTrue(warnings.get(0).matches(".*window \\S+ not read: HTTP 500 .*An internal server error occurred\\. \\(request-id .*"),
                    "the line names the window, the status, the API's message and its request-id: " + warnings.get(0));
            assertTrue(logs.forwarder("INFO", "HTTP 500").stream().allMatch(l -> l.contains("works again")),
                    "no other line about the burst: " + logs.forwarder("INFO", "HTTP 500"));
            assertEquals(1, logs.forwarder("INFO", "works again after 5 failed attempts").size(),
                    "the end of the burst is logged once: " + logs.forwarder("INFO", "works again"));
        }
    }

    @Test
    void reporting_page_2_of_3_answers_503_five_times_in_a_row() throws Exception {
        Properties p = Fixtures.oneWindow(Fixtures.pipelineProperties(api, tmp), api, 3);
        p.put("trace.graph.maxBackoff", "1s");   // no Retry-After: 1 s between tries (the default doubles up to 2 min)
        api.failNextPage(2, "503", "503", "503", "503", "503");
        try (LogLines logs = LogLines.capture(); Forwarder forwarder = Forwarder.start(p)) {
            assertEveryRowOnceAfterTheBurst(forwarder, p, 6);

            assertEquals(List.of(), logs.forwarder("WARN"), "a 503 is waited out, not a failure of the window");
            List<String> throttled = logs.forwarder("INFO", "HTTP 503");
            assertEquals(1, throttled.size(), "five 503 replies in a row, one line: " + throttled);
            assertTrue(throttled.get(0).matches(".*window \\S+: HTTP 503 .*"), "the line names the window: " + throttled.get(0));
            assertEquals(1, logs.forwarder("INFO", "window \\S+: the API answers again after 5 throttled replies").size(),
                    "the end of the burst is one line: " + logs.forwarder("INFO"));
            // the poll that met the burst completed the window: one poll, three pages, nothing twice
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertEquals(1, logs.forwarder("INFO",
                    "window \\S+: 3 pages, " + api.currentKeys().size() + " rows fetched, " + api.currentKeys().size()
                    + " forwarded \\(file " + api.currentKeys().size() + "\\), 0 duplicates skipped").size(), "the window was read in one poll"));
        }
    }

    /** Waits for the window to be committed; every row is then in the file sink once and was never passed by it. */
    private void assertEveryRowOnceAfterTheBurst(Forwarder forwarder, Properties p, int page2Requests) throws Exception {
        Set<String> expected = api.currentKeys();
        String page2 = "$skiptoken=" + p.getProperty("trace.pageSize");
        try (CheckpointWatch watch = new CheckpointWatch(forwarder.checkpoint(), tmp.resolve("out"), api)) {
            try {
                await().atMost(Duration.ofSeconds(25)).until(() -> forwarder.checkpoint().read() != null
                        && Sinks.files(tmp.resolve("out")).size() >= expected.size());
            } finally {
                assertNull(watch.violation(), "the checkpoint never passed a row that was not in the file sink");
            }
            long asked = api.requests().stream().filter(u -> u.contains(page2) || u.contains("skiptoken=" + skipToken(p))).count();
            assertEquals(page2Requests, asked, "page 2 was asked until it answered: " + api.requests());
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                    assertEquals(expected, Set.copyOf(Sinks.keys(Sinks.files(tmp.resolve("out")))), "file sink"));
            List<String> keys = Sinks.keys(Sinks.files(tmp.resolve("out")));
            assertEquals(keys.size(), new HashSet<>(keys).size(), "no record twice: " + keys);
            assertNull(watch.violation(), "the checkpoint never passed a row that was not in the file sink");
            // the first commit was the whole window (later polls commit later windows)
            java.time.Instant newest = api.rowsByKey().values().stream().map(SimulatedReportingService.Row::received)
                    .max(java.util.Comparator.naturalOrder()).orElseThrow();
            assertTrue(!watch.history().get(0).isBefore(newest), "the first checkpoint covers the window: " + watch.history());
        }
    }

    /** Graph's skip token of page 2 (base64 of skip:pageSize), as the simulator writes it. */
    private static String skipToken(Properties p) {
        return java.util.Base64.getEncoder().encodeToString(("skip:" + p.getProperty("trace.pageSize"))
                .getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
}
