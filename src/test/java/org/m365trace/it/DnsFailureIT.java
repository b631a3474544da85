package org.m365trace.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.m365trace.demo.SimulatedReportingService;

/**
 * A host name that does not resolve ({@code .invalid} never does, RFC 6761): the API root of either API, or the OAuth2
 * token endpoint. Poll after poll fails; the checkpoint of an earlier run stays where it was, nothing is written, the
 * process stays up, and the failure is one WARN line that names the window and the host that does not resolve.
 */
class DnsFailureIT {

    static final String NO_SUCH_HOST = "no-such-host.invalid";

    @TempDir
    Path tmp;

    SimulatedReportingService api = Fixtures.seededSimulator(5);

    @AfterEach
    void stopApi() {
        api.stop();
    }

    @Test
    void reporting_base_url_that_does_not_resolve() throws Exception {
        Properties p = Fixtures.pipelineProperties(api, tmp);
        p.put("trace.reporting.baseUrl", "http://" + NO_SUCH_HOST + "/ecp/reportingwebservice/reporting.svc");
        assertFailsPollAfterPollOnce(p, "UnknownHostException: " + NO_SUCH_HOST);
    }

    @Test
    void graph_base_url_that_does_not_resolve() throws Exception {
        Properties p = Fixtures.graphProperties(api, tmp);
        p.put("trace.graph.baseUrl", "https://" + NO_SUCH_HOST + "/v1.0");
        assertFailsPollAfterPollOnce(p, "UnknownHostException: " + NO_SUCH_HOST);
    }

    @Test
    void token_endpoint_that_does_not_resolve() throws Exception {
        Properties p = Fixtures.graphProperties(api, tmp);
        p.put("trace.tokenUrl", "https://" + NO_SUCH_HOST + "/contoso.onmicrosoft.com/oauth2/v2.0/token");
        // the JDK client's exceptions carry no text: the line must still say what failed, and where
        assertFailsPollAfterPollOnce(p, "token request to https://" + NO_SUCH_HOST + "/contoso.onmicrosoft.com/oauth2/v2.0/token failed: "
                + ".*does not resolve");
    }

    private void assertFailsPollAfterPollOnce(Properties p, String expectedCause) throws Exception {
        // an earlier run committed this checkpoint: it must not move while no window can be read
        Instant before = Instant.now().minus(5, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
        Path state = tmp.resolve("state");
        Files.createDirectories(state);
        Files.writeString(state.resolve("checkpoint"), before + "\n", StandardCharsets.UTF_8);

        try (LogLines logs = LogLines.capture(); Forwarder forwarder = Forwarder.start(p)) {
            assertTrue(forwarder.polls(4).matches(20, TimeUnit.SECONDS), "four polls ran (and failed)");
            assertEquals(before, forwarder.checkpoint().read(), "the checkpoint did not move");
            assertTrue(forwarder.context().getStatus().isStarted(), "the forwarder keeps running and retrying");
            assertTrue(Sinks.files(tmp.resolve("out")).isEmpty(), "nothing was forwarded");
            assertTrue(api.requests().isEmpty(), "no request reached an API");

            List<String> warnings = logs.forwarder("WARN");
            assertEquals(1, warnings.size(), "four failed polls, one episode, one WARN line: " + warnings);
            String line = warnings.get(0);
            assertTrue(line.matches(".*window \\S+\\.\\.\\S+ not read: .*"), "the line names the window: " + line);
            assertTrue(line.matches(".*" + expectedCause + ".*"), "the line names the host and the cause: " + line);
            assertTrue(line.contains("the checkpoint stays"), line);
            assertTrue(logs.forwarder("INFO", "works again").isEmpty(), "it never recovered");
        }
    }
}
