package org.m365trace.sinks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.m365trace.SettingException;
import org.m365trace.source.TraceDirection;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** The request of a batch and the meaning of a reply, per preset, with documents built from the API samples. */
class HttpPresetTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Test
    void elasticBulkPairsACreateWithAStableIdAndEachDocument() throws IOException {
        String batch = batch("ecs", 3);
        HttpPreset elastic = preset("elastic-bulk");
        elastic.setElasticIndex("logs-m365-default");
        String body = text(elastic.body(utf8(batch)));
        assertTrue(body.endsWith("\n"));
        List<String> lines = body.lines().toList();
        assertEquals(6, lines.size());
        List<String> docs = batch.lines().toList();
        for (int i = 0; i < 3; i++) {
            JsonNode action = MAPPER.readTree(lines.get(2 * i)).get("create");
            assertEquals("logs-m365-default", action.get("_index").asText());
            JsonNode doc = MAPPER.readTree(docs.get(i));
            JsonNode record = doc.path("m365").path("message_trace");
            assertEquals(DocumentId.of(record.get("messageTraceId").asText(), record.get("recipientAddress").asText(),
                    record.get("status").asText()), action.get("_id").asText());
            assertEquals(docs.get(i), lines.get(2 * i + 1));
        }
        assertEquals(body, text(elastic.body(utf8(batch))), "the same batch, the same ids");
    }

    @Test
    void aRowHasTheSameIdInEverySchema() throws IOException {
        for (int i = 0; i < 3; i++) {
            String normalized = batch("normalized", 3).lines().toList().get(i);
            String ecs = batch("ecs", 3).lines().toList().get(i);
            String raw = batch("raw", 3).lines().toList().get(i);
            String id = DocumentId.of(MAPPER.readTree(normalized));
            assertEquals(id, DocumentId.of(MAPPER.readTree(ecs)));
            assertEquals(id, DocumentId.of(MAPPER.readTree(raw)));
        }
    }

    @Test
    void elasticItemsAreDeliveredSentAgainOrDeadLetteredEachOnItsOwn() {
        String batch = batch("ecs", 4);
        List<String> docs = batch.lines().toList();
        String reply = "{\"took\":3,\"errors\":true,\"items\":["
                + "{\"create\":{\"_index\":\"i\",\"_id\":\"a\",\"status\":201,\"result\":\"created\"}},"
                + "{\"create\":{\"_index\":\"i\",\"_id\":\"b\",\"status\":409,\"error\":{\"type\":\"version_conflict_engine_exception\",\"reason\":\"[b]: version conflict, document already exists\"}}},"
                + "{\"create\":{\"_index\":\"i\",\"_id\":\"c\",\"status\":429,\"error\":{\"type\":\"es_rejected_execution_exception\",\"reason\":\"rejected execution\"}}},"
                + "{\"create\":{\"_index\":\"i\",\"_id\":\"d\",\"status\":400,\"error\":{\"type\":\"document_parsing_exception\",\"reason\":\"[1:99] failed to parse field [source.ip] of type [ip]\",\"caused_by\":{\"type\":\"illegal_argument_exception\",\"reason\":\"'x' is not an IP string literal.\"}}}}]}";
        HttpReply r = preset("elastic-bulk").reply(200, "OK", reply, utf8(batch));
        assertEquals(docs.get(0) + "\n" + docs.get(1) + "\n", text(r.getDelivered()));
        assertEquals(docs.get(2) + "\n", text(r.getRetry()));
        assertEquals(docs.get(3) + "\n", text(r.getDeadLetters()));
        assertTrue(r.getReason().contains("document d: 400 document_parsing_exception: [1:99] failed to parse field [source.ip]")
                && r.getReason().contains("is not an IP string literal"), r.getReason());
        assertFalse(r.isFailed());
        HttpReply clean = preset("elastic-bulk").reply(200, "OK", "{\"errors\":false,\"items\":[]}", utf8(batch));
        assertEquals(batch, text(clean.getDelivered()));
        assertEquals("", text(clean.getRetry()) + text(clean.getDeadLetters()));
    }

    @Test
    void splunkEventsCarryTimeAndMetadataAndTheDocument() throws IOException {
        HttpPreset splunk = preset("splunk-hec");
        splunk.setSplunkToken("11111111-2222-3333-4444-555555555555");
        splunk.setSplunkIndex("mail");
        splunk.setHost("collector-1");
        String batch = batch("normalized", 2);
        assertEquals("Splunk 11111111-2222-3333-4444-555555555555", authorization(splunk));
        List<String> events = text(splunk.body(utf8(batch))).lines().toList();
        assertEquals(2, events.size());
        JsonNode e = MAPPER.readTree(events.get(0));
        JsonNode record = MAPPER.readTree(batch.lines().findFirst().orElseThrow());
        Instant received = Instant.parse(record.get("received").asText());
        assertEquals(received.toEpochMilli() / 1000.0, e.get("time").asDouble(), 0.0005);
        assertTrue(events.get(0).startsWith("{\"time\":" + received.getEpochSecond() + "."), events.get(0));
        assertEquals("collector-1", e.get("host").asText());
        assertEquals("m365-trace-forwarder", e.get("source").asText());
        assertEquals("m365:messagetrace", e.get("sourcetype").asText());
        assertEquals("mail", e.get("index").asText());
        assertEquals(record, e.get("event"));
        assertEquals("", splunk.channel(), "no channel without indexer acknowledgement");
    }

    @Test
    void splunkAcknowledgementIsAwaitedUntilTrueOrTheTimeout() throws IOException {
        MutableClock clock = new MutableClock();
        HttpPreset splunk = preset("splunk-hec");
        splunk.setSplunkAck("true");
        splunk.setSplunkAckTimeout("30s");
        splunk.setUrl("https://splunk.example:8088/services/collector/event");
        splunk.setClock(clock);
        assertFalse(splunk.channel().isEmpty());
        assertEquals("https://splunk.example:8088/services/collector/ack", splunk.ackUrl());
        String batch = batch("normalized", 2);
        HttpReply r = splunk.reply(200, "OK", "{\"text\":\"Success\",\"code\":0,\"ackId\":7}", utf8(batch));
        assertEquals(7L, r.getAckId());
        assertEquals("{\"acks\":[7]}", splunk.ackQuery(r));
        assertTrue(splunk.awaitingAck(r));
        splunk.acked(r, 200, "{\"acks\":{\"7\":false}}");
        assertTrue(splunk.awaitingAck(r));
        splunk.acked(r, 200, "{\"acks\":{\"7\":true}}");
        assertFalse(splunk.awaitingAck(r));
        assertEquals(batch, text(r.getDelivered()));

        HttpReply lost = splunk.reply(200, "OK", "{\"text\":\"Success\",\"code\":0,\"ackId\":8}", utf8(batch));
        clock.add(Duration.ofSeconds(31));
        IOException e = assertThrows(IOException.class, () -> splunk.awaitingAck(lost));
        assertTrue(e.getMessage().contains("trace.splunk.ackTimeout (30s)"), e.getMessage());
    }

    @Test
    void hecErrorsAreDeadLetteredInHecsWordsOrKeptWhenBusy() {
        HttpPreset splunk = preset("splunk-hec");
        String batch = batch("normalized", 2);
        HttpReply token = splunk.reply(403, "Forbidden", "{\"text\":\"Invalid token\",\"code\":4}", utf8(batch));
        assertEquals(batch, text(token.getDeadLetters()));
        assertTrue(token.getReason().contains("HTTP 403 Forbidden from trace.http.url: HEC code 4, Invalid token"), token.getReason());
        HttpReply data = splunk.reply(400, "Bad Request", "{\"text\":\"Invalid data format\",\"code\":6,\"invalid-event-number\":1}", utf8(batch));
        assertTrue(data.getReason().contains("HEC code 6, Invalid data format (event 1 of the batch)"), data.getReason());
        assertTrue(splunk.reply(503, "Service Unavailable", "{\"text\":\"Server is busy\",\"code\":9}", utf8(batch)).isFailed());
        assertTrue(splunk.reply(500, "", "{\"text\":\"Internal server error\",\"code\":8}", utf8(batch)).isFailed());
    }

    @Test
    void azureMonitorPostsToTheRulesStreamAndSplitsAtOneMegabyte() {
        HttpPreset azure = preset("azure-monitor");
        azure.setAzureEndpoint("https://dce-1.westeurope-1.ingest.monitor.azure.com/");
        azure.setAzureDcrId("dcr-00112233445566778899aabbccddeeff");
        azure.setAzureStream("Custom-M365MessageTrace_CL");
        assertEquals("https://dce-1.westeurope-1.ingest.monitor.azure.com/dataCollectionRules/dcr-00112233445566778899aabbccddeeff"
                + "/streams/Custom-M365MessageTrace_CL?api-version=2023-01-01", azure.url());
        String small = batch("normalized", 3);
        assertNull(azure.oversized(utf8(small)));
        assertEquals(text(Spool.asJsonArray(utf8(small))), text(azure.body(utf8(small))));

        StringBuilder big = new StringBuilder();
        String line = "{\"TimeGenerated\":\"2026-11-20T08:57:12.000Z\",\"subject\":\"" + "x".repeat(2000) + "\"}";
        for (int i = 0; i < 1200; i++) {
            big.append(line).append('\n');
        }
        HttpReply r = azure.oversized(utf8(big.toString()));
        assertNotNull(r);
        assertTrue(r.isTooLarge());
        List<String> parts = azure.parts(utf8(big.toString()));
        assertTrue(parts.size() >= 3, "parts: " + parts.size());
        StringBuilder joined = new StringBuilder();
        for (String part : parts) {
            assertTrue(Spool.asJsonArray(utf8(part)).length <= 1024 * 1024);
            assertNull(azure.oversized(utf8(part)));
            joined.append(part);
        }
        assertEquals(big.toString(), joined.toString(), "every record once, in order");

        HttpReply alone = azure.oversized(utf8("{\"s\":\"" + "y".repeat(1024 * 1024) + "\"}\n"));
        assertTrue(alone.isAnyDeadLetters(), "one record too large: a dead letter");
    }

    @Test
    void statusesOfEveryPresetMeanTheSame() {
        String batch = batch("normalized", 2);
        for (String name : List.of("generic", "elastic-bulk", "splunk-hec", "azure-monitor")) {
            HttpPreset p = preset(name);
            assertTrue(p.reply(413, "", "", utf8(batch)).isTooLarge(), name);
            assertTrue(p.reply(429, "", "", utf8(batch)).isFailed(), name);
            assertTrue(p.reply(503, "", "", utf8(batch)).isFailed(), name);
            assertTrue(p.reply(408, "", "", utf8(batch)).isFailed(), name);
            assertEquals(batch, text(p.reply(204, "", "", utf8(batch)).getDelivered()), name);
        }
        assertEquals(batch, text(preset("generic").reply(400, "Bad Request", "no", utf8(batch)).getDeadLetters()));
        assertTrue(preset("azure-monitor").reply(403, "", "", utf8(batch)).isFailed(), "a role not assigned yet: the records wait");
        assertTrue(preset("generic").reply(413, "", "", utf8(batch("normalized", 1))).isAnyDeadLetters());
        List<String> halves = preset("generic").parts(utf8(batch));
        assertEquals(batch, halves.get(0) + halves.get(1));
    }

    @Test
    void missingPresetSettingsStopTheStartNamingThem() {
        HttpPreset splunk = preset("splunk-hec");
        splunk.setEnabled(true);
        assertTrue(assertThrows(SettingException.class, splunk::validate).getMessage().startsWith("trace.splunk.token"));
        HttpPreset azure = preset("azure-monitor");
        azure.setEnabled(true);
        assertTrue(assertThrows(SettingException.class, azure::validate).getMessage().startsWith("trace.azure.endpoint"));
        HttpPreset wrong = preset("kafka");
        wrong.setEnabled(true);
        assertTrue(assertThrows(SettingException.class, wrong::validate).getMessage().startsWith("trace.http.preset"));
        preset("kafka").validate();          // the HTTP sink is off: nothing to check
        assertTrue(assertThrows(SettingException.class, () -> preset("splunk-hec").setSplunkAck("yes")).getMessage()
                .startsWith("trace.splunk.ack"));
    }

    @Test
    void partialDeadLettersGetANameOfTheirOwn() {
        HttpPreset p = preset("elastic-bulk");
        String batch = batch("ecs", 2);
        HttpReply whole = HttpReply.ofRefused(utf8(batch), "no");
        assertEquals("1700000000000-000001.ndjson", p.deadLetterName("1700000000000-000001.ndjson", whole));
        HttpReply part = HttpReply.ofParts(batch.lines().findFirst().orElseThrow() + "\n", "", batch.lines().toList().get(1) + "\n", "no");
        String name = p.deadLetterName("1700000000000-000001.ndjson", part);
        assertTrue(name.matches("1700000000000-000001-refused-[A-Za-z0-9_-]{12}\\.ndjson"), name);
        assertEquals(name, p.deadLetterName("1700000000000-000001.ndjson", part), "the same lines, the same name");
    }

    private static byte[] utf8(String text) {
        return text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    private static String text(byte[] utf8) {
        return new String(utf8, java.nio.charset.StandardCharsets.UTF_8);
    }

    private static String authorization(HttpPreset p) {
        try {
            return p.authorization();
        } catch (IOException | InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    private static HttpPreset preset(String name) {
        HttpPreset p = new HttpPreset();
        p.setPreset(name);
        return p;
    }

    /** The first {@code n} records of the Reporting sample, in {@code schema}, one a line. */
    private static String batch(String schema, int n) {
        try {
            SinkSchema s = new SinkSchema();
            s.setSchema(schema);
            List<String> lines = new ArrayList<>();
            for (String[] r : SinkSchemaTest.read("reporting-verbose-page1", "reporting", TraceDirection.off())) {
                lines.add(s.document(r[0], r[1]));
            }
            return String.join("\n", lines.subList(0, n)) + "\n";
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static final class MutableClock extends Clock {
        private Instant now = Instant.parse("2026-11-30T12:00:00Z");

        void add(Duration d) {
            now = now.plus(d);
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
