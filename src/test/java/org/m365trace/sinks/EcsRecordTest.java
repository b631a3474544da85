package org.m365trace.sinks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.m365trace.SettingException;
import org.m365trace.source.TraceRecords;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Golden files: the rows of the API samples (src/test/resources/fixtures, copies of ../shared/samples), normalized by
 * TraceRecords and marshalled as the routes do, turned into ECS with trace.localDomains=contoso.com and compared line by
 * line with src/test/resources/golden/ecs/*.ndjson, which were written by hand from the mapping of issue 13.
 */
class EcsRecordTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private static EcsRecord contoso() {
        EcsRecord ecs = new EcsRecord();
        ecs.setLocalDomains("contoso.com");
        return ecs;
    }

    @ParameterizedTest
    @CsvSource({"reporting-verbose-page1, reporting", "reporting-verbose-page2, reporting", "graph-page1, graph",
            "graph-page2, graph"})
    void samplesBecomeTheGoldenDocuments(String sample, String api) throws IOException {
        List<String> records = normalized(sample, api);
        List<String> golden = golden(sample);
        assertEquals(golden.size(), records.size(), "rows of " + sample);
        EcsRecord ecs = contoso();
        for (int i = 0; i < records.size(); i++) {
            assertEquals(golden.get(i), ecs.toEcs(records.get(i)), sample + " row " + i);
        }
    }

    @Test
    void theLightRwsShapeGivesTheSameDocumentsAsTheVerboseOne() throws IOException {
        List<String> records = normalized("reporting-odata-page", "reporting");
        List<String> golden = golden("reporting-verbose-page1");
        EcsRecord ecs = contoso();
        for (int i = 0; i < records.size(); i++) {
            assertEquals(golden.get(i), ecs.toEcs(records.get(i)), "row " + i);
        }
    }

    @Test
    void withoutLocalDomainsThereIsNoDirectionAndNothingElseChanges() throws IOException {
        EcsRecord off = new EcsRecord();
        off.setLocalDomains("");
        List<String> records = normalized("graph-page1", "graph");
        List<String> golden = golden("graph-page1");
        for (int i = 0; i < records.size(); i++) {
            JsonNode doc = MAPPER.readTree(off.toEcs(records.get(i)));
            assertFalse(doc.path("email").has("direction"), doc.toString());
            ObjectNode expected = (ObjectNode) MAPPER.readTree(golden.get(i));
            ((ObjectNode) expected.get("email")).remove("direction");
            assertEquals(expected, doc);
        }
    }

    @Test
    void nullsAreLeftOutOfTheEcsFieldsAndKeptInTheRecord() throws IOException {
        String record = "{\"messageTraceId\":\"c4d5e6f7-2a3b-4c5d-9e8f-08de5a1b2c03\",\"messageId\":null,"
                + "\"received\":\"2026-03-02T09:30:12.900Z\",\"senderAddress\":null,\"recipientAddress\":\"alice@contoso.com\","
                + "\"subject\":null,\"status\":null,\"size\":null,\"fromIP\":null,\"toIP\":null,\"api\":\"graph\"}";
        String ecs = contoso().toEcs(record);
        assertEquals("{\"@timestamp\":\"2026-03-02T09:30:12.900Z\",\"ecs\":{\"version\":\"8.11.0\"},\"email\":{\"to\":{\"address\":[\"alice@contoso.com\"]},"
                + "\"local_id\":\"c4d5e6f7-2a3b-4c5d-9e8f-08de5a1b2c03\",\"delivery_timestamp\":\"2026-03-02T09:30:12.900Z\","
                + "\"direction\":\"inbound\"},\"event\":{\"kind\":\"event\",\"category\":[\"email\"],\"type\":[\"info\"],"
                + "\"outcome\":\"unknown\",\"dataset\":\"m365.message_trace\"},\"related\":{\"user\":[\"alice@contoso.com\"]},"
                + "\"observer\":{\"vendor\":\"Microsoft\",\"product\":\"Exchange Online\"},\"m365\":{\"message_trace\":"
                + record + "}}", ecs);
        JsonNode doc = MAPPER.readTree(ecs);
        ((ObjectNode) doc).remove("m365");
        assertFalse(doc.toString().contains("null"), doc.toString());
    }

    @Test
    void everyGoldenDocumentIsOneLineWithoutNullOutsideTheRecord() throws IOException {
        for (String sample : List.of("reporting-verbose-page1", "reporting-verbose-page2", "graph-page1", "graph-page2")) {
            for (String line : golden(sample)) {
                JsonNode doc = MAPPER.readTree(line);
                ((ObjectNode) doc).remove("m365");
                assertFalse(doc.toString().contains("null"), doc.toString());
            }
        }
        for (String record : normalized("reporting-verbose-page1", "reporting")) {
            assertFalse(contoso().toEcs(record).contains("\n"), "a newline in a subject is escaped");
        }
    }

    @Test
    void tenantEventsAndUnknownFieldsTravelUnderM365() throws IOException {
        String record = "{\"messageTraceId\":\"8d9e0f1a-2b3c-4d4e-9f5a-08df2e3f4a04\",\"messageId\":\"<m@contoso.com>\","
                + "\"received\":\"2026-11-20T08:09:44.000Z\",\"senderAddress\":\"carol@contoso.com\","
                + "\"recipientAddress\":\"nobody@fabrikam.com\",\"subject\":\"Invoice\",\"status\":\"Failed\",\"size\":112640,"
                + "\"fromIP\":\"192.0.2.10\",\"toIP\":\"198.51.100.77\",\"api\":\"graph\",\"tenant\":\"contoso\","
                + "\"events\":[{\"event\":\"Fail\",\"action\":null,\"date\":\"2026-11-20T08:10:02.000Z\",\"description\":\"550 5.1.10\"}]}";
        JsonNode doc = MAPPER.readTree(contoso().toEcs(record));
        assertEquals(MAPPER.readTree(record), doc.path("m365").path("message_trace"));
        assertEquals("failure", doc.path("event").path("outcome").asText());
        assertEquals("outbound", doc.path("email").path("direction").asText());
        assertFalse(doc.has("tenant"));
    }

    @Test
    void selfAddressedMailNamesTheUserOnce() throws IOException {
        String record = "{\"messageTraceId\":\"t\",\"received\":\"2026-11-20T08:09:44.000Z\",\"senderAddress\":\"a@contoso.com\","
                + "\"recipientAddress\":\"a@contoso.com\",\"status\":\"Delivered\",\"api\":\"graph\"}";
        JsonNode doc = MAPPER.readTree(contoso().toEcs(record));
        assertEquals(MAPPER.readTree("[\"a@contoso.com\"]"), doc.path("related").path("user"));
        assertEquals("internal", doc.path("email").path("direction").asText());
    }

    @Test
    void outcomeAndAction() throws IOException {
        assertEquals("success", EcsRecord.outcome("Delivered"));
        assertEquals("failure", EcsRecord.outcome("Failed"));
        for (String s : TraceRecords.statuses()) {
            if (!s.equals("Delivered") && !s.equals("Failed")) {
                assertEquals("unknown", EcsRecord.outcome(s), s);
            }
        }
        assertEquals("unknown", EcsRecord.outcome(null));
        JsonNode doc = MAPPER.readTree(new EcsRecord().toEcs("{\"messageTraceId\":\"t\",\"status\":\"GettingStatus\"}"));
        assertEquals("gettingstatus", doc.path("event").path("action").asText());
    }

    @Test
    void datasetCanBeSet() throws IOException {
        EcsRecord ecs = new EcsRecord();
        ecs.setDataset("microsoft_exchange_online_message_trace.log");
        assertEquals("microsoft_exchange_online_message_trace.log",
                MAPPER.readTree(ecs.toEcs("{\"messageTraceId\":\"t\"}")).path("event").path("dataset").asText());
        ecs.setDataset(" ");
        assertEquals(EcsRecord.DEFAULT_DATASET, MAPPER.readTree(ecs.toEcs("{\"messageTraceId\":\"t\"}")).path("event").path("dataset").asText());
    }

    @Test
    void wrongInputAndWrongDomainsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new EcsRecord().toEcs("not json"));
        assertThrows(IllegalArgumentException.class, () -> new EcsRecord().toEcs("[1,2]"));
        SettingException e = assertThrows(SettingException.class, () -> new EcsRecord().setLocalDomains("alice@contoso.com"));
        assertTrue(e.getMessage().startsWith("trace.localDomains: "), e.getMessage());
    }

    /** The rows of a sample page, each normalized and marshalled to one JSON line as the routes hand it to the sinks. */
    static List<String> normalized(String sample, String api) throws IOException {
        JsonNode page;
        try (InputStream in = EcsRecordTest.class.getResourceAsStream("/fixtures/" + sample + ".json")) {
            page = MAPPER.readTree(in);
        }
        JsonNode rows = page.has("d") ? page.path("d").path("results") : page.path("value");
        List<String> out = new ArrayList<>();
        for (Iterator<JsonNode> it = rows.elements(); it.hasNext();) {
            Map<String, Object> record = TraceRecords.normalize(it.next(), api);
            out.add(MAPPER.writeValueAsString(record));
        }
        assertFalse(out.isEmpty(), sample);
        return out;
    }

    static List<String> golden(String sample) throws IOException {
        try (InputStream in = EcsRecordTest.class.getResourceAsStream("/golden/ecs/" + sample + ".ndjson")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).toList();
        }
    }
}
