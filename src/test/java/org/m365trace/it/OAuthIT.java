package org.m365trace.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.m365trace.demo.SimulatedReportingService;
import org.m365trace.state.TraceCheckpoint;

/** OAuth2 client credentials against the simulator's token endpoint: one token cached for many calls, and
 *  renewed after a 401, with every row forwarded once. */
class OAuthIT extends SimulatorTestSupport {

    @Override
    protected Properties settings() {
        api = Fixtures.simulator(3);
        api.setClientId("11111111-2222-3333-4444-555555555555");
        api.setClientSecret("client~secret.value");
        api.setTokenLifetime("1h");
        Properties p = Fixtures.pipelineProperties(api, tmp);
        p.put("trace.auth", "oauth2");
        p.put("trace.tenantId", "contoso.onmicrosoft.com");
        p.put("trace.clientId", "11111111-2222-3333-4444-555555555555");
        p.put("trace.clientSecret", "client~secret.value");
        p.put("trace.tokenUrl", api.tokenUrl());
        return p;
    }

    @Test
    void tokens_are_cached_refreshed_and_renewed_after_a_401() throws Exception {
        await().atMost(Duration.ofSeconds(30)).until(() -> Sinks.files(out()).size() >= 10);
        int requestsSoFar = api.requests().size();
        assertTrue(requestsSoFar > 5, "several API calls were made");
        assertEquals(1, api.tokenRequests(), "one token for many calls while it is valid");

        // the token becomes invalid on the service's side: the 401 makes the forwarder ask for a new one
        api.revokeTokens();
        await().atMost(Duration.ofSeconds(15)).until(() -> api.tokenRequests() == 2);

        api.stopTraffic();
        Instant last = Instant.now();
        TraceCheckpoint checkpoint = checkpoint();
        await().atMost(Duration.ofSeconds(30)).until(() -> checkpoint.read().isAfter(last.plusSeconds(8)));
        Set<String> expected = api.expectedKeys(Instant.MAX);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertEquals(expected, Set.copyOf(Sinks.keys(Sinks.files(out())))));
        List<String> keys = Sinks.keys(Sinks.files(out()));
        assertEquals(keys.size(), new HashSet<>(keys).size(), "no record twice");
        assertEquals(2, api.tokenRequests(), "no token request per call");
    }
}
