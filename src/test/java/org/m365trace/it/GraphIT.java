package org.m365trace.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.m365trace.demo.SimulatedReportingService;
import org.m365trace.state.TraceCheckpoint;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A 12-day catch-up from Microsoft Graph (simulated: window rules enforced with 400s, 429 with Retry-After, tokens
 * that expire every few seconds, details of one message gone): every row once in every sink, no request breaking a
 * window rule or coming before its Retry-After, one token per lifetime.
 */
class GraphIT extends SimulatorTestSupport {

    String forgotten;

    @Override
    protected Properties settings() {
        api = Fixtures.simulator(0);
        api.setTokenLifetime("4s");
        Random random = new Random(7);
        Instant now = Instant.now();
        for (int i = 0; i < 100; i++) {
            Instant received = now.minus(Duration.ofMinutes(30 + random.nextInt(12 * 24 * 60 - 60)));
            api.sendMessage(received, received);
        }
        // one message whose details Graph no longer has (getDetailsByRecipient answers 404)
        forgotten = api.rowsByKey().values().stream().filter(r -> r.status().equals("Failed")).findFirst().orElseThrow().id();
        api.forgetDetails(forgotten);
        api.failNext("429", "429", "429");
        Properties p = withSyslog(withHttp(Fixtures.graphProperties(api, tmp)));
        p.put("trace.initialLookback", "12d");
        p.put("trace.maxWindow", "30d");   // asked for more than Graph allows: windows are cut at 10 days anyway
        p.put("trace.pageSize", "40");
        p.put("trace.graph.budget", "6");
        p.put("trace.graph.budgetPeriod", "2s");
        p.put("trace.graph.details", "true");
        p.put("trace.graph.detailsStatuses", "Failed,FilteredAsSpam");
        return p;
    }

    @Test
    void twelve_day_catch_up_through_429s_and_expiring_tokens() throws Exception {
        TraceCheckpoint checkpoint = checkpoint();
        Instant started = Instant.now();
        await().atMost(Duration.ofSeconds(90)).until(() -> checkpoint.read() != null && checkpoint.read().isAfter(started.minusSeconds(5)));
        Set<String> expected = api.currentKeys();
        assertTrue(expected.size() > 100, "the seeded mail has more than one recipient per message");
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            assertEquals(expected, Set.copyOf(Sinks.keys(Sinks.files(out()))), "file sink");
            assertEquals(expected, Set.copyOf(Sinks.keys(Sinks.http(http))), "http sink");
            assertEquals(expected, Set.copyOf(Sinks.keys(Sinks.syslog(syslog))), "syslog sink");
        });
        for (List<JsonNode> sink : List.of(Sinks.files(out()), Sinks.http(http), Sinks.syslog(syslog))) {
            List<String> keys = Sinks.keys(sink);
            assertEquals(keys.size(), new HashSet<>(keys).size(), "no record twice");
            for (JsonNode rec : sink) {
                assertEquals("graph", rec.get("api").asText());
                assertTrue(!rec.has("organization"), "organization is for reporting records only");
                assertTrue(rec.get("status").asText().matches("[A-Z][A-Za-z]*"));
                assertTrue(rec.get("toIP").isNull() || !rec.get("toIP").asText().isEmpty());
                // details only for the chosen statuses; the last event tells how the message ended
                boolean wanted = List.of("Failed", "FilteredAsSpam").contains(rec.get("status").asText());
                assertEquals(wanted, rec.has("events"), rec.toString());
                if (wanted && rec.get("messageTraceId").asText().equals(forgotten)) {
                    assertTrue(rec.get("events").isNull(), "details not found: the record goes on without them " + rec);
                } else if (wanted) {
                    JsonNode events = rec.get("events");
                    assertEquals(3, events.size(), rec.toString());
                    assertEquals("Receive", events.get(0).get("event").asText());
                    assertTrue(events.get(0).get("action").isNull(), "an empty action is null");
                    assertTrue(events.get(0).get("date").asText().endsWith("Z"));
                    assertEquals(rec.get("status").asText().equals("Failed") ? "Fail" : "Spam Diagnostics",
                            events.get(2).get("event").asText());
                }
            }
        }
        assertEquals(1, logs.forwarder("WARN", "details not found \\(HTTP 404\\) for .*/messageTraces/" + forgotten + "/").size(),
                "the missing details are logged once");
        assertEquals(0, api.windowViolations(), "no request broke a window rule (10 days, 90 days back, not in the future)");
        assertEquals(0, api.retryAfterViolations(), "no request came before its Retry-After");
        assertTrue(api.detailsRequests() > 10, "details were fetched");
        int most = api.mostRequestsWithin(Duration.ofSeconds(2));
        assertTrue(most <= 6, "paced: at most trace.graph.budget=6 calls in any 2 s, saw " + most);
        List<String> requests = api.requests();
        assertTrue(requests.size() > 12, "a window per 10 days and several pages each");
        assertTrue(api.tokenRequests() < requests.size(), "tokens are cached, not asked per call");
    }
}
