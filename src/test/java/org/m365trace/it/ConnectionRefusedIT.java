package org.m365trace.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.apache.camel.builder.NotifyBuilder;
import org.junit.jupiter.api.Test;

/**
 * An API whose port refuses connections: down when the forwarder starts, then up on that port, then down again while
 * new mail arrives, then up again. While it is down the checkpoint does not move; each outage is one WARN line (however
 * many polls fail) and one line when it works again; in the end every row is in the file sink exactly once.
 */
class ConnectionRefusedIT extends SimulatorTestSupport {

    @Override
    protected Properties settings() {
        api = Fixtures.seededSimulator(12);
        Properties p = Fixtures.oneWindow(Fixtures.pipelineProperties(api, tmp), api, 3);
        api.stop(); // the forwarder starts against a closed port
        return p;
    }

    @Test
    void closed_port_then_the_api_comes_up_on_it_twice() throws Exception {
        try (CheckpointWatch watch = new CheckpointWatch(checkpoint(), out(), api)) {
            // outage 1: the very first polls are refused
            NotifyBuilder refused = polls(3);
            assertTrue(refused.matches(15, TimeUnit.SECONDS), "three polls ran against the closed port");
            assertNull(watch.violation(), "the checkpoint never passed a row that was not in the file sink");
            assertNull(checkpoint().read(), "no window was committed while the API refused connections");
            assertTrue(Sinks.files(out()).isEmpty());
            List<String> warnings = logs.forwarder("WARN");
            assertEquals(1, warnings.size(), "one WARN for the outage, not one per poll: " + warnings);
            assertTrue(warnings.get(0).matches(".*window \\S+ not read: .*127\\.0\\.0\\.1:" + api.port() + ".*Connection refused.*"),
                    "the line names the window, the address and the refusal: " + warnings.get(0));

            // the API comes up on that port: everything arrives once
            api.start();
            Set<String> first = api.currentKeys();
            try {
                await().atMost(Duration.ofSeconds(15)).untilAsserted(() ->
                        assertEquals(first, Set.copyOf(Sinks.keys(Sinks.files(out()))), "file sink after outage 1"));
            } finally {
                assertNull(watch.violation(), "the checkpoint never passed a row that was not in the file sink");
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> checkpoint().read() != null);
            assertEquals(1, logs.forwarder("INFO", "trace-poll: works again after \\d+ failed attempts .*Connection refused").size(),
                    "the end of outage 1 is logged once: " + logs.forwarder("INFO", "works again"));

            // outage 2, while new mail arrives
            api.stop();
            Fixtures.sendNow(api, 4);
            await().atMost(Duration.ofSeconds(10)).until(() -> logs.forwarder("WARN").size() >= 2);
            Instant down = checkpoint().read();
            assertTrue(polls(3).matches(15, TimeUnit.SECONDS), "three more polls ran against the closed port");
            assertEquals(down, checkpoint().read(), "the checkpoint did not move while the API was down");
            assertEquals(2, logs.forwarder("WARN").size(), "outage 2 is one more WARN line: " + logs.forwarder("WARN"));

            api.start();
            Set<String> all = api.currentKeys();
            assertTrue(all.size() > first.size(), "mail arrived during outage 2");
            try {
                await().atMost(Duration.ofSeconds(15)).untilAsserted(() ->
                        assertEquals(all, Set.copyOf(Sinks.keys(Sinks.files(out()))), "file sink after outage 2"));
            } finally {
                assertNull(watch.violation(), "the checkpoint never passed a row that was not in the file sink");
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> logs.forwarder("INFO", "works again").size() == 2);

            List<String> keys = Sinks.keys(Sinks.files(out()));
            assertEquals(keys.size(), new HashSet<>(keys).size(), "no record twice: " + keys);
            assertNull(watch.violation(), "the checkpoint never passed a row that was not in the file sink");
            Instant last = watch.last();
            assertNotNull(last);
            assertTrue(last.isAfter(down), "the checkpoint moved on once the API was back");
            assertEquals(2, logs.forwarder("WARN").size(), "two outages, two WARN lines: " + logs.forwarder("WARN"));
            // at least six polls failed; what was said about them does not grow with their number (an outage may begin
            // with a dropped keep-alive connection before connections are refused: one INFO line for that change)
            assertTrue(logs.forwarder("(WARN|INFO)", "not read").size() <= 3, "lines about failed polls: " + logs.forwarder("(WARN|INFO)", "not read"));
        }
    }

    /** Matches once {@code n} more polls have ended, however they ended. */
    private NotifyBuilder polls(int n) {
        return new NotifyBuilder(context).fromRoute("trace-poll").whenDone(n).create();
    }
}
