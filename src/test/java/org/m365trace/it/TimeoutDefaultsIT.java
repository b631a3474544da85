package org.m365trace.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Properties;

import org.apache.camel.component.http.HttpComponent;
import org.apache.camel.component.http.HttpEndpoint;
import org.junit.jupiter.api.Test;
import org.m365trace.Durations;

/**
 * The packaged time-outs, as the running application applies them (nothing about them is overridden here): every API
 * call, HTTP-sink POST and token request is bounded, so a hung peer costs at most one time-out per poll and never
 * stalls the forwarder; and a stop (SIGTERM) is bounded below the 30 s of the contract. {@link HungRequestIT} shows
 * that these settings are the ones that end a hung request.
 */
class TimeoutDefaultsIT extends SimulatorTestSupport {

    static final long MAX = Duration.ofMinutes(5).toMillis();

    @Override
    protected Properties settings() {
        api = Fixtures.seededSimulator(3);
        return Fixtures.pipelineProperties(api, tmp);
    }

    @Test
    void every_call_is_bounded_by_the_packaged_time_outs() throws Exception {
        // the API endpoint exists once a window was read
        await().atMost(Duration.ofSeconds(15)).until(() -> checkpoint().read() != null);

        HttpComponent http = context.getComponent("http", HttpComponent.class);
        assertBounded("camel.component.http.connectTimeout", http.getConnectTimeout());
        assertBounded("camel.component.http.connectionRequestTimeout", http.getConnectionRequestTimeout());
        assertBounded("camel.component.http.responseTimeout", http.getResponseTimeout());
        assertBounded("camel.component.http.soTimeout", http.getSoTimeout());

        List<HttpEndpoint> api = context.getEndpoints().stream().filter(HttpEndpoint.class::isInstance)
                .map(HttpEndpoint.class::cast).filter(e -> e.getEndpointUri().contains("message-trace-api")).toList();
        assertFalse(api.isEmpty(), "the API endpoint: " + context.getEndpoints());
        for (HttpEndpoint e : api) {
            assertEquals(http.getResponseTimeout(), e.getResponseTimeout(), "the API calls use the component's response time-out");
            assertEquals(http.getConnectTimeout(), e.getConnectTimeout(), "and its connect time-out");
            assertEquals(http.getConnectionRequestTimeout(), e.getConnectionRequestTimeout(), "and its pool time-out");
        }

        // the token request has its own (java.net.http) time-outs
        assertBounded("trace.connectTimeout", duration("trace.connectTimeout"));
        assertBounded("trace.readTimeout", duration("trace.readTimeout"));

        // a stop waits for in-flight work at most this long, below the contract's 30 s (camel-test replaces it with
        // its own 10 s here: ShutdownIT checks the packaged jar's stop)
        long shutdown = Long.parseLong(context.resolvePropertyPlaceholders("{{camel.main.shutdownTimeout}}"));
        assertTrue(shutdown > 0 && shutdown < 30, "camel.main.shutdownTimeout " + shutdown + " s");
    }

    private long duration(String key) {
        return Durations.parse(key, context.resolvePropertyPlaceholders("{{" + key + "}}")).toMillis();
    }

    private static void assertBounded(String key, long millis) {
        // 0 means "no time-out" to the HTTP client: a hung peer would hold the poll forever
        assertTrue(millis > 0 && millis <= MAX, key + " = " + millis + " ms: must be set, and at most 5 minutes");
    }
}
