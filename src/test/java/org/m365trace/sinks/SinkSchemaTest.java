package org.m365trace.sinks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.m365trace.SettingException;
import org.m365trace.source.TracePage;
import org.m365trace.source.TraceDirection;
import org.m365trace.source.TraceSource;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The sinks' schemas end to end from the API samples (src/test/resources/fixtures, copies of ../shared/samples): the
 * pages are read as the source reads them (TracePage, raw rows kept), and each record becomes the sink's document.
 * golden/raw/*.ndjson were written from the samples by a script (each row, plus "api"), not by this code.
 */
class SinkSchemaTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    @ParameterizedTest
    @CsvSource({"reporting-verbose-page1, reporting", "reporting-verbose-page2, reporting", "graph-page1, graph",
            "graph-page2, graph"})
    void rawIsTheRowAsServedPlusItsApi(String sample, String api) throws IOException {
        SinkSchema raw = schema("raw");
        List<String> golden = lines("/golden/raw/" + sample + ".ndjson");
        List<String[]> records = read(sample, api, TraceDirection.off());
        assertEquals(golden.size(), records.size());
        for (int i = 0; i < records.size(); i++) {
            assertEquals(MAPPER.readTree(golden.get(i)), MAPPER.readTree(raw.document(records.get(i)[0], records.get(i)[1])),
                    sample + " row " + i);
        }
    }

    @ParameterizedTest
    @CsvSource({"reporting-verbose-page1, reporting", "graph-page1, graph", "graph-page2, graph"})
    void ecsFromTheSourcesRecordsWithDirectionIsTheGoldenDocument(String sample, String api) throws IOException {
        SinkSchema ecs = schema("ecs");
        List<String> golden = lines("/golden/ecs/" + sample + ".ndjson");
        List<String[]> records = read(sample, api, TraceDirection.of("contoso.com"));
        for (int i = 0; i < records.size(); i++) {
            JsonNode doc = MAPPER.readTree(ecs.document(records.get(i)[0], records.get(i)[1]));
            JsonNode expected = MAPPER.readTree(golden.get(i));
            // the source added direction to the record, so it is in m365.message_trace too
            ((com.fasterxml.jackson.databind.node.ObjectNode) expected.path("m365").path("message_trace"))
                    .put("direction", expected.path("email").path("direction").asText());
            assertEquals(expected, doc, sample + " row " + i);
        }
    }

    @Test
    void normalizedIsTheRecordUnchangedAndTheDefault() throws IOException {
        String record = read("graph-page1", "graph", TraceDirection.off()).get(0)[0];
        assertTrue(record == schema("").document(record, null));
        assertTrue(record == schema("normalized").document(record, "{\"id\":1}"));
        assertFalse(record.contains("direction"));
    }

    @Test
    void elasticBulkDefaultsToEcsAndAnotherPresetToNormalized() {
        SinkSchema http = new SinkSchema();
        http.setSink("http");
        http.setPreset("elastic-bulk");
        assertEquals(TraceSchema.ECS, http.schema());
        http.setSchema("normalized");
        assertEquals(TraceSchema.NORMALIZED, http.schema());
        http.setSchema("");
        http.setPreset("splunk-hec");
        assertEquals(TraceSchema.NORMALIZED, http.schema());
    }

    @Test
    void azureMonitorDocumentsStartWithTimeGenerated() throws IOException {
        SinkSchema http = new SinkSchema();
        http.setSink("http");
        http.setPreset("azure-monitor");
        String[] record = read("reporting-verbose-page1", "reporting", TraceDirection.off()).get(0);
        JsonNode doc = MAPPER.readTree(http.document(record[0], record[1]));
        assertEquals("TimeGenerated", doc.fieldNames().next());
        assertEquals(MAPPER.readTree(record[0]).get("received"), doc.get("TimeGenerated"));
        http.setSchema("raw");
        JsonNode raw = MAPPER.readTree(http.document(record[0], record[1]));
        assertEquals(doc.get("TimeGenerated"), raw.get("TimeGenerated"));
        assertTrue(raw.has("MessageTraceId") && raw.get("Received").asText().startsWith("/Date("), raw.toString());
    }

    @Test
    void aDocumentAlreadyInTheSinksSchemaPassesUnchanged() throws IOException {
        String[] record = read("graph-page1", "graph", TraceDirection.off()).get(0);
        SinkSchema ecs = schema("ecs");
        String doc = ecs.document(record[0], record[1]);
        assertEquals(doc, ecs.document(doc, null), "a dead letter replayed to its sink");
    }

    @Test
    void aWrongSchemaStopsTheStartNamingTheSetting() {
        SettingException e = assertThrows(SettingException.class, () -> schema("elastic"));
        assertTrue(e.getMessage().startsWith("trace.file.schema"), e.getMessage());
    }

    @Test
    void receivedIsReadFromEverySchema() throws IOException {
        String[] record = read("reporting-verbose-page1", "reporting", TraceDirection.off()).get(0);
        String received = MAPPER.readTree(record[0]).get("received").asText();
        for (String schema : List.of("normalized", "ecs", "raw")) {
            assertEquals(java.time.Instant.parse(received),
                    SinkSchema.received(MAPPER.readTree(schema(schema).document(record[0], record[1]))), schema);
        }
        assertNull(SinkSchema.received(MAPPER.readTree("{\"a\":1}")));
    }

    @Test
    void aWrongSchemaNamesItsSinksSettingWhicheverPropertyIsBoundFirst() {
        SinkSchema kafka = new SinkSchema();
        kafka.setSchema("avro");
        org.m365trace.SettingException e = org.junit.jupiter.api.Assertions.assertThrows(org.m365trace.SettingException.class,
                () -> kafka.setSink("kafka"));
        assertEquals("trace.kafka.schema: expected normalized, ecs or raw, got 'avro'", e.getMessage());
        SinkSchema syslog = new SinkSchema();
        syslog.setSink("syslog");
        e = org.junit.jupiter.api.Assertions.assertThrows(org.m365trace.SettingException.class, () -> syslog.setSchema("xml"));
        assertEquals("trace.syslog.schema: expected normalized, ecs or raw, got 'xml'", e.getMessage());
    }

    private static SinkSchema schema(String value) {
        SinkSchema s = new SinkSchema();
        s.setSink("file");
        s.setSchema(value);
        return s;
    }

    /** The records of a sample page as the source emits them: {JSON, raw header}. */
    static List<String[]> read(String sample, String api, TraceDirection direction) throws IOException {
        TraceSource source = new TraceSource();
        source.setApi(api);
        source.setRawRows(true);
        source.setLocalDomains(String.join(",", direction.domains()));
        List<String[]> out = new ArrayList<>();
        try (InputStream in = SinkSchemaTest.class.getResourceAsStream("/fixtures/" + sample + ".json");
                TracePage page = source.open(in, "https://example.test/x")) {
            while (page.hasNext()) {
                @SuppressWarnings("unchecked")
                Map<String, Object> record = (Map<String, Object>) page.next();
                out.add(new String[] {MAPPER.writeValueAsString(record), source.raw(record)});
            }
        }
        assertFalse(out.isEmpty(), sample);
        return out;
    }

    private static List<String> lines(String resource) throws IOException {
        try (InputStream in = SinkSchemaTest.class.getResourceAsStream(resource)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).toList();
        }
    }
}
