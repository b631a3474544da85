package org.m365trace.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.m365trace.demo.SimulatedReportingService;
import org.m365trace.state.TraceCheckpoint;

/** Graph onboarding errors (401 service principal missing, 403 no consent): the checkpoint stays, the process stays up,
 *  and once the tenant is fixed every row arrives once. */
class GraphErrorsIT extends SimulatorTestSupport {

    @Override
    protected Properties settings() {
        api = Fixtures.simulator(0);
        Instant now = Instant.now();
        for (int i = 0; i < 20; i++) {
            api.sendMessage(now.minus(Duration.ofMinutes(5 + i)), now.minus(Duration.ofMinutes(5 + i)));
        }
        // two polls of onboarding errors (each 401 is tried once more with a new token), then a working tenant
        api.failNext("401sp", "401sp", "403");
        Properties p = Fixtures.graphProperties(api, tmp);
        p.put("trace.initialLookback", "1h");
        p.put("trace.maxWindow", "15m");   // few requests: the default budget (90 per 5 min) is not the subject here
        p.put("trace.pollInterval", "2s");
        return p;
    }

    @Test
    void onboarding_errors_keep_the_checkpoint_and_then_every_row_arrives_once() throws Exception {
        TraceCheckpoint checkpoint = checkpoint();
        await().atMost(Duration.ofSeconds(20)).until(() -> api.requests().size() >= 3);
        assertNull(checkpoint.read(), "no window was committed while the API refused");
        await().atMost(Duration.ofSeconds(20)).until(() -> checkpoint.read() != null);
        Set<String> expected = api.currentKeys();
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertEquals(expected, Set.copyOf(Sinks.keys(Sinks.files(out())))));
        List<String> keys = Sinks.keys(Sinks.files(out()));
        assertEquals(keys.size(), new HashSet<>(keys).size(), "no record twice");
    }
}
