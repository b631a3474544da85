package org.m365trace.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

class TraceRecordsTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private static final String RWS_ROW = """
            {
              "__metadata": {"id": "x", "uri": "x", "type": "TenantReporting.MessageTrace"},
              "Organization": "contoso.onmicrosoft.com",
              "MessageId": "<7d1e2f30-aaaa-4b1c-9d2e-0f1a2b3c4d5e@fabrikam.com>",
              "Received": "/Date(1772445521512)/",
              "SenderAddress": "newsletter@fabrikam.com",
              "RecipientAddress": "alice@contoso.com",
              "Subject": "Fabrikam weekly update",
              "Status": "Delivered",
              "ToIP": null,
              "FromIP": "198.51.100.23",
              "Size": 48211,
              "MessageTraceId": "3f2c1a7e-5b4d-4e8a-9c61-08de5a1b2c01",
              "StartDate": "/Date(1772442000000)/",
              "EndDate": "/Date(1772445600000)/",
              "Index": 0
            }
            """;

    private static final String GRAPH_ROW = """
            {
              "id": "5a6b7c8d-9e0f-4a1b-8c2d-08df2e3f4a01",
              "senderAddress": "billing@fabrikam.com",
              "recipientAddress": "bob@contoso.com",
              "messageId": "<f00dcafe-0001-4abc-8def-000000000001@fabrikam.com>",
              "receivedDateTime": "2026-11-20T08:57:12Z",
              "subject": "Your November invoice",
              "size": 58213,
              "fromIP": "198.51.100.31",
              "toIP": "",
              "status": "pending"
            }
            """;

    private static final List<String> CONTRACT_FIELDS = List.of("messageTraceId", "messageId", "received",
            "senderAddress", "recipientAddress", "subject", "status", "size", "fromIP", "toIP", "organization", "api");

    // ---- parseDate / formatInstant ----

    @Test
    void parsesMicrosoftDate() {
        assertEquals(Instant.parse("2026-03-02T09:58:41.512Z"), TraceRecords.parseDate("/Date(1772445521512)/"));
    }

    @Test
    void parsesMicrosoftDateWithOffsetAsUtcMillis() {
        assertEquals(Instant.ofEpochMilli(1772445521512L), TraceRecords.parseDate("/Date(1772445521512+0000)/"));
    }

    @Test
    void parsesIsoWithoutZoneAsUtcWithSevenFractionalDigits() {
        assertEquals(Instant.parse("2026-03-02T09:58:41.512345600Z"), TraceRecords.parseDate("2026-03-02T09:58:41.5123456"));
    }

    @Test
    void parsesIsoWithZoneAndSevenFractionalDigits() {
        assertEquals(Instant.parse("2022-10-21T17:25:30.600688200Z"), TraceRecords.parseDate("2022-10-21T17:25:30.6006882Z"));
    }

    @Test
    void parsesIsoWithoutFraction() {
        assertEquals(Instant.parse("2026-11-20T08:57:12Z"), TraceRecords.parseDate("2026-11-20T08:57:12Z"));
    }

    @Test
    void badDateThrowsMalformedPage() {
        assertThrows(MalformedPageException.class, () -> TraceRecords.parseDate("yesterday at noon"));
        assertThrows(MalformedPageException.class, () -> TraceRecords.parseDate("/Date(abc)/"));
        assertThrows(MalformedPageException.class, () -> TraceRecords.parseDate(""));
    }

    @Test
    void formatInstantGivesMillisecondsAndZ() {
        assertEquals("2026-03-02T09:58:41.512Z", TraceRecords.formatInstant(TraceRecords.parseDate("2026-03-02T09:58:41.5123456")));
        assertEquals("2026-11-20T08:57:12.000Z", TraceRecords.formatInstant(Instant.parse("2026-11-20T08:57:12Z")));
        assertEquals("2022-10-21T17:25:30.600Z", TraceRecords.formatInstant(TraceRecords.parseDate("2022-10-21T17:25:30.6006882Z")));
        assertEquals("2026-03-02T09:58:41.512Z", TraceRecords.formatInstant(TraceRecords.parseDate("/Date(1772445521512)/")));
    }

    @Test
    void receivedWithoutDateObjectsIsTheSameTextAsParsedAndFormatted() {
        for (String raw : List.of("2026-11-20T08:57:12Z", "2026-11-20T08:57:12.5Z", "2026-11-20T08:57:12.05Z",
                "2022-10-21T17:25:30.6006882Z", "2024-02-29T23:59:59.999999999Z", "2000-01-01T00:00:00.000Z",
                "2026-03-02T09:58:41.5123456", "/Date(1772445521512)/", "2026-03-02T09:58:41+02:00", "2023-02-29T10:00:00Z",
                "2026-04-31T10:00:00.1Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.9999999Z", "1900-02-29T12:00:00Z",
                "2000-02-29T12:00:00.5Z")) {
            assertEquals(TraceRecords.formatInstant(TraceRecords.parseDate(raw)), TraceRecords.received(raw), raw);
        }
        assertThrows(MalformedPageException.class, () -> TraceRecords.received("2026-13-01T10:00:00Z"));
        assertEquals("2000-02-29T12:00:00.500Z", TraceRecords.received("2000-02-29T12:00:00.5Z"));
        assertEquals("9999-12-31T23:59:59.999Z", TraceRecords.received("9999-12-31T23:59:59.9999999Z"));
        assertEquals("2026-11-20T08:57:12.060Z", TraceRecords.received("2026-11-20T08:57:12.06Z"));
    }

    @Test
    void aDateWithoutAZoneIsReadAsUtcWithoutTheFormatter() {
        for (String raw : List.of("2026-03-02T09:58:41.5123456", "2026-03-02T09:58:41", "2024-02-29T23:59:59.9",
                "2000-01-01T00:00:00.000", "2026-11-20T08:57:12.123456789")) {
            Instant expected = java.time.LocalDateTime.parse(raw).toInstant(java.time.ZoneOffset.UTC);
            assertEquals(expected, TraceRecords.parseUtc(raw), raw + ": the Reporting Web Service's Received, UTC");
            assertEquals(expected, TraceRecords.parseDate(raw), raw);
            assertEquals(TraceRecords.formatInstant(expected), TraceRecords.received(raw), raw);
        }
        assertEquals("2026-03-02T09:58:41.000Z", TraceRecords.received("2026-03-02T09:58:41"));
        for (String other : List.of("2026-03-02T09:58:41+02:00", "2026-03-02T09:58:41.5+02:00", "2023-02-29T10:00:00",
                "2026-03-02T09:58:41.", "2026-03-02 09:58:41")) {
            assertNull(TraceRecords.parseUtc(other), other + ": left to the formatter");
        }
        assertEquals(Instant.parse("2026-03-02T07:58:41Z"), TraceRecords.parseDate("2026-03-02T09:58:41+02:00"));
    }

    @Test
    void millisecondsAreFormattedAsInstantsAre() {
        java.util.Random random = new java.util.Random(42);
        List<Long> samples = new java.util.ArrayList<>(List.of(0L, -1L, 1L, 951_782_400_000L, 4_107_542_399_999L, -62_135_596_800_000L,
                253_402_300_799_999L, 1_772_445_521_512L));
        for (int i = 0; i < 100_000; i++) {
            samples.add(random.nextLong() % 253_402_300_800_000L);
        }
        for (long ms : samples) {
            assertEquals(TraceRecords.formatInstant(Instant.ofEpochMilli(ms)), TraceRecords.formatMillis(ms), String.valueOf(ms));
            assertEquals(TraceRecords.formatInstant(Instant.ofEpochMilli(ms)), TraceRecords.received("/Date(" + ms + ")/"));
        }
    }

    @Test
    void recordJsonIsWhatJacksonWrites() throws Exception {
        StringBuilder every = new StringBuilder();
        for (char c = 0; c < 0x100; c++) {
            every.append(c);
        }
        Map<String, Object> record = new java.util.LinkedHashMap<>();
        record.put("messageTraceId", "a\"b\\c/d");
        record.put("subject", every + " \u2028\u2029 \u65e5\ud83d\ude00 \ud800 end");
        record.put("size", 12345678901L);
        record.put("n", 7);
        record.put("fromIP", null);
        record.put("events", List.of(Map.of("event", "Receive\n", "at", 1)));
        record.put("k\u0001ey", "");
        assertEquals(MAPPER.writeValueAsString(record), TraceRecords.write(record));
    }

    // ---- status ----

    @Test
    void statusMapsToPascalCase() {
        assertEquals("Delivered", TraceRecords.status("delivered"));
        assertEquals("FilteredAsSpam", TraceRecords.status("filteredAsSpam"));
        assertEquals("FilteredAsSpam", TraceRecords.status("FILTEREDASSPAM"));
        assertEquals("GettingStatus", TraceRecords.status("gettingStatus"));
        assertEquals("Quarantined", TraceRecords.status("quarantined"));
        assertEquals("Failed", TraceRecords.status("Failed"));
        assertEquals("NewThing", TraceRecords.status("newThing"));
        assertNull(TraceRecords.status(null));
    }

    // ---- normalize ----

    @Test
    void normalizesGraphRow() throws Exception {
        JsonNode row = MAPPER.readTree(GRAPH_ROW);
        Map<String, Object> r = TraceRecords.normalize(row, "graph");
        assertTrue(r.containsKey("toIP"), "toIP must be present as null");
        assertNull(r.get("toIP"), "an empty Graph toIP is null, never \"\"");
        assertFalse(r.containsKey("organization"), "Graph records have no organization");
        assertEquals("graph", r.get("api"));
        assertEquals("5a6b7c8d-9e0f-4a1b-8c2d-08df2e3f4a01", r.get("messageTraceId"));
        assertEquals("<f00dcafe-0001-4abc-8def-000000000001@fabrikam.com>", r.get("messageId"));
        assertEquals("2026-11-20T08:57:12.000Z", r.get("received"));
        assertEquals("billing@fabrikam.com", r.get("senderAddress"));
        assertEquals("bob@contoso.com", r.get("recipientAddress"));
        assertEquals("Your November invoice", r.get("subject"));
        assertEquals("Pending", r.get("status"));
        assertEquals(58213L, r.get("size"));
        assertEquals("198.51.100.31", r.get("fromIP"));
        List<String> expectedOrder = new ArrayList<>(CONTRACT_FIELDS);
        expectedOrder.remove("organization");
        assertEquals(expectedOrder, new ArrayList<>(r.keySet()));
    }

    @Test
    void normalizesReportingRowAsInTheReadme() throws Exception {
        JsonNode row = MAPPER.readTree(RWS_ROW);
        Map<String, Object> r = TraceRecords.normalize(row, "reporting");
        assertEquals("contoso.onmicrosoft.com", r.get("organization"));
        assertTrue(r.containsKey("toIP"));
        assertNull(r.get("toIP"));
        assertEquals("reporting", r.get("api"));
        assertEquals(CONTRACT_FIELDS, new ArrayList<>(r.keySet()), "fields in contract order");
        // the expected record for this row in docs/output.md, serialized exactly
        assertEquals("{\"messageTraceId\":\"3f2c1a7e-5b4d-4e8a-9c61-08de5a1b2c01\","
                + "\"messageId\":\"<7d1e2f30-aaaa-4b1c-9d2e-0f1a2b3c4d5e@fabrikam.com>\","
                + "\"received\":\"2026-03-02T09:58:41.512Z\",\"senderAddress\":\"newsletter@fabrikam.com\","
                + "\"recipientAddress\":\"alice@contoso.com\",\"subject\":\"Fabrikam weekly update\","
                + "\"status\":\"Delivered\",\"size\":48211,\"fromIP\":\"198.51.100.23\",\"toIP\":null,"
                + "\"organization\":\"contoso.onmicrosoft.com\",\"api\":\"reporting\"}",
                MAPPER.writeValueAsString(r));
    }

    @Test
    void normalizedNullsSerializeAsJsonNullNotString() throws Exception {
        Map<String, Object> r = TraceRecords.normalize(MAPPER.readTree(GRAPH_ROW), "graph");
        String json = MAPPER.writeValueAsString(r);
        assertTrue(json.contains("\"toIP\":null"), json);
        assertFalse(json.contains("\"null\""), json);
    }

    @Test
    void rowWithoutTraceIdIsMalformed() throws Exception {
        JsonNode row = MAPPER.readTree("{\"recipientAddress\":\"a@b.c\",\"receivedDateTime\":\"2026-11-20T08:57:12Z\"}");
        assertThrows(MalformedPageException.class, () -> TraceRecords.normalize(row, "graph"));
    }

    @Test
    void keyIsIdRecipientStatus() throws Exception {
        Map<String, Object> r = TraceRecords.normalize(MAPPER.readTree(RWS_ROW), "reporting");
        assertEquals("3f2c1a7e-5b4d-4e8a-9c61-08de5a1b2c01|alice@contoso.com|Delivered", TraceRecords.key(r));
        Map<String, Object> g = TraceRecords.normalize(MAPPER.readTree(GRAPH_ROW), "graph");
        assertEquals("5a6b7c8d-9e0f-4a1b-8c2d-08df2e3f4a01|bob@contoso.com|Pending", TraceRecords.key(g));
    }
}
