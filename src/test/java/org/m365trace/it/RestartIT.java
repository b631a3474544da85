package org.m365trace.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;

import org.apache.camel.main.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.m365trace.TraceForwarder;
import org.m365trace.demo.SimulatedReportingService;
import org.m365trace.state.TraceCheckpoint;

/** Stop and start again on the same trace.stateDir while mail keeps flowing: no gap and no duplicate, in every sink. */
class RestartIT {

    @TempDir
    Path tmp;

    @Test
    void a_restart_on_the_same_state_has_no_gap_and_no_duplicate() throws Exception {
        SimulatedReportingService api = Fixtures.simulator(4);
        try (SyslogReceiver syslog = SyslogReceiver.udp(); HttpReceiver http = new HttpReceiver()) {
            Properties p = Fixtures.pipelineProperties(api, tmp);
            p.put("trace.syslog.enabled", "true");
            p.put("trace.syslog.protocol", "udp");
            p.put("trace.syslog.port", String.valueOf(syslog.port()));
            p.put("trace.http.enabled", "true");
            p.put("trace.http.url", http.url());
            p.put("trace.http.format", "ndjson");

            Main first = start(p);
            await().atMost(Duration.ofSeconds(30)).until(() -> Sinks.files(tmp.resolve("out")).size() >= 15);
            first.stop();
            // mail received while the forwarder is down must come on the next start
            await().atMost(Duration.ofSeconds(10)).until(() -> api.expectedKeys(Instant.MAX).size()
                    > Sinks.files(tmp.resolve("out")).size() + 10);
            Main second = start(p);
            await().atMost(Duration.ofSeconds(20)).until(() -> Sinks.files(tmp.resolve("out")).size() >= 40);
            api.stopTraffic();
            Instant last = Instant.now();
            TraceCheckpoint checkpoint = Fixtures.checkpoint(second.getCamelContext());
            await().atMost(Duration.ofSeconds(30)).until(() -> checkpoint.read().isAfter(last.plusSeconds(8)));
            Set<String> expected = api.expectedKeys(Instant.MAX);
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                assertEquals(expected, Set.copyOf(Sinks.keys(Sinks.files(tmp.resolve("out")))), "file sink");
                assertEquals(expected, Set.copyOf(Sinks.keys(Sinks.http(http))), "http sink");
                assertEquals(expected, Set.copyOf(Sinks.keys(Sinks.syslog(syslog))), "syslog sink (udp over loopback)");
            });
            second.stop();
            for (List<String> keys : List.of(Sinks.keys(Sinks.files(tmp.resolve("out"))), Sinks.keys(Sinks.http(http)))) {
                assertEquals(keys.size(), new HashSet<>(keys).size(), "no record twice");
            }
            assertTrue(http.accepted().stream().allMatch(b -> b.contentType().startsWith("application/x-ndjson")));
        } finally {
            api.stop();
        }
    }

    private static Main start(Properties p) throws Exception {
        Main main = new Main(TraceForwarder.class);
        main.setOverrideProperties(p);
        main.start();
        return main;
    }
}
