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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.m365trace.demo.SimulatedReportingService;
import org.m365trace.it.siem.FakeElasticsearch;
import org.m365trace.it.siem.FakeLogsIngestion;
import org.m365trace.it.siem.FakeSplunkHec;
import org.m365trace.sinks.DocumentId;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The HTTP presets against fakes of the SIEMs' own protocols (org.m365trace.it.siem), fed by the fake Microsoft API:
 * every row arrives once, as ECS in Elasticsearch (stable _id, no second copy after per-item 429s and a restart from
 * scratch; the document the mapping refuses in the dead letters with Elasticsearch's reason), as acknowledged HEC events
 * in Splunk (through busy replies, a delayed and a lost ack), and as rows with TimeGenerated in Azure Monitor (a token
 * for its scope, a 429 waited out, batches split under 1 MB).
 */
class SiemPresetsIT {

    @TempDir
    Path tmp;
    SimulatedReportingService api;

    @AfterEach
    void stopApi() {
        api.stop();
    }

    @Test
    void elasticsearch_gets_each_row_once_as_ecs_and_the_refused_document_is_a_dead_letter() throws Exception {
        api = Fixtures.seededSimulator(40);
        List<String> expected = api.currentKeys().stream().sorted().toList();
        String victim = expected.get(expected.size() / 2);
        try (FakeElasticsearch es = new FakeElasticsearch()) {
            es.throttleNextItems(7);
            es.rejectWhere(doc -> victim.equals(key(doc.path("m365").path("message_trace"))),
                    "[1:42] failed to parse field [source.ip] of type [ip] in document with id '<id>'");
            Properties settings = elastic(es, tmp.resolve("run1"));
            settings.put("trace.file.schema", "raw");
            settings.put("trace.localDomains", "contoso.com");
            try (Forwarder f = Forwarder.start(settings)) {
                await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
                    assertEquals(expected.size() - 1, es.documents("m365-trace").size());
                    assertEquals(List.of(victim), deadLetterKeys(tmp.resolve("run1/state/deadletter/http")));
                    assertEquals(expected.size(), Sinks.files(tmp.resolve("run1/out")).size());
                });
            }
            Map<String, JsonNode> docs = es.documents("m365-trace");
            List<String> keys = new ArrayList<>();
            docs.forEach((id, doc) -> {
                JsonNode record = doc.path("m365").path("message_trace");
                keys.add(key(record));
                assertEquals(DocumentId.of(record), id, "a stable _id from the dedupe key");
                assertEquals("8.11.0", doc.path("ecs").path("version").asText());
                assertEquals(record.get("received").asText(), doc.get("@timestamp").asText());
                assertEquals("inbound", doc.path("email").path("direction").asText(), "fabrikam.com to contoso.com");
                assertEquals(record.get("status").asText().toLowerCase(), doc.path("event").path("action").asText());
            });
            List<String> others = new ArrayList<>(expected);
            others.remove(victim);
            assertEquals(others, keys.stream().sorted().toList(), "every other row once, none held up by the refused one");
            assertTrue(docs.keySet().stream().anyMatch(id -> es.createAttempts(id) > 1), "throttled items were sent again");
            String reason = reasons(tmp.resolve("run1/state/deadletter/http"));
            assertTrue(reason.contains("failed to parse field [source.ip]") && reason.contains("400"), reason);

            // the file sink, schema raw: each row as the Reporting Web Service served it
            List<String> rawKeys = new ArrayList<>();
            for (JsonNode row : Sinks.files(tmp.resolve("run1/out"))) {
                assertTrue(row.has("Received") && row.has("MessageTraceId") && !row.has("received"), row.toString());
                assertEquals("reporting", row.get("api").asText());
                rawKeys.add(row.get("MessageTraceId").asText() + "|" + row.get("RecipientAddress").asText() + "|" + row.get("Status").asText());
            }
            assertEquals(expected, rawKeys.stream().sorted().toList());

            // a restart from scratch (state lost) sends every row again: each is a 409, never a second document
            int attempts = docs.keySet().stream().mapToInt(es::createAttempts).sum();
            try (Forwarder again = Forwarder.start(elastic(es, tmp.resolve("run2")))) {
                await().atMost(Duration.ofSeconds(60)).until(() -> docs.keySet().stream().mapToInt(es::createAttempts).sum()
                        >= attempts + docs.size() && deadLetterKeys(tmp.resolve("run2/state/deadletter/http")).size() == 1);
            }
            assertEquals(docs.keySet(), es.documents("m365-trace").keySet(), "no second copy of any row");
        }
    }

    @Test
    void splunk_gets_each_row_as_an_acknowledged_event() throws Exception {
        api = Fixtures.seededSimulator(30);
        List<String> expected = api.currentKeys().stream().sorted().toList();
        String token = "6d3f2a1b-1111-4222-8333-944455556666";
        try (FakeSplunkHec hec = new FakeSplunkHec(token, true)) {
            hec.busyNext(2);
            hec.ackDelay(Duration.ofSeconds(2));
            hec.loseNextAcks(1);
            Properties settings = Fixtures.oneWindow(Fixtures.pipelineProperties(api, tmp), api, 3);
            settings.put("trace.http.enabled", "true");
            settings.put("trace.http.preset", "splunk-hec");
            settings.put("trace.http.url", hec.eventUrl());
            settings.put("trace.splunk.token", token);
            settings.put("trace.splunk.index", "mail");
            settings.put("trace.splunk.ack", "true");
            settings.put("trace.splunk.ackTimeout", "6s");
            try (Forwarder f = Forwarder.start(settings)) {
                await().atMost(Duration.ofSeconds(90)).untilAsserted(() ->
                        assertEquals(expected, hec.events().stream().map(e -> key(e.get("event"))).sorted().toList()));
                await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertTrue(Files.exists(tmp.resolve("state/checkpoint"))));
            }
            for (JsonNode e : hec.events()) {
                Instant received = Instant.parse(e.path("event").get("received").asText());
                assertEquals(received.toEpochMilli(), Math.round(e.get("time").asDouble() * 1000), e.toString());
                assertEquals("m365:messagetrace", e.get("sourcetype").asText());
                assertEquals("mail", e.get("index").asText());
            }
            assertEquals(1, hec.channels().size(), "one channel, so that acks are asked where the events went");
            assertTrue(hec.ackPolls() > 0);
        }
    }

    @Test
    void azure_monitor_gets_each_row_with_time_generated_under_one_megabyte_a_request() throws Exception {
        api = Fixtures.seededSimulator(1500);
        List<String> expected = api.currentKeys().stream().sorted().toList();
        try (FakeLogsIngestion azure = new FakeLogsIngestion("contoso-tenant", "sentinel-app", "s3cret",
                "dcr-0123456789abcdef0123456789abcdef", "Custom-M365MessageTrace_CL")) {
            azure.throttleNext(1, 2);
            Properties settings = Fixtures.oneWindow(Fixtures.pipelineProperties(api, tmp), api, 3);
            settings.put("trace.http.enabled", "true");
            settings.put("trace.http.preset", "azure-monitor");
            settings.put("trace.http.batchSize", "5000");
            settings.put("trace.http.batchTimeout", "2s");
            settings.put("trace.azure.endpoint", azure.endpoint());
            settings.put("trace.azure.dcrId", "dcr-0123456789abcdef0123456789abcdef");
            settings.put("trace.azure.tenantId", "contoso-tenant");
            settings.put("trace.azure.tokenUrl", azure.tokenUrl());
            settings.put("trace.azure.clientId", "sentinel-app");
            settings.put("trace.azure.clientSecret", "s3cret");
            try (Forwarder f = Forwarder.start(settings)) {
                await().atMost(Duration.ofSeconds(90)).untilAsserted(() ->
                        assertEquals(expected, azure.rows().stream().map(SiemPresetsIT::key).sorted().toList()));
            }
            for (JsonNode row : azure.rows()) {
                assertEquals(row.get("received").asText(), row.get("TimeGenerated").asText());
            }
            assertTrue(azure.largestAcceptedBody() <= 1024 * 1024, "at most 1 MB a request: " + azure.largestAcceptedBody());
            List<FakeLogsIngestion.Request> requests = azure.requests();
            assertTrue(requests.stream().filter(r -> r.status() == 204).count() >= 2, "the batch was split: " + requests);
            for (int i = 0; i + 1 < requests.size(); i++) {
                if (requests.get(i).status() == 429) {
                    assertTrue(Duration.between(requests.get(i).at(), requests.get(i + 1).at()).toMillis() >= 1900,
                            "Retry-After 2 s waited out: " + requests);
                }
            }
        }
    }

    private Properties elastic(FakeElasticsearch es, Path dir) {
        Properties settings = Fixtures.oneWindow(Fixtures.pipelineProperties(api, dir), api, 4);
        settings.put("trace.http.enabled", "true");
        settings.put("trace.http.preset", "elastic-bulk");
        settings.put("trace.http.url", es.url());
        settings.put("trace.elastic.index", "m365-trace");
        settings.put("trace.http.authorization", "ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==");
        return settings;
    }

    private static String key(JsonNode record) {
        return record.path("messageTraceId").asText() + "|" + record.path("recipientAddress").asText() + "|" + record.path("status").asText();
    }

    private static List<String> deadLetterKeys(Path dir) throws IOException {
        List<String> keys = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return keys;
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".ndjson")).toList()) {
                if (Files.exists(Path.of(f + ".reason"))) {
                    for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                        keys.add(key(Sinks.MAPPER.readTree(line).path("m365").path("message_trace")));
                    }
                }
            }
        }
        return keys;
    }

    private static String reasons(Path dir) throws IOException {
        StringBuilder all = new StringBuilder();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".reason")).toList()) {
                all.append(Files.readString(f));
            }
        }
        return all.toString();
    }
}
