package org.m365trace.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * The API serves, in the middle of a window, a row without a recipient: it can never become a record. It is kept with
 * its reason in the source's dead letters, once however often its window is read, and the window (and every later one)
 * goes on: all other rows arrive once and the checkpoint moves.
 */
class UnusableRowsIT extends SimulatorTestSupport {

    String unusableId;

    @Override
    protected Properties settings() {
        api = Fixtures.seededSimulator(30);
        unusableId = api.sendUnusableRow(Instant.now().minusSeconds(300));
        api.failNextPage(3, "500");     // the first read of the window fails after the unusable row: it is read twice
        return Fixtures.oneWindow(Fixtures.pipelineProperties(api, tmp), api, 3);
    }

    @Test
    void a_row_that_cannot_become_a_record_is_kept_aside_and_the_window_goes_on() throws Exception {
        List<String> expected = api.currentKeys().stream().sorted().toList();
        Path deadLetters = tmp.resolve("state/deadletter/source");

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertEquals(expected, Sinks.keys(Sinks.files(out())).stream().sorted().toList(), "every other row, once");
            assertTrue(checkpoint().read() != null, "the window is committed");
        });

        List<Path> kept = files(deadLetters);
        assertEquals(List.of("ndjson", "ndjson.reason"), kept.stream().map(p -> p.getFileName().toString())
                .map(n -> n.substring(n.indexOf('.') + 1)).toList(), "one row kept, with its reason, however often read");
        String row = Files.readString(kept.get(0), StandardCharsets.UTF_8);
        assertTrue(row.contains(unusableId) && row.contains("\"RecipientAddress\":null") && row.endsWith("}\n"),
                "the row as the API served it: " + row);
        String reason = Files.readString(kept.get(1), StandardCharsets.UTF_8);
        assertTrue(reason.matches("(?s)\\S+Z window \\S+: the API served a row that cannot be forwarded \\(a row has no trace id, recipient or received date.*"),
                reason);

        assertEquals(1, logs.forwarder("WARN", "window \\S+ not read: HTTP 500").size(), "page 3 failed once: the window was read twice");
        // the window's line is logged just after its checkpoint: awaited, the records may be in the files before it
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertEquals(1, logs.forwarder("INFO",
                "window \\S+: \\d+ pages, " + (expected.size() + 1) + " rows fetched, \\d+ forwarded \\(file \\d+\\), "
                + "\\d+ duplicates skipped, 0 filtered out, 1 unusable \\(kept in deadletter/source\\)").size(),
                "the window's line counts it: " + logs.forwarder("INFO", "rows fetched")));
        assertTrue(logs.forwarder("WARN").stream().anyMatch(l -> l.contains("cannot be forwarded") && l.contains("deadletter/source/")),
                "a WARN line says where it is kept");
        List<String> keys = Sinks.keys(Sinks.files(out()));
        assertEquals(keys.size(), new HashSet<>(keys).size(), "none twice");
    }

    private static List<Path> files(Path dir) throws Exception {
        try (Stream<Path> files = Files.list(dir)) {
            return files.sorted().toList();
        }
    }
}
