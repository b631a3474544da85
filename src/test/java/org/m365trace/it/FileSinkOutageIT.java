package org.m365trace.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;

import org.junit.jupiter.api.Test;

/**
 * The file sink's disk is full (every write: No space left on device, from the kernel's /dev/full): its records
 * wait in its spool while the HTTP sink gets every record and the window is committed; once the disk has room, the
 * files get every record once.
 */
class FileSinkOutageIT extends SimulatorTestSupport {

    static final int MESSAGES = 40;

    @Override
    protected Properties settings() {
        api = Fixtures.seededSimulator(MESSAGES);
        Properties p = Fixtures.oneWindow(withHttp(Fixtures.pipelineProperties(api, tmp)), api, 4);
        // the day files the records go to (seeded 1 to 9 minutes ago, so today or, just after midnight, yesterday)
        Fixtures.unchecked(() -> {
            Files.createDirectories(out());
            for (Path f : dayFiles()) {
                Files.createSymbolicLink(f, Path.of("/dev/full"));
            }
            return null;
        });
        return p;
    }

    private List<Path> dayFiles() {
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        return List.of(out().resolve("trace-" + today + ".ndjson"), out().resolve("trace-" + today.minusDays(1) + ".ndjson"));
    }

    @Test
    void a_full_disk_holds_up_only_the_file_sink_and_nothing_is_lost_or_doubled() throws Exception {
        List<String> expected = api.currentKeys().stream().sorted().toList();

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertEquals(expected, Sinks.keys(Sinks.http(http)).stream().sorted().toList(), "the HTTP sink goes on");
            assertTrue(checkpoint().read() != null, "the window is committed: its records are safe in the file spool");
            assertTrue(String.join("\n", logs.lines()).contains("No space left on device"), "the cause is logged");
        });
        assertEquals(List.of(), Sinks.files(out()), "nothing written while the disk is full");

        for (Path f : dayFiles()) {
            Files.delete(f);          // room again
        }
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                assertEquals(expected, Sinks.keys(Sinks.files(out())).stream().sorted().toList(), "every record in the files"));
        List<String> keys = Sinks.keys(Sinks.files(out()));
        assertEquals(keys.size(), new HashSet<>(keys).size(), "none twice");
    }
}
