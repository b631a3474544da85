package org.m365trace.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;

import org.junit.jupiter.api.Test;

/**
 * An API that takes a page request and never answers: page 2 of a 3-page window hangs twice (no status line at all),
 * then page 3 stalls after half of its body. With {@code camel.component.http.responseTimeout}/{@code soTimeout} at
 * 2 s each attempt ends in a time-out, the poll ends without moving the checkpoint, the next poll reads the window
 * again (dedupe absorbing the rows of the pages already read) and every row arrives once. One episode: one WARN line.
 */
class HungRequestIT extends SimulatorTestSupport {

    @Override
    protected Properties settings() {
        api = Fixtures.seededSimulator(15);
        // attempt 1 and 2: page 2 never answers; attempt 3: page 3 sends half a page and then nothing; attempt 4 works
        api.failNextPage(2, "hang", "hang");
        api.failNextPage(3, "stall");
        Properties p = Fixtures.oneWindow(Fixtures.pipelineProperties(api, tmp), api, 3);
        p.put("camel.component.http.responseTimeout", "2000");
        p.put("camel.component.http.soTimeout", "2000");
        return p;
    }

    @Test
    void hung_and_stalled_pages_time_out_and_the_window_is_read_again() throws Exception {
        Set<String> expected = api.currentKeys();
        Instant started = Instant.now();
        try (CheckpointWatch watch = new CheckpointWatch(checkpoint(), out(), api)) {
            // three attempts of 2 s time-outs and 1 s polls: well under 30 s; with no time-out it would never end
            try {
                await().atMost(Duration.ofSeconds(25)).until(() -> checkpoint().read() != null
                        && Sinks.files(out()).size() >= expected.size());
            } finally {
                assertNull(watch.violation(), "the checkpoint never passed a row that was not in the file sink");
            }
            assertEquals(3, api.hungRequests(), "two hung and one stalled request were made before the window was read");
            assertTrue(Duration.between(started, Instant.now()).toSeconds() >= 5,
                    "each hung attempt waited for its time-out (2 s) before giving up");
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertEquals(expected, Set.copyOf(Sinks.keys(Sinks.files(out()))), "file sink"));
            List<String> keys = Sinks.keys(Sinks.files(out()));
            assertEquals(keys.size(), new HashSet<>(keys).size(), "no record twice: " + keys);
            assertNull(watch.violation(), "the checkpoint never passed a row that was not in the file sink");
        }
        // the re-reads went through dedupe: the window that finally completed skipped the rows forwarded before
        List<String> summaries = logs.forwarder("INFO", "^.*window .*: 3 pages, " + expected.size() + " rows fetched");
        assertTrue(summaries.stream().anyMatch(l -> !l.contains(" 0 duplicates skipped")),
                "the pages read before a time-out were not forwarded again: " + summaries);

        List<String> warnings = logs.forwarder("WARN");
        assertEquals(1, warnings.size(), "one episode of three attempts, one WARN line: " + warnings);
        assertTrue(warnings.get(0).matches(".*window \\S+\\.\\.\\S+ not read: .*(?i)(timed out|timeout).*"),
                "the line names the window and says it timed out: " + warnings.get(0));
        assertEquals(1, logs.forwarder("INFO", "works again after 3 failed attempts").size(),
                "the end of the episode is logged once: " + logs.forwarder("INFO", "works again"));
    }
}
