package org.m365trace.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.m365trace.demo.SimulatedReportingService;

/**
 * An HTTP endpoint that refuses every batch with a 400 does not hold up the other sinks: its batches become dead
 * letters with their reason, the checkpoint moves on, and the documented replay run (the packaged jar, as a user
 * starts it) delivers them once the endpoint is fixed; a replay of a time range from the API bypasses dedupe.
 */
class DeadLetterReplayIT {

    static final int MESSAGES = 30;

    @TempDir
    Path tmp;
    SimulatedReportingService api;
    HttpReceiver http;

    @AfterEach
    void stopServers() {
        api.stop();
        http.close();
    }

    @Test
    void refused_batches_wait_as_dead_letters_and_a_replay_run_delivers_them() throws Exception {
        api = Fixtures.seededSimulator(MESSAGES);
        List<String> expected = api.currentKeys().stream().sorted().toList();
        http = new HttpReceiver();
        http.rejectWith(400);
        Properties settings = Fixtures.oneWindow(Fixtures.pipelineProperties(api, tmp), api, 3);
        settings.put("trace.http.enabled", "true");
        settings.put("trace.http.url", http.url());
        Path deadLetters = tmp.resolve("state/deadletter/http");

        try (ForwarderJar service = ForwarderJar.start(tmp, "service", settings, Map.of())) {
            // the file sink gets every record and the window is committed although HTTP refuses everything
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
                assertEquals(expected, sorted(Sinks.keys(Sinks.files(tmp.resolve("out")))), service.output());
                assertTrue(Files.exists(tmp.resolve("state/checkpoint")), "checkpoint moved");
                assertEquals(expected, sorted(deadLetterKeys(deadLetters)));
            });
            assertEquals(0, http.accepted().size());
            for (Path reason : files(deadLetters, ".reason")) {
                assertTrue(Files.readString(reason).contains("HTTP 400"), Files.readString(reason));
            }
            assertTrue(service.output().contains("http sink refused a batch for good"), service.output());

            // a replay while the service runs would deliver twice: refused with one line
            try (ForwarderJar early = ForwarderJar.start(tmp, "replay-early", settings,
                    Map.of("trace.replay.sink", "http", "trace.replay.deadLetters", "http"))) {
                assertEquals(2, early.waitFor(60), early.output());
                assertTrue(early.output().contains("trace.stateDir: " + tmp.resolve("state") + " is in use"), early.output());
            }
            int exit = service.stop(30);
            assertTrue(exit == 0 || exit == 143, "stopped by SIGTERM within 30 s: " + exit);
        }

        // replayed before the endpoint is fixed: refused again, back in the dead letters, exit code 1
        try (ForwarderJar tooSoon = ForwarderJar.start(tmp, "replay-too-soon", settings,
                Map.of("trace.replay.sink", "http", "trace.replay.deadLetters", "http"))) {
            assertEquals(1, tooSoon.waitFor(90), tooSoon.output());
            assertTrue(tooSoon.output().contains("the http sink refused"), tooSoon.output());
        }
        assertEquals(expected, sorted(deadLetterKeys(deadLetters)), "every record is a dead letter again, once");
        assertEquals(0, http.accepted().size());

        // the endpoint is fixed: replay the dead letters
        http.rejectWith(0);
        try (ForwarderJar replay = ForwarderJar.start(tmp, "replay-dead-letters", settings,
                Map.of("trace.replay.sink", "http", "trace.replay.deadLetters", "http"))) {
            assertEquals(0, replay.waitFor(90), replay.output());
            assertTrue(replay.output().matches("(?s).*replay: the records of dead letter \\d+-\\d+\\.ndjson to the http sink\n.*"),
                    "each dead letter named by its file: " + replay.output());
        }
        assertEquals(expected, sorted(Sinks.keys(Sinks.http(http))));
        assertEquals(List.of(), files(deadLetters, ""), "dead letters removed once delivered");

        // a chosen time range, again from the API, to the HTTP sink only: bypasses dedupe, leaves the checkpoint
        String checkpoint = Files.readString(tmp.resolve("state/checkpoint"));
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        try (ForwarderJar replay = ForwarderJar.start(tmp, "replay-range", settings, Map.of("trace.replay.sink", "http",
                "trace.replay.from", now.minus(Duration.ofMinutes(15)).toString(), "trace.replay.to", now.toString()))) {
            assertEquals(0, replay.waitFor(90), replay.output());
        }
        List<String> twice = Stream.concat(expected.stream(), expected.stream()).sorted().toList();
        assertEquals(twice, sorted(Sinks.keys(Sinks.http(http))));
        assertEquals(expected, sorted(Sinks.keys(Sinks.files(tmp.resolve("out")))), "the file sink was not replayed to");
        assertEquals(checkpoint, Files.readString(tmp.resolve("state/checkpoint")));
    }

    private static List<String> deadLetterKeys(Path dir) throws IOException {
        HashSet<Path> complete = new HashSet<>();
        for (Path reason : files(dir, ".reason")) {
            complete.add(reason.resolveSibling(reason.getFileName().toString().replace(".reason", "")));
        }
        List<String> keys = new java.util.ArrayList<>();
        for (Path f : complete) {
            for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                keys.add(Sinks.keys(List.of(Sinks.MAPPER.readTree(line))).get(0));
            }
        }
        return keys;
    }

    private static List<Path> files(Path dir, String suffix) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(f -> f.getFileName().toString().endsWith(suffix)).sorted().toList();
        }
    }

    private static List<String> sorted(List<String> keys) {
        return keys.stream().sorted().toList();
    }
}
