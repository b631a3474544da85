package org.m365trace.sinks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.m365trace.source.TraceRecords;

import com.fasterxml.jackson.databind.ObjectMapper;

class DocumentIdTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    // expected values computed apart from the code: printf '%s' KEY | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '='
    @Test
    void base64UrlOfSha256OfTheDedupeKey() throws Exception {
        assertEquals("xrNG3n4iB8KaftdbUF_5pZuFr-UxrDtUpu8Dlk3dd3E",
                DocumentId.of("3f2c1a7e-5b4d-4e8a-9c61-08de5a1b2c01", "alice@contoso.com", "Delivered"));
        assertEquals("FdBw3oDYxbeuQnw4VpIF6hh6F9P7Ux3_CHVVfqJXibA", DocumentId.of(MAPPER.readTree("""
                {"messageTraceId":"5a6b7c8d-9e0f-4a1b-8c2d-08df2e3f4a01","received":"2026-11-20T08:57:12.000Z",
                 "recipientAddress":"bob@contoso.com","status":"Pending","api":"graph"}""")));
    }

    @Test
    void aStatusChangeIsANewDocumentAndOtherFieldsDoNotCount() throws Exception {
        String pending = DocumentId.of("5a6b7c8d-9e0f-4a1b-8c2d-08df2e3f4a01", "bob@contoso.com", "Pending");
        String delivered = DocumentId.of("5a6b7c8d-9e0f-4a1b-8c2d-08df2e3f4a01", "bob@contoso.com", "Delivered");
        assertEquals("iRn9UZnC9VWKt50Y3Wu1Riij7lXwcpVcvpIDh_3FGa4", delivered);
        assertNotEquals(pending, delivered);
        assertEquals(delivered, DocumentId.of(MAPPER.readTree("""
                {"messageTraceId":"5a6b7c8d-9e0f-4a1b-8c2d-08df2e3f4a01","recipientAddress":"bob@contoso.com",
                 "status":"Delivered","subject":"another","tenant":"b","events":null}""")));
    }

    @Test
    void theSameTextAsTheSourcesDedupeKey() throws Exception {
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("messageTraceId", "c4d5e6f7-2a3b-4c5d-9e8f-08de5a1b2c03");
        record.put("recipientAddress", "alice@contoso.com");
        record.put("status", null);
        assertEquals(DocumentId.digest(TraceRecords.key(record)), DocumentId.of(MAPPER.valueToTree(record)));
        record.put("status", "FilteredAsSpam");
        assertEquals(DocumentId.digest(TraceRecords.key(record)), DocumentId.of(MAPPER.valueToTree(record)));
    }

    @Test
    void fitsAnElasticsearchIdAndAUrl() {
        String id = DocumentId.of("x".repeat(500), "y@z", "Delivered");
        assertEquals(43, id.length());
        assertTrue(id.matches("[A-Za-z0-9_-]+"), id);
    }

    @Test
    void theKeyIsTheDedupeKeyInEverySchema() throws Exception {
        String key = "5a6b7c8d-9e0f-4a1b-8c2d-08df2e3f4a01|bob@contoso.com|Pending";
        assertEquals(key, DocumentId.key(MAPPER.readTree("""
                {"messageTraceId":"5a6b7c8d-9e0f-4a1b-8c2d-08df2e3f4a01","recipientAddress":"bob@contoso.com","status":"Pending"}""")));
        assertEquals(key, DocumentId.key(MAPPER.readTree("""
                {"@timestamp":"2026-11-20T08:57:12.000Z","m365":{"message_trace":{"messageTraceId":"5a6b7c8d-9e0f-4a1b-8c2d-08df2e3f4a01",
                 "recipientAddress":"bob@contoso.com","status":"Pending"}}}""")));
        assertEquals(key, DocumentId.key(MAPPER.readTree("""
                {"id":"5a6b7c8d-9e0f-4a1b-8c2d-08df2e3f4a01","recipientAddress":"bob@contoso.com","status":"pending"}""")),
                "raw Graph row: status normalized");
        assertEquals(DocumentId.digest(key), DocumentId.of(MAPPER.readTree("""
                {"MessageTraceId":"5a6b7c8d-9e0f-4a1b-8c2d-08df2e3f4a01","RecipientAddress":"bob@contoso.com","Status":"Pending"}""")));
    }
}
