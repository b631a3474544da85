package org.m365trace.chaos;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The chaos harness checks itself: {@link Verdict} and {@link SinkContents} must notice a missing record, a
 * duplicate in the files, a record nobody served, a field the contract maps otherwise, a wrong syslog header and a
 * half-written line, and must excuse only a replaced status served to killed processes alone.
 */
class VerdictTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final DateTimeFormatter MILLIS = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")
            .withZone(ZoneOffset.UTC);

    @TempDir
    Path out;

    private TraceDataset data;
    private final Map<String, List<FakeGraph.Serve>> served = new HashMap<>();
    private Instant servedAt;
    private final Set<String> exposed = new HashSet<>();
    private final List<String> lines = new ArrayList<>();

    @BeforeEach
    void serveEverything() {
        Instant t0 = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        servedAt = t0;
        data = TraceDataset.generate(7, t0, new TraceDataset.Plan(20, Duration.ofHours(2), Duration.ZERO, 0,
                0, Duration.ZERO, Duration.ZERO, 3, Duration.ofSeconds(-30), Duration.ofSeconds(-10)));
        for (TraceDataset.Row row : data.rows()) {
            for (TraceDataset.Phase phase : row.phases()) {
                served.computeIfAbsent(row.key(phase.status()), k -> new ArrayList<>()).add(new FakeGraph.Serve(0, servedAt));
                exposed.add(row.key(phase.status()));
                lines.add(record(row, phase.status()).toString());
            }
        }
    }

    @Test
    void everything_served_once_everywhere_passes() throws IOException {
        Verdict verdict = verdict(lines, lines, lines, Map.of());
        assertTrue(verdict.complete(), verdict.summary());
        assertEquals(List.of(), verdict.failures(Map.of()));
    }

    @Test
    void a_missing_record_a_file_duplicate_and_an_unknown_record_fail() throws IOException {
        List<String> file = new ArrayList<>(lines.subList(1, lines.size()));
        file.add(lines.get(2));
        ObjectNode stranger = (ObjectNode) JSON.readTree(lines.get(3));
        stranger.put("recipientAddress", "nobody@contoso.com");
        List<String> http = new ArrayList<>(lines);
        http.add(stranger.toString());

        Verdict verdict = verdict(file, lines, http, Map.of());
        assertFalse(verdict.complete());
        List<String> failures = verdict.failures(Map.of());
        assertTrue(failures.stream().anyMatch(f -> f.startsWith("file: 1 served records missing")), failures.toString());
        assertTrue(failures.stream().anyMatch(f -> f.startsWith("file: 1 duplicate records")), failures.toString());
        assertTrue(failures.stream().anyMatch(f -> f.startsWith("http: 1 records the fake never served")), failures.toString());
    }

    @Test
    void fields_the_contract_maps_otherwise_and_a_wrong_syslog_header_fail() throws IOException {
        TraceDataset.Row inbound = data.rows().stream().filter(r -> r.toIP().isEmpty()).findFirst().orElseThrow();
        List<String> file = new ArrayList<>(lines);
        ObjectNode raw = record(inbound, inbound.finalStatus());
        raw.put("toIP", "");
        raw.put("status", inbound.finalStatus().toLowerCase());
        file.add(raw.toString());
        List<String> syslog = new ArrayList<>();
        for (String line : lines) {
            syslog.add("<134>1 " + JSON.readTree(line).path("received").asText() + " host m365-trace - - - " + line);
        }

        List<String> failures = new Verdict(data, served, exposed, Map.of(), List.of(), List.of(
                files(file, true), SinkContents.syslog(syslog, List.of(), "m365-trace"), SinkContents.http(posts(lines))))
                .failures(Map.of("file", 1));
        assertTrue(failures.stream().anyMatch(f -> f.startsWith("file: ") && f.contains("absent values must be JSON null")), failures.toString());
        assertTrue(failures.stream().anyMatch(f -> f.startsWith("file: ") && f.contains("records the fake never served")), failures.toString());
        boolean someNotInformational = data.rows().stream().anyMatch(r -> Contract.severity(Contract.status(r.finalStatus())) != 6);
        assertEquals(someNotInformational, failures.stream().anyMatch(f -> f.startsWith("syslog: ") && f.contains("PRI 134")), failures.toString());
    }

    @Test
    void a_line_being_written_is_skipped_while_running_and_a_problem_once_settled() throws IOException {
        Path file = out.resolve("trace-" + JSON.readTree(lines.get(0)).path("received").asText().substring(0, 10) + ".ndjson");
        Files.writeString(file, lines.get(0) + "\n" + lines.get(0).substring(0, 20), StandardCharsets.UTF_8);
        assertEquals(List.of(), SinkContents.files(out, false).problems());
        assertTrue(SinkContents.files(out, true).problems().stream().anyMatch(p -> p.contains("no line break")));
    }

    @Test
    void only_a_replaced_status_served_just_before_kills_is_excused() throws IOException {
        TraceDataset.Row changed = data.rows().stream().filter(r -> r.phases().size() > 1).findFirst().orElseThrow();
        String first = changed.key(changed.phases().get(0).status());
        String last = changed.key(changed.finalStatus());
        List<String> withoutFirst = lines.stream().filter(l -> !key(l).equals(first)).toList();

        Map<Integer, Instant> killedRightAfter = Map.of(0, servedAt.plusSeconds(1));
        assertTrue(verdict(withoutFirst, withoutFirst, withoutFirst, killedRightAfter).complete(), "served just before a kill");
        assertFalse(verdict(withoutFirst, withoutFirst, withoutFirst, Map.of()).complete(), "served to a process that lived on");
        assertFalse(verdict(withoutFirst, withoutFirst, withoutFirst, Map.of(0, servedAt.plusSeconds(60))).complete(),
                "served to a process killed a minute later");
        List<String> withoutLast = lines.stream().filter(l -> !key(l).equals(last)).toList();
        assertFalse(verdict(withoutLast, withoutLast, withoutLast, killedRightAfter).complete(), "a final status is never excused");
    }

    private Verdict verdict(List<String> file, List<String> syslog, List<String> http, Map<Integer, Instant> killed) throws IOException {
        List<String> messages = new ArrayList<>();
        for (String line : syslog) {
            String status = JSON.readTree(line).path("status").asText();
            messages.add("<" + (16 * 8 + Contract.severity(status)) + ">1 " + JSON.readTree(line).path("received").asText()
                    + " host m365-trace - - - " + line);
        }
        return new Verdict(data, served, exposed, killed, List.of(),
                List.of(files(file, true), SinkContents.syslog(messages, List.of(), "m365-trace"), SinkContents.http(posts(http))));
    }

    private SinkContents files(List<String> records, boolean settled) throws IOException {
        try (var old = Files.list(out)) {
            for (Path f : old.toList()) {
                Files.delete(f);
            }
        }
        Map<String, StringBuilder> byDay = new HashMap<>();
        for (String line : records) {
            String day = JSON.readTree(line).path("received").asText().substring(0, 10);
            byDay.computeIfAbsent(day, d -> new StringBuilder()).append(line).append('\n');
        }
        for (Map.Entry<String, StringBuilder> e : byDay.entrySet()) {
            Files.writeString(out.resolve("trace-" + e.getKey() + ".ndjson"), e.getValue(), StandardCharsets.UTF_8);
        }
        return SinkContents.files(out, settled);
    }

    private static List<FakeHttpSink.Post> posts(List<String> records) {
        return List.of(new FakeHttpSink.Post(Instant.now(), "application/json; charset=UTF-8", "[" + String.join(",", records) + "]"));
    }

    private static String key(String line) {
        try {
            return Contract.key(JSON.readTree(line));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The record the contract wants for a served row in one status. */
    private static ObjectNode record(TraceDataset.Row row, String graphStatus) {
        ObjectNode r = JSON.createObjectNode();
        r.put("messageTraceId", row.id());
        r.put("messageId", row.messageId());
        r.put("received", MILLIS.format(row.received()));
        r.put("senderAddress", row.senderAddress());
        r.put("recipientAddress", row.recipientAddress());
        r.put("subject", row.subject());
        r.put("status", Contract.status(graphStatus));
        r.put("size", row.size());
        r.put("fromIP", row.fromIP());
        if (row.toIP().isEmpty()) {
            r.putNull("toIP");
        } else {
            r.put("toIP", row.toIP());
        }
        r.put("api", "graph");
        return r;
    }
}
