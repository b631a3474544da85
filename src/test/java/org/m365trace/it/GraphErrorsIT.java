package org.m365trace.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;

import org.apache.camel.test.main.junit5.CamelMainTestSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.m365trace.TraceCheckpoint;
import org.m365trace.TraceForwarder;
import org.m365trace.demo.SimulatedReportingService;

/** Graph onboarding errors (401 service principal missing, 403 no consent): the checkpoint stays, the process stays up,
 *  and once the tenant is fixed every row arrives once. */
class GraphErrorsIT extends CamelMainTestSupport {

    // see PipelineIT: CamelTestSupport asks for the properties from its constructor
    Path tmp;
    SimulatedReportingService api;

    @Override
    protected Class<?> getMainClass() {
        return TraceForwarder.class;
    }

    @Override
    protected Properties useOverridePropertiesWithPropertiesComponent() {
        tmp = Fixtures.unchecked(() -> Files.createTempDirectory("graph-errors-it"));
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

    @AfterEach
    void stop() {
        api.stop();
    }

    @Test
    void onboarding_errors_keep_the_checkpoint_and_then_every_row_arrives_once() throws Exception {
        TraceCheckpoint checkpoint = context.getRegistry().lookupByNameAndType("traceCheckpoint", TraceCheckpoint.class);
        await().atMost(Duration.ofSeconds(20)).until(() -> api.requests().size() >= 3);
        assertNull(checkpoint.read(), "no window was committed while the API refused");
        await().atMost(Duration.ofSeconds(20)).until(() -> checkpoint.read() != null);
        Set<String> expected = api.currentKeys();
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertEquals(expected, Set.copyOf(Sinks.keys(Sinks.files(tmp.resolve("out"))))));
        List<String> keys = Sinks.keys(Sinks.files(tmp.resolve("out")));
        assertEquals(keys.size(), new HashSet<>(keys).size(), "no record twice");
    }
}
