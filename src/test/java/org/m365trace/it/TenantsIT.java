package org.m365trace.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.m365trace.demo.SimulatedReportingService;
import org.m365trace.state.TraceCheckpoint;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Two tenants in one process ({@code trace.tenants=a,b}), each against its own API: every record carries its tenant,
 * each tenant's rows arrive exactly once, each tenant keeps its own state, and while one tenant's API hangs or is down
 * the other's rows keep arriving.
 */
class TenantsIT {

    @TempDir
    Path tmp;

    @Test
    void each_tenant_complete_and_once_while_the_other_is_down() throws Exception {
        SimulatedReportingService a = Fixtures.simulator(3);
        SimulatedReportingService b = Fixtures.simulator(3);
        b.setUsername("svc-trace@fabrikam.com");
        b.setPassword("fabrikam-p4ss");
        Properties p = Fixtures.pipelineProperties(a, tmp);
        p.remove("trace.reporting.baseUrl");
        p.put("trace.tenants", "a,b");
        p.put("trace.tenant.a.reporting.baseUrl", a.baseUrl());
        p.put("trace.tenant.b.reportingBaseUrl", b.baseUrl());          // the Kamelet's parameter name works too
        p.put("trace.tenant.b.username", "svc-trace@fabrikam.com");
        p.put("trace.tenant.b.password", "fabrikam-p4ss");
        p.put("trace.tenant.b.health.sourceFailingFor", "3s");     // b's health check has a threshold of its own
        int port = Management.freePort();
        p.put("camel.management.port", String.valueOf(port));
        Management management = new Management(port);
        Path out = tmp.resolve("out");
        try (LogLines logs = LogLines.capture(); Forwarder forwarder = Forwarder.start(p)) {
            await().atMost(Duration.ofSeconds(30)).until(() -> of(out, "a").size() >= 5 && of(out, "b").size() >= 5);

            // b's API takes a request and never answers it: that holds b's poll only, a's records keep coming
            b.failNext("hang");
            await().atMost(Duration.ofSeconds(10)).until(() -> b.hungRequests() >= 1);
            int aWhileHung = of(out, "a").size();
            await().atMost(Duration.ofSeconds(30)).until(() -> of(out, "a").size() >= aWhileHung + 10);

            // b's API goes away: a's records keep coming, and b's failure is logged with b's name
            b.stop();
            int aBefore = of(out, "a").size();
            await().atMost(Duration.ofSeconds(30)).until(() -> of(out, "a").size() >= aBefore + 10);
            await().atMost(Duration.ofSeconds(10)).until(() -> !logs.forwarder("WARN", "tenant b: (window .* not read|poll failed)").isEmpty());
            assertTrue(logs.forwarder("(WARN|INFO)", "tenant a: .*(not read|poll failed)").isEmpty(), "a never failed");
            // each tenant has its own health check: b's turns DOWN past its threshold, a's stays UP
            await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
                Management.Reply health = management.health();
                assertEquals(503, health.status(), health.body());
                assertEquals("DOWN", health.check("trace-source-b"), health.body());
                assertEquals("UP", health.check("trace-source-a"), health.body());
            });

            // b comes back on the same port; then no new mail: everything either API holds must be in the sink once
            b.start();
            a.stopTraffic();
            b.stopTraffic();
            // late rows and status changes settle within seconds: once both checkpoints are past them, the APIs hold it all
            Instant last = Instant.now();
            for (String tenant : List.of("a", "b")) {
                TraceCheckpoint checkpoint = new TraceCheckpoint();
                checkpoint.setStateDir(tmp.resolve("state").resolve(tenant).toString());
                await().atMost(Duration.ofSeconds(60)).until(() -> checkpoint.read() != null && checkpoint.read().isAfter(last.plusSeconds(8)));
            }
            // every state each API served, and the state every row has now (b's rows that changed status while b was
            // down were never served in their old status)
            Set<String> expectedA = expected(a);
            Set<String> expectedB = expected(b);
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                assertEquals(expectedA, Set.copyOf(Sinks.keys(of(out, "a"))), "tenant a");
                assertEquals(expectedB, Set.copyOf(Sinks.keys(of(out, "b"))), "tenant b");
            });
            for (String tenant : List.of("a", "b")) {
                List<String> keys = Sinks.keys(of(out, tenant));
                assertEquals(keys.size(), new HashSet<>(keys).size(), "no record of tenant " + tenant + " twice");
                Path state = tmp.resolve("state").resolve(tenant);
                assertTrue(Files.exists(state.resolve("checkpoint")) && Files.exists(state.resolve("seen.dat")),
                        "tenant " + tenant + " keeps its state in " + state);
            }
            assertFalse(Files.exists(tmp.resolve("state/checkpoint")), "no source without a tenant");
            assertEquals(of(out, "a").size() + of(out, "b").size(), Sinks.files(out).size(), "every record names its tenant");
            // the meters are labelled with each tenant, and count what the file sink got of each
            Management.Metrics metrics = management.metrics();
            for (String tenant : List.of("a", "b")) {
                assertEquals(of(out, tenant).size(), metrics.sum("trace_records_forwarded_total", "sink", "file", "tenant", tenant),
                        "forwarded to the file sink for tenant " + tenant);
                assertTrue(metrics.sum("trace_rows_fetched_total", "tenant", tenant) >= of(out, tenant).size(), tenant);
                assertTrue(metrics.value("trace_checkpoint_lag_seconds", "tenant", tenant) < 60, "tenant " + tenant + " caught up");
            }
            assertEquals(200, management.health().status(), "b is back: " + management.health().body());
        } finally {
            a.stop();
            b.stop();
        }
    }

    private static Set<String> expected(SimulatedReportingService api) {
        Set<String> expected = new HashSet<>(api.servedKeys());
        expected.addAll(api.currentKeys());
        return expected;
    }

    /** The records of the file sink whose field tenant is {@code tenant}. */
    private static List<JsonNode> of(Path out, String tenant) throws Exception {
        return Sinks.files(out).stream().filter(r -> tenant.equals(r.path("tenant").asText(null))).toList();
    }
}
