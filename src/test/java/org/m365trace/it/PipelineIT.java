package org.m365trace.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.m365trace.demo.SimulatedReportingService;
import org.m365trace.source.TraceRecords;
import org.m365trace.state.TraceCheckpoint;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The real route files against a live simulated Reporting Web Service (paging, both reply shapes, late rows, status
 * changes, injected 401/500/malformed pages) and real loopback receivers for syslog (TCP octet counting) and HTTP.
 */
class PipelineIT extends SimulatorTestSupport {

    @Override
    protected Properties settings() {
        api = Fixtures.simulator(4);
        Properties p = withHttp(withSyslog(Fixtures.pipelineProperties(api, tmp)));
        p.put("trace.http.authorization", "Bearer sink-token-123");
        return p;
    }

    @Test
    void live_traffic_with_faults_reaches_every_sink_once_with_contract_fields() throws Exception {
        http.refuseNext(3);
        // an API fault episode while traffic flows: the windows are read again, nothing is lost or doubled
        api.failNext("401", "500", "malformed", "truncated");
        await().atMost(Duration.ofSeconds(30)).until(() -> api.requests().size() > 15);
        api.failNext("truncated");
        await().atMost(Duration.ofSeconds(20)).until(() -> api.servedKeys().size() > 40);
        api.stopTraffic();

        // everything received so far becomes visible, settles, and is read within the checkpoint
        Instant last = Instant.now();
        TraceCheckpoint checkpoint = checkpoint();
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            Instant cp = checkpoint.read();
            return cp != null && cp.isAfter(last.plusSeconds(8));
        });
        Set<String> expected = api.expectedKeys(Instant.MAX);
        assertTrue(expected.size() > 40, "the simulator produced traffic");
        assertTrue(expected.stream().anyMatch(k -> k.endsWith("|Pending")), "status changes were in the traffic");

        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            assertEquals(expected, Set.copyOf(Sinks.keys(Sinks.files(out()))), "file sink");
            assertEquals(expected, Set.copyOf(Sinks.keys(Sinks.syslog(syslog))), "syslog sink");
            assertEquals(expected, Set.copyOf(Sinks.keys(Sinks.http(http))), "http sink");
        });
        for (List<JsonNode> sink : List.of(Sinks.files(out()), Sinks.syslog(syslog), Sinks.http(http))) {
            List<String> keys = Sinks.keys(sink);
            assertEquals(keys.size(), new HashSet<>(keys).size(), "no record twice in a sink");
            sink.forEach(Fixtures::assertContractRecord);
        }
        assertEquals(3, http.refused(), "three POSTs were refused, and their batches sent again");
        assertTrue(http.accepted().stream().allMatch(p -> "Bearer sink-token-123".equals(p.authorization())));
        assertTrue(http.accepted().stream().allMatch(p -> p.contentType().startsWith("application/json")));
        assertTrue(syslog.errors().isEmpty(), "octet-counting frames: " + syslog.errors());
    }

    @Test
    void every_field_matches_the_api_row_in_every_sink() throws Exception {
        await().atMost(Duration.ofSeconds(30)).until(() -> Sinks.files(out()).size() >= 12);
        api.stopTraffic();
        Map<String, SimulatedReportingService.Row> rows = api.rowsByKey();
        await().atMost(Duration.ofSeconds(20)).until(() -> Sinks.http(http).size() >= 12 && Sinks.syslog(syslog).size() >= 12);
        for (List<JsonNode> sink : List.of(Sinks.files(out()), Sinks.syslog(syslog), Sinks.http(http))) {
            for (JsonNode rec : sink) {
                SimulatedReportingService.Row row = rows.get(Sinks.keys(List.of(rec)).get(0));
                assertEquals(row.messageId(), rec.get("messageId").asText());
                assertEquals(TraceRecords.formatInstant(row.received()), rec.get("received").asText());
                assertEquals(row.sender(), rec.get("senderAddress").asText());
                assertEquals(row.subject(), rec.get("subject").asText(), "subject byte-exact (unicode, quotes, backslash, newline)");
                assertEquals(row.size(), rec.get("size").asInt());
                assertEquals(row.fromIp(), rec.get("fromIP").asText());
                if (row.toIp() == null) {
                    assertTrue(rec.get("toIP").isNull(), "a missing ToIP is JSON null");
                } else {
                    assertEquals(row.toIp(), rec.get("toIP").asText());
                }
                assertEquals("contoso.onmicrosoft.com", rec.get("organization").asText());
                assertEquals("reporting", rec.get("api").asText());
            }
        }
        // the subject with a newline arrived in syslog as one message whose header is right
        List<Sinks.Rfc5424Message> messages = syslog.messages().stream().map(Sinks.Rfc5424Message::parse).toList();
        assertTrue(messages.stream().anyMatch(m -> m.msg().contains("\\nSecond line")), "the newline subject was sent");
        for (Sinks.Rfc5424Message m : messages) {
            JsonNode rec = Sinks.MAPPER.readTree(m.msg());
            int severity = switch (rec.get("status").asText()) {
                case "Failed" -> 4;
                case "FilteredAsSpam", "Quarantined" -> 5;
                default -> 6;
            };
            assertEquals(16 * 8 + severity, m.pri());
            assertEquals("1", m.version());
            assertEquals(rec.get("received").asText(), m.timestamp());
            assertEquals("m365-trace", m.appName());
            assertFalse(m.hostname().isBlank() || m.hostname().equals("-"));
            assertFalse(m.msg().contains("\n"), "MSG is one line");
            assertFalse(m.msg().contains("\"null\""), "nothing is written as the string null");
        }
    }
}
