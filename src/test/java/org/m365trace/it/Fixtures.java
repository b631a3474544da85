package org.m365trace.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;

import org.apache.camel.CamelContext;
import org.m365trace.demo.SimulatedReportingService;
import org.m365trace.state.TraceCheckpoint;

import com.fasterxml.jackson.databind.JsonNode;

/** What the integration tests share: a started API simulator, the settings that point the real routes at it. */
final class Fixtures {

    static final List<String> FIELDS = List.of("messageTraceId", "messageId", "received", "senderAddress",
            "recipientAddress", "subject", "status", "size", "fromIP", "toIP", "organization", "api");

    private Fixtures() {
    }

    /** A simulator on a free loopback port: late rows (3 s after receipt), Pending rows that settle 5 s later. */
    static SimulatedReportingService simulator(double messagesPerSecond) {
        SimulatedReportingService api = new SimulatedReportingService();
        api.setPort(0);
        api.setMessagesPerSecond(messagesPerSecond);
        api.setLateBy("3s");
        api.setPendingFor("5s");
        api.setUsername("svc-trace@contoso.com");
        api.setPassword("p@ss w0rd:secret");
        return unchecked(() -> {
            api.start();
            return api;
        });
    }

    /**
     * A simulator for fault tests: no traffic, no late rows and no status change in flight ({@code pendingFor 0s}), so
     * that what a window returns is known before it is read; {@code messages} messages received 1 to 9 minutes ago.
     */
    static SimulatedReportingService seededSimulator(int messages) {
        SimulatedReportingService api = simulator(0);
        api.setPendingFor("0s");
        java.time.Instant now = java.time.Instant.now();
        for (int i = 0; i < messages; i++) {
            java.time.Instant received = now.minusSeconds(60 + i * 480L / messages);
            api.sendMessage(received, received);
        }
        return api;
    }

    /** Adds {@code messages} messages received half a second ago and visible now: rows of the next poll's window. */
    static void sendNow(SimulatedReportingService api, int messages) {
        java.time.Instant now = java.time.Instant.now();
        for (int i = 0; i < messages; i++) {
            api.sendMessage(now.minusMillis(500), now);
        }
    }

    /** The first poll reads one window of the last 10 minutes in exactly {@code pages} pages (seeded rows only). */
    static Properties oneWindow(Properties p, SimulatedReportingService api, int pages) {
        int rows = api.currentKeys().size();
        p.put("trace.initialLookback", "10m");
        p.put("trace.maxWindow", "1h");
        p.put("trace.pageSize", String.valueOf((rows + pages - 1) / pages));
        return p;
    }

    /** Fast polls over small pages and short windows, so that paging and window cutting happen within seconds. */
    static Properties pipelineProperties(SimulatedReportingService api, Path tmp) {
        Properties p = new Properties();
        p.put("trace.api", "reporting");
        p.put("trace.auth", "basic");
        p.put("trace.username", "svc-trace@contoso.com");
        p.put("trace.password", "p@ss w0rd:secret");
        p.put("trace.reporting.baseUrl", api.baseUrl());
        p.put("trace.pollInterval", "1s");
        p.put("trace.delay", "1s");
        p.put("trace.overlap", "30s");
        p.put("trace.initialLookback", "1m");
        p.put("trace.maxWindow", "20s");
        p.put("trace.pageSize", "7");
        p.put("trace.stateDir", tmp.resolve("state").toString());
        p.put("camel.management.port", "0");     // a free port (ObservabilityIT uses its own)
        p.put("trace.file.dir", tmp.resolve("out").toString());
        p.put("trace.http.batchSize", "10");
        p.put("trace.http.batchTimeout", "1s");
        return p;
    }

    /** The pipeline settings for Graph with OAuth2 against the simulator's token endpoint (client app / graph-secret). */
    static Properties graphProperties(SimulatedReportingService api, Path tmp) {
        api.setClientId("app");
        api.setClientSecret("graph-secret");
        Properties p = pipelineProperties(api, tmp);
        p.put("trace.api", "graph");
        p.put("trace.auth", "oauth2");
        p.put("trace.clientId", "app");
        p.put("trace.clientSecret", "graph-secret");
        p.put("trace.tokenUrl", api.tokenUrl());
        p.put("trace.graph.baseUrl", api.graphBaseUrl());
        return p;
    }

    /** A record as the contract describes it: every field, in order, ISO UTC date, PascalCase status, no "" or "null". */
    static void assertContractRecord(JsonNode rec) {
        assertEquals(FIELDS, iterable(rec), "fields in contract order");
        assertTrue(rec.get("received").asText().matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z"), rec.toString());
        assertTrue(rec.get("status").asText().matches("[A-Z][A-Za-z]*"), rec.toString());
        assertTrue(rec.get("size").isIntegralNumber(), rec.toString());
        rec.fields().forEachRemaining(f -> {
            if (f.getValue().isTextual() && !f.getKey().equals("subject")) {
                assertFalse(f.getValue().asText().isEmpty() || f.getValue().asText().equals("null"), rec.toString());
            }
        });
    }

    private static List<String> iterable(JsonNode rec) {
        List<String> names = new java.util.ArrayList<>();
        rec.fieldNames().forEachRemaining(names::add);
        return names;
    }

    static <T> T unchecked(Callable<T> c) {
        try {
            return c.call();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The checkpoint of the running application's source, read from its state folder ({@code trace.stateDir}): the
     * source's beans are the Kamelet's own, not in the registry.
     */
    static TraceCheckpoint checkpoint(CamelContext context) {
        TraceCheckpoint checkpoint = new TraceCheckpoint();
        checkpoint.setStateDir(context.resolvePropertyPlaceholders("{{trace.stateDir}}"));
        return checkpoint;
    }
}
