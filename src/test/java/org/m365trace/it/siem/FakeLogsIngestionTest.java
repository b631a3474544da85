package org.m365trace.it.siem;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.zip.GZIPOutputStream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link FakeLogsIngestion} answers as Entra ID's token endpoint and Azure Monitor's Logs Ingestion API do. */
class FakeLogsIngestionTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    private static final String CLIENT = "c1";
    private static final String SECRET = "s3cret";
    private static final String DCR = "dcr-00000000000000000000000000000001";
    private static final String STREAM = "Custom-M365Trace_CL";
    private static final String MONITOR_SCOPE = "https://monitor.azure.com/.default";
    private static final String ROW = "{\"TimeGenerated\":\"2024-05-01T10:00:00.123Z\",\"Subject\":\"hi\"}";
    private final HttpClient http = HttpClient.newHttpClient();
    private FakeLogsIngestion azure;

    @BeforeEach
    void start() throws IOException {
        azure = new FakeLogsIngestion(TENANT, CLIENT, SECRET, DCR, STREAM);
    }

    @AfterEach
    void stop() {
        azure.close();
    }

    @Test
    void theTokenEndpointChecksTheClientAndTheScope() throws Exception {
        assertEquals(azure.endpoint() + "/" + TENANT + "/oauth2/v2.0/token", azure.tokenUrl());
        HttpResponse<String> wrongSecret = token(CLIENT, "nope", MONITOR_SCOPE);
        assertEquals(401, wrongSecret.statusCode());
        assertEquals("invalid_client", field(wrongSecret, "/error"));
        assertTrue(field(wrongSecret, "/error_description").startsWith("AADSTS7000215: Invalid client secret provided."));
        HttpResponse<String> wrongScope = token(CLIENT, SECRET, "https://monitor.azure.com");
        assertEquals(400, wrongScope.statusCode());
        assertEquals("invalid_scope", field(wrongScope, "/error"));
        assertTrue(field(wrongScope, "/error_description").startsWith("AADSTS70011: The provided value for the input parameter 'scope' is not valid"));
        assertEquals("unauthorized_client", field(token("c2", SECRET, MONITOR_SCOPE), "/error"));

        HttpResponse<String> ok = token(CLIENT, SECRET, MONITOR_SCOPE);
        assertEquals(200, ok.statusCode());
        JsonNode body = JSON.readTree(ok.body());
        assertEquals("Bearer", body.get("token_type").asText());
        assertEquals(3599, body.get("expires_in").asInt());
        assertEquals(3599, body.get("ext_expires_in").asInt());
        assertTrue(body.get("access_token").asText().length() > 20);
        assertEquals(4, azure.tokenRequests());
    }

    @Test
    void storesRowsOnlyFromAnAuthorizedWellFormedUpload() throws Exception {
        String bearer = bearer(MONITOR_SCOPE);
        String url = streamUrl(DCR, STREAM);
        assertError(upload(url, null, "application/json", "[" + ROW + "]"), 401, "InvalidToken");
        assertError(upload(url, "Bearer made-up", "application/json", "[" + ROW + "]"), 401, "InvalidToken");
        assertError(upload(url, bearer("https://graph.microsoft.com/.default"), "application/json", "[" + ROW + "]"), 401, "InvalidToken");
        assertError(upload(url.replace("2023-01-01", "2021-11-01"), bearer, "application/json", "[" + ROW + "]"), 400, "UnsupportedApiVersion");
        assertError(upload(streamUrl("dcr-other", STREAM), bearer, "application/json", "[" + ROW + "]"), 404, "InvalidDcrImmutableId");
        assertError(upload(streamUrl(DCR, "Custom-Other_CL"), bearer, "application/json", "[" + ROW + "]"), 404, "InvalidStream");
        assertError(upload(url, bearer, "text/plain", "[" + ROW + "]"), 415, "UnsupportedMediaType");
        assertError(upload(url, bearer, "application/json", ROW), 400, "InvalidContentFormat");
        assertError(upload(url, bearer, "application/json", "[{\"Subject\":\"no time\"}]"), 400, "InvalidContentFormat");
        assertError(upload(url, bearer, "application/json", "[{\"TimeGenerated\":\"yesterday\"}]"), 400, "InvalidContentFormat");
        assertTrue(azure.rows().isEmpty());

        HttpResponse<String> ok = upload(url, bearer, "application/json; charset=utf-8", "[" + ROW + "," + ROW + "]");
        assertEquals(204, ok.statusCode());
        assertEquals(2, azure.rows().size());
        assertEquals("hi", azure.rows().get(0).get("Subject").asText());
        assertEquals(("[" + ROW + "," + ROW + "]").length(), azure.largestAcceptedBody());
        assertEquals(11, azure.requests().size());
        assertEquals(204, azure.requests().get(10).status());
    }

    @Test
    void refusesMoreThanOneMegabyteSentOrUncompressed() throws Exception {
        String bearer = bearer(MONITOR_SCOPE);
        String big = "[" + ("{\"TimeGenerated\":\"2024-05-01T10:00:00Z\",\"Pad\":\"" + "x".repeat(1000) + "\"},").repeat(1100) + ROW + "]";
        HttpResponse<String> plain = upload(streamUrl(DCR, STREAM), bearer, "application/json", big);
        assertError(plain, 413, "ContentLengthLimitExceeded");
        assertEquals("Maximum allowed content length: 1048576 bytes (1 MB). Provided content length: " + big.length() + " bytes.",
                field(plain, "/error/message"));
        HttpResponse<String> gzipped = send(HttpRequest.newBuilder(URI.create(streamUrl(DCR, STREAM)))
                .header("Authorization", bearer).header("Content-Type", "application/json").header("Content-Encoding", "gzip")
                .POST(HttpRequest.BodyPublishers.ofByteArray(gzip(big))));
        assertError(gzipped, 413, "ContentLengthLimitExceeded");
        assertEquals(2, azure.rejected413());

        String small = "[" + ROW + "]";
        HttpResponse<String> ok = send(HttpRequest.newBuilder(URI.create(streamUrl(DCR, STREAM)))
                .header("Authorization", bearer).header("Content-Type", "application/json").header("Content-Encoding", "gzip")
                .POST(HttpRequest.BodyPublishers.ofByteArray(gzip(small))));
        assertEquals(204, ok.statusCode());
        assertEquals(small.length(), azure.largestAcceptedBody());
        assertTrue(azure.rows().size() == 1);
    }

    @Test
    void throttlesWithRetryAfterFailsAndExpiresTokens() throws Exception {
        String bearer = bearer(MONITOR_SCOPE);
        String url = streamUrl(DCR, STREAM);
        azure.throttleNext(1, 1);
        HttpResponse<String> throttled = upload(url, bearer, "application/json", "[" + ROW + "]");
        assertError(throttled, 429, "TooManyRequests");
        assertEquals("1", throttled.headers().firstValue("Retry-After").orElseThrow());
        Thread.sleep(1000);
        assertEquals(204, upload(url, bearer, "application/json", "[" + ROW + "]").statusCode());
        List<FakeLogsIngestion.Request> log = azure.requests();
        assertEquals(429, log.get(0).status());
        assertTrue(Duration.between(log.get(0).at(), log.get(1).at()).toMillis() >= 1000, log.toString());

        azure.failNext(1, 503);
        assertError(upload(url, bearer, "application/json", "[" + ROW + "]"), 503, "ServiceUnavailable");

        azure.expireTokens();
        assertError(upload(url, bearer, "application/json", "[" + ROW + "]"), 401, "InvalidToken");
        assertEquals(204, upload(url, bearer(MONITOR_SCOPE), "application/json", "[" + ROW + "]").statusCode());
        assertEquals(2, azure.rows().size());
    }

    private String streamUrl(String dcr, String stream) {
        return azure.endpoint() + "/dataCollectionRules/" + dcr + "/streams/" + stream + "?api-version=2023-01-01";
    }

    private String bearer(String scope) throws Exception {
        HttpResponse<String> response = token(CLIENT, SECRET, scope);
        assertEquals(200, response.statusCode(), response.body());
        return "Bearer " + field(response, "/access_token");
    }

    private HttpResponse<String> token(String client, String secret, String scope) throws Exception {
        String form = "grant_type=client_credentials&client_id=" + enc(client) + "&client_secret=" + enc(secret) + "&scope=" + enc(scope);
        return send(HttpRequest.newBuilder(URI.create(azure.tokenUrl()))
                .header("Content-Type", "application/x-www-form-urlencoded").POST(HttpRequest.BodyPublishers.ofString(form)));
    }

    private HttpResponse<String> upload(String url, String authorization, String contentType, String body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        return send(request);
    }

    private HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void assertError(HttpResponse<String> response, int status, String code) throws Exception {
        assertEquals(status, response.statusCode(), response.body());
        assertEquals(code, field(response, "/error/code"), response.body());
    }

    private static String field(HttpResponse<String> response, String pointer) throws Exception {
        return JSON.readTree(response.body()).at(pointer).asText();
    }

    private static String enc(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    private static byte[] gzip(String text) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream zip = new GZIPOutputStream(out)) {
            zip.write(text.getBytes(StandardCharsets.UTF_8));
        }
        return out.toByteArray();
    }
}
