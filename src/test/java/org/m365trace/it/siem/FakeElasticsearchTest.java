package org.m365trace.it.siem;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link FakeElasticsearch} answers {@code _bulk} as Elasticsearch 8 documents it, faults included. */
class FakeElasticsearchTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String NDJSON = "application/x-ndjson";
    private final HttpClient http = HttpClient.newHttpClient();
    private FakeElasticsearch es;

    @BeforeEach
    void start() throws IOException {
        es = new FakeElasticsearch();
    }

    @AfterEach
    void stop() {
        es.close();
    }

    @Test
    void createsInOrderRefusesDuplicatesAndBadIpsItemByItem() throws Exception {
        assertTrue(es.url().matches("http://127\\.0\\.0\\.1:\\d+/_bulk"), es.url());
        HttpResponse<String> first = post(es.url(), NDJSON, create("logs", "a", "{\"source\":{\"ip\":\"10.0.0.1\"}}")
                + create("logs", "b", "{\"source\":{\"ip\":\"2001:db8::1\"},\"n\":2}"), "ApiKey k1");
        JsonNode reply = JSON.readTree(first.body());
        assertEquals(200, first.statusCode());
        assertFalse(reply.get("errors").asBoolean());
        assertEquals(201, reply.at("/items/0/create/status").asInt());
        assertEquals("created", reply.at("/items/0/create/result").asText());
        assertEquals(1, reply.at("/items/0/create/_version").asInt());
        assertEquals("b", reply.at("/items/1/create/_id").asText());

        HttpResponse<String> second = post(es.url(), NDJSON, create("logs", "b", "{\"n\":3}")
                + create("logs", "c", "{\"source\":{\"ip\":\"mail.example.com\"}}") + create("logs", "d", "{}"), null);
        reply = JSON.readTree(second.body());
        assertTrue(reply.get("errors").asBoolean());
        JsonNode conflict = reply.at("/items/0/create");
        assertEquals(409, conflict.get("status").asInt());
        assertEquals("version_conflict_engine_exception", conflict.at("/error/type").asText());
        assertEquals("[b]: version conflict, document already exists (current version [1])", conflict.at("/error/reason").asText());
        assertEquals("logs", conflict.at("/error/index").asText());
        JsonNode mapping = reply.at("/items/1/create");
        assertEquals(400, mapping.get("status").asInt());
        assertEquals("document_parsing_exception", mapping.at("/error/type").asText());
        assertTrue(mapping.at("/error/reason").asText().matches("\\[1:\\d+] failed to parse field \\[source\\.ip] of type \\[ip] "
                + "in document with id 'c'\\. Preview of field's value: 'mail\\.example\\.com'"), mapping.toString());
        assertEquals(201, reply.at("/items/2/create/status").asInt());

        assertEquals(List.of("a", "b", "d"), new ArrayList<>(es.documents("logs").keySet()));
        assertEquals(2, es.documents("logs").get("b").get("n").asInt(), "the duplicate did not replace the document");
        assertEquals(2, es.createAttempts("b"));
        assertEquals(2, es.requests());
        assertEquals(java.util.Arrays.asList("ApiKey k1", null), es.authorizations());
        assertTrue(es.lastRequestBody().contains("\"_id\":\"d\""));
    }

    @Test
    void indexOverwritesAndThePathNamesTheDefaultIndex() throws Exception {
        String url = es.url().replace("/_bulk", "/traces/_bulk");
        post(url, NDJSON, "{\"index\":{\"_id\":\"x\"}}\n{\"v\":1}\n", null);
        JsonNode reply = JSON.readTree(post(url, NDJSON, "{\"index\":{\"_id\":\"x\"}}\n{\"v\":2}\n", null).body());
        assertEquals(200, reply.at("/items/0/index/status").asInt());
        assertEquals("updated", reply.at("/items/0/index/result").asText());
        assertEquals(2, reply.at("/items/0/index/_version").asInt());
        assertEquals(2, es.documents("traces").get("x").get("v").asInt());
    }

    @Test
    void refusesWholeRequestsAsElasticsearchDoes() throws Exception {
        HttpResponse<String> json = post(es.url(), "text/plain", create("logs", "a", "{}"), null);
        assertEquals(406, json.statusCode());
        assertEquals("{\"error\":\"Content-Type header [text/plain] is not supported\",\"status\":406}", json.body());

        HttpResponse<String> unterminated = post(es.url(), NDJSON, create("logs", "a", "{}").strip(), null);
        assertEquals(400, unterminated.statusCode());
        assertEquals("illegal_argument_exception", JSON.readTree(unterminated.body()).at("/error/type").asText());
        assertEquals("The bulk request must be terminated by a newline [\\n]",
                JSON.readTree(unterminated.body()).at("/error/reason").asText());

        HttpResponse<String> garbage = post(es.url(), NDJSON, create("logs", "a", "{}") + "{not json\n{}\n", null);
        assertEquals(400, garbage.statusCode());
        assertTrue(JSON.readTree(garbage.body()).at("/error/type").asText().endsWith("parse_exception"));

        HttpResponse<String> unknown = post(es.url(), NDJSON, "{\"create\":{\"_index\":\"logs\",\"_idx\":\"a\"}}\n{}\n", null);
        assertEquals(400, unknown.statusCode());
        assertTrue(es.documents("logs").isEmpty(), "nothing of a refused request is stored");
    }

    @Test
    void aDocumentLineThatIsNoObjectFailsItsItemOnly() throws Exception {
        JsonNode reply = JSON.readTree(post(es.url(), NDJSON, create("logs", "a", "[1,2]") + create("logs", "b", "{}"), null).body());
        assertEquals(400, reply.at("/items/0/create/status").asInt());
        assertEquals("document_parsing_exception", reply.at("/items/0/create/error/type").asText());
        assertEquals(201, reply.at("/items/1/create/status").asInt());
    }

    @Test
    void throttlesItemsAcrossRequests() throws Exception {
        es.throttleNextItems(2);
        JsonNode first = JSON.readTree(post(es.url(), NDJSON, create("logs", "a", "{}"), null).body());
        assertEquals(429, first.at("/items/0/create/status").asInt());
        assertEquals("es_rejected_execution_exception", first.at("/items/0/create/error/type").asText());
        JsonNode second = JSON.readTree(post(es.url(), NDJSON, create("logs", "a", "{}") + create("logs", "b", "{}"), null).body());
        assertEquals(429, second.at("/items/0/create/status").asInt());
        assertEquals(201, second.at("/items/1/create/status").asInt());
        assertTrue(second.get("errors").asBoolean());
        JsonNode third = JSON.readTree(post(es.url(), NDJSON, create("logs", "a", "{}"), null).body());
        assertEquals(201, third.at("/items/0/create/status").asInt());
        assertEquals(3, es.createAttempts("a"));
        assertEquals(List.of("b", "a"), new ArrayList<>(es.documents("logs").keySet()));
    }

    @Test
    void failsWholeRequests() throws Exception {
        es.failNextRequests(2, 503);
        for (int i = 0; i < 2; i++) {
            HttpResponse<String> refused = post(es.url(), NDJSON, create("logs", "a", "{}"), null);
            assertEquals(503, refused.statusCode());
            assertEquals(503, JSON.readTree(refused.body()).get("status").asInt());
            assertTrue(JSON.readTree(refused.body()).get("error").has("type"));
        }
        assertEquals(200, post(es.url(), NDJSON, create("logs", "a", "{}"), null).statusCode());
        assertEquals(3, es.requests());
        assertEquals(1, es.documents("logs").size());
    }

    @Test
    void aPluggableMappingRuleRefusesDocuments() throws Exception {
        es.rejectWhere(doc -> doc.has("forbidden"), "field [forbidden] is not allowed");
        JsonNode reply = JSON.readTree(post(es.url(), NDJSON, create("logs", "a", "{\"forbidden\":1}"), null).body());
        assertEquals(400, reply.at("/items/0/create/status").asInt());
        assertEquals("field [forbidden] is not allowed", reply.at("/items/0/create/error/reason").asText());
        assertNull(es.documents("logs").get("a"));
    }

    @Test
    void knowsAnIpLiteral() {
        for (String ip : List.of("10.0.0.1", "255.255.255.255", "::1", "2001:db8::1", "::ffff:10.0.0.1")) {
            assertTrue(FakeElasticsearch.isIpLiteral(ip), ip);
        }
        for (String no : List.of("256.0.0.1", "1.2.3", "localhost", "mail.example.com", "2001:db8:::1", "", "abc")) {
            assertFalse(FakeElasticsearch.isIpLiteral(no), no);
        }
    }

    private static String create(String index, String id, String doc) {
        return "{\"create\":{\"_index\":\"" + index + "\",\"_id\":\"" + id + "\"}}\n" + doc + "\n";
    }

    private HttpResponse<String> post(String url, String contentType, String body, String authorization) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }
}
