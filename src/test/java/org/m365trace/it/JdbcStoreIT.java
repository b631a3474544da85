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
import org.m365trace.state.PostgresServer;
import org.m365trace.state.TraceCheckpoint;
import org.m365trace.state.TraceStateStore;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The forwarder with its state in PostgreSQL ({@code trace.state.store=jdbc}), two tenants, a real PostgreSQL 15 that
 * crashes and comes back in the middle of the run: the polls fail meanwhile (logged once per tenant), and in the end
 * every row of each tenant is in the sink exactly once, its state in the database and none in the state folder.
 */
class JdbcStoreIT {

    @TempDir
    Path tmp;

    @Test
    void every_row_once_across_a_crash_of_postgres() throws Exception {
        SimulatedReportingService a = Fixtures.simulator(3);
        SimulatedReportingService b = Fixtures.simulator(3);
        b.setUsername("svc-trace@fabrikam.com");
        b.setPassword("fabrikam-p4ss");
        try (PostgresServer pg = PostgresServer.start()) {
            String url = pg.newDatabase();
            Properties p = Fixtures.pipelineProperties(a, tmp);
            p.remove("trace.reporting.baseUrl");
            p.put("trace.tenants", "a,b");
            p.put("trace.tenant.a.reporting.baseUrl", a.baseUrl());
            p.put("trace.tenant.b.reporting.baseUrl", b.baseUrl());
            p.put("trace.tenant.b.username", "svc-trace@fabrikam.com");
            p.put("trace.tenant.b.password", "fabrikam-p4ss");
            p.put("trace.state.store", "jdbc");
            p.put("trace.state.jdbcUrl", url);
            p.put("trace.state.username", "postgres");
            Path passwordFile = tmp.resolve("pg-password");
            Files.writeString(passwordFile, "unused-by-trust-auth\n");
            p.put("trace.state.passwordFile", passwordFile.toString());
            Path out = tmp.resolve("out");
            try (LogLines logs = LogLines.capture(); Forwarder forwarder = Forwarder.start(p)) {
                await().atMost(Duration.ofSeconds(30)).until(() -> of(out, "a").size() >= 5 && of(out, "b").size() >= 5);

                pg.stop("immediate");                       // as a crash: connections cut, no goodbye
                await().atMost(Duration.ofSeconds(30)).until(() ->
                        logs.forwarder("WARN", "tenant a: .*(not read|poll failed).*PostgreSQL").size() == 1
                                && logs.forwarder("WARN", "tenant b: .*(not read|poll failed).*PostgreSQL").size() == 1);
                pg.startServer();
                int aBefore = of(out, "a").size();
                await().atMost(Duration.ofSeconds(30)).until(() -> of(out, "a").size() >= aBefore + 5);
                a.stopTraffic();
                b.stopTraffic();

                Instant last = Instant.now();
                for (String tenant : List.of("a", "b")) {
                    TraceStateStore state = new TraceStateStore();
                    state.setStore("jdbc");
                    state.setJdbcUrl(url);
                    state.setUsername("postgres");
                    state.setTenant(tenant);
                    TraceCheckpoint checkpoint = new TraceCheckpoint();
                    checkpoint.setState(state);
                    await().atMost(Duration.ofSeconds(60)).until(() -> checkpoint.read() != null
                            && checkpoint.read().isAfter(last.plusSeconds(8)));
                    state.close();
                }
                for (String tenant : List.of("a", "b")) {
                    SimulatedReportingService api = "a".equals(tenant) ? a : b;
                    Set<String> expected = new HashSet<>(api.servedKeys());
                    expected.addAll(api.currentKeys());
                    await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                            assertEquals(expected, Set.copyOf(Sinks.keys(of(out, tenant))), "tenant " + tenant));
                    List<String> keys = Sinks.keys(of(out, tenant));
                    assertEquals(keys.size(), new HashSet<>(keys).size(), "no record of tenant " + tenant + " twice");
                    Path state = tmp.resolve("state").resolve(tenant);
                    assertFalse(Files.exists(state.resolve("checkpoint")) || Files.exists(state.resolve("seen.dat")),
                            "tenant " + tenant + " keeps no state in files");
                }
                try (var files = Files.list(out)) {
                    // with the jdbc store the files are the instance's own: named by it, here by the host name
                    String own = "trace-" + TraceStateStore.instanceName("") + "-";
                    assertTrue(files.allMatch(f -> f.getFileName().toString().startsWith(own)), "files named " + own + "YYYY-MM-DD.ndjson");
                }
                assertEquals(1, logs.forwarder("WARN", "tenant a: .*(not read|poll failed)").size(), "logged once");
                assertTrue(logs.lines().stream().noneMatch(l -> l.contains("marked as broken") || l.startsWith("\tat ")),
                        "no line of the pool's, no stack trace");
                assertTrue(PostgresServer.count(url, "SELECT count(*) FROM trace_seen WHERE tenant = 'a'") >= of(out, "a").size());
                assertTrue(logs.forwarder(".*", "unused-by-trust-auth").isEmpty(), "the password is never logged");
            }
        } finally {
            a.stop();
            b.stop();
        }
    }

    private static List<JsonNode> of(Path out, String tenant) throws Exception {
        return Sinks.files(out).stream().filter(r -> tenant.equals(r.path("tenant").asText(null))).toList();
    }
}
