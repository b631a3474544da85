package org.m365trace.it.siem;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link FakeSplunkHec} answers as Splunk's HTTP Event Collector documents it, with and without indexer ack. */
class FakeSplunkHecTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOKEN = "8d8b4e5a-0000-4000-8000-00000000abcd";
    private static final String AUTH = "Splunk " + TOKEN;
    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void withoutAckIndexesAtOnceAndRefusesAsSplunkDoes() throws Exception {
        try (FakeSplunkHec hec = new FakeSplunkHec(TOKEN, false)) {
            assertTrue(hec.eventUrl().matches("http://127\\.0\\.0\\.1:\\d+/services/collector/event"));
            String two = "{\"time\":1700000000.5,\"sourcetype\":\"m365:trace\",\"event\":{\"a\":1}}\n{\"event\":\"b\",\"index\":\"mail\"}";
            assertReply(post(hec.eventUrl(), AUTH, null, two), 200, "{\"text\":\"Success\",\"code\":0}");
            assertEquals(2, hec.events().size());
            assertEquals("m365:trace", hec.events().get(0).get("sourcetype").asText());
            assertEquals("mail", hec.events().get(1).get("index").asText());

            assertReply(post(hec.eventUrl(), null, null, two), 401, "{\"text\":\"Token is required\",\"code\":2}");
            assertReply(post(hec.eventUrl(), "Bearer " + TOKEN, null, two), 401, "{\"text\":\"Invalid authorization\",\"code\":3}");
            assertReply(post(hec.eventUrl(), "Splunk nope", null, two), 403, "{\"text\":\"Invalid token\",\"code\":4}");
            assertReply(post(hec.eventUrl(), AUTH, null, ""), 400, "{\"text\":\"No data\",\"code\":5}");
            assertReply(post(hec.eventUrl(), AUTH, null, "{\"event\":\"ok\"}{\"event\":"), 400,
                    "{\"text\":\"Invalid data format\",\"code\":6,\"invalid-event-number\":1}");
            assertReply(post(hec.eventUrl(), AUTH, null, "[{\"event\":\"in an array\"}]"), 400,
                    "{\"text\":\"Invalid data format\",\"code\":6,\"invalid-event-number\":0}");
            assertReply(post(hec.eventUrl(), AUTH, null, "{\"event\":\"ok\"} {\"host\":\"h\"}"), 400,
                    "{\"text\":\"Event field is required\",\"code\":12,\"invalid-event-number\":1}");
            assertReply(post(hec.eventUrl(), AUTH, null, "{\"event\":\"  \"}"), 400,
                    "{\"text\":\"Event field cannot be blank\",\"code\":13,\"invalid-event-number\":0}");
            assertReply(post(hec.eventUrl(), AUTH, null, "{\"time\":\"2024-01-01T00:00:00Z\",\"event\":\"x\"}"), 400,
                    "{\"text\":\"Invalid data format\",\"code\":6,\"invalid-event-number\":0}");
            assertReply(post(hec.ackUrl(), AUTH, UUID.randomUUID().toString(), "{\"acks\":[0]}"), 400,
                    "{\"text\":\"ACK is disabled\",\"code\":14}");
            assertEquals(2, hec.events().size(), "a request with a bad event is refused whole");
            assertEquals(10, hec.eventRequests());
        }
    }

    @Test
    void scriptedBusyAndRejectedEvents() throws Exception {
        try (FakeSplunkHec hec = new FakeSplunkHec(TOKEN, false)) {
            hec.busyNext(1);
            assertReply(post(hec.eventUrl(), AUTH, null, "{\"event\":\"a\"}"), 503, "{\"text\":\"Server is busy\",\"code\":9}");
            hec.rejectEventsWhere(e -> e.path("event").asText().equals("poison"));
            assertReply(post(hec.eventUrl(), AUTH, null, "{\"event\":\"a\"}{\"event\":\"poison\"}"), 400,
                    "{\"text\":\"Invalid data format\",\"code\":6,\"invalid-event-number\":1}");
            assertReply(post(hec.eventUrl(), AUTH, null, "{\"event\":\"a\"}"), 200, "{\"text\":\"Success\",\"code\":0}");
            assertEquals(1, hec.events().size());
        }
    }

    @Test
    void withAckEventsAreIndexedWhenTheAckTurnsTrue() throws Exception {
        try (FakeSplunkHec hec = new FakeSplunkHec(TOKEN, true)) {
            String channel = UUID.randomUUID().toString();
            assertReply(post(hec.eventUrl(), AUTH, null, "{\"event\":\"a\"}"), 400, "{\"text\":\"Data channel is missing\",\"code\":10}");
            assertReply(post(hec.eventUrl(), AUTH, "not-a-guid", "{\"event\":\"a\"}"), 400, "{\"text\":\"Invalid data channel\",\"code\":11}");

            hec.ackDelay(Duration.ofMillis(400));
            assertReply(post(hec.eventUrl(), AUTH, channel, "{\"event\":\"a\"}"), 200, "{\"text\":\"Success\",\"code\":0,\"ackId\":0}");
            assertReply(post(hec.eventUrl(), AUTH, channel, "{\"event\":\"b\"}"), 200, "{\"text\":\"Success\",\"code\":0,\"ackId\":1}");
            String other = UUID.randomUUID().toString();
            assertReply(post(hec.eventUrl(), AUTH, other, "{\"event\":\"c\"}"), 200, "{\"text\":\"Success\",\"code\":0,\"ackId\":0}");
            assertReply(post(hec.ackUrl(), AUTH, channel, "{\"acks\":[0,1,7]}"), 200, "{\"acks\":{\"0\":false,\"1\":false,\"7\":false}}");
            assertTrue(hec.events().isEmpty(), "nothing is indexed before its ack turns true");

            await().atMost(Duration.ofSeconds(5)).until(() -> hec.events().size() == 3);
            assertReply(post(hec.ackUrl() + "?channel=" + channel, AUTH, null, "{\"acks\":[0,1]}"), 200,
                    "{\"acks\":{\"0\":true,\"1\":true}}");
            assertReply(post(hec.ackUrl(), AUTH, channel, "{\"acks\":[0]}"), 200, "{\"acks\":{\"0\":false}}");
            assertEquals(List.of("a", "b", "c"), hec.events().stream().map(e -> e.get("event").asText()).toList());
            assertEquals(Set.of(channel, other), hec.channels());
            assertEquals(3, hec.ackPolls());
            assertReply(post(hec.ackUrl(), null, channel, "{\"acks\":[0]}"), 401, "{\"text\":\"Token is required\",\"code\":2}");
        }
    }

    @Test
    void aLostAckNeverTurnsTrueAndItsEventsAreNeverIndexed() throws Exception {
        try (FakeSplunkHec hec = new FakeSplunkHec(TOKEN, true)) {
            String channel = UUID.randomUUID().toString();
            hec.loseNextAcks(1);
            assertReply(post(hec.eventUrl(), AUTH, channel, "{\"event\":\"lost\"}"), 200, "{\"text\":\"Success\",\"code\":0,\"ackId\":0}");
            assertReply(post(hec.eventUrl(), AUTH, channel, "{\"event\":\"kept\"}"), 200, "{\"text\":\"Success\",\"code\":0,\"ackId\":1}");
            Thread.sleep(100);
            assertReply(post(hec.ackUrl(), AUTH, channel, "{\"acks\":[0,1]}"), 200, "{\"acks\":{\"0\":false,\"1\":true}}");
            assertEquals(List.of("kept"), hec.events().stream().map(e -> e.get("event").asText()).toList());
        }
    }

    private static void assertReply(HttpResponse<String> response, int status, String json) throws Exception {
        assertEquals(status, response.statusCode(), response.body());
        assertEquals(JSON.readTree(json), JSON.readTree(response.body()));
    }

    private HttpResponse<String> post(String url, String authorization, String channel, String body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.ofString(body));
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        if (channel != null) {
            request.header("X-Splunk-Request-Channel", channel);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }
}
