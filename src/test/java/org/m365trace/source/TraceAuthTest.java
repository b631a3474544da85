package org.m365trace.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpServer;

/** The token cache against a loopback token endpoint, with a clock the test moves. */
class TraceAuthTest {

    private HttpServer server;
    private final List<String> forms = Collections.synchronizedList(new ArrayList<>());
    private volatile int status = 200;
    private Instant now = Instant.parse("2026-11-20T08:00:00Z");

    @BeforeEach
    void startTokenEndpoint() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/tenant/oauth2/v2.0/token", ex -> {
            forms.add(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            byte[] body = (status == 200
                    ? "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"tok-" + forms.size() + "\"}"
                    : "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret provided.\"}")
                    .getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(status, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private TraceAuth auth() {
        TraceAuth auth = new TraceAuth();
        auth.setAuth("oauth2");
        auth.setApi("reporting");
        auth.setClientId("app-id");
        auth.setClientSecret("very-secret");
        auth.setScope("");
        auth.setTokenUrl("http://127.0.0.1:" + server.getAddress().getPort() + "/tenant/oauth2/v2.0/token");
        auth.setClock(new Clock() {
            @Override
            public ZoneOffset getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return now;
            }
        });
        return auth;
    }

    @Test
    void one_token_per_lifetime_refreshed_a_minute_before_it_expires() throws Exception {
        TraceAuth auth = auth();
        assertEquals("Bearer tok-1", auth.header());
        now = now.plus(Duration.ofMinutes(58));
        assertEquals("Bearer tok-1", auth.header(), "still valid: cached");
        now = now.plus(Duration.ofSeconds(100)); // 3580 s after issue: inside the last minute
        assertEquals("Bearer tok-2", auth.header());
        assertEquals(2, auth.getTokenRequests());
        assertTrue(forms.get(0).contains("grant_type=client_credentials"));
        assertTrue(forms.get(0).contains("scope=https%3A%2F%2Foutlook.office365.com%2F.default"), "reporting's own scope");
    }

    @Test
    void ready_asks_for_the_token_that_the_next_header_would_ask_for() throws Exception {
        TraceAuth auth = auth();
        auth.ready();
        assertEquals(1, auth.getTokenRequests(), "none yet: asked for now");
        auth.ready();
        assertEquals("Bearer tok-1", auth.header(), "then the header uses it");
        assertEquals(1, auth.getTokenRequests());
        now = now.plus(Duration.ofSeconds(3580));
        auth.ready();
        assertEquals(2, auth.getTokenRequests(), "about to expire: a new one");
        assertEquals("Bearer tok-2", auth.header());
    }

    @Test
    void invalidate_asks_for_a_new_token() throws Exception {
        TraceAuth auth = auth();
        auth.header();
        auth.invalidate();
        assertEquals("Bearer tok-2", auth.header());
    }

    @Test
    void a_refused_token_request_names_the_endpoint_and_the_reason_without_the_secret() {
        status = 401;
        TraceAuth auth = auth();
        IOException e = assertThrows(IOException.class, auth::header);
        assertTrue(e.getMessage().contains("AADSTS7000215"), e.getMessage());
        assertFalse(e.getMessage().contains("very-secret"));
    }

    @Test
    void basic_auth_header() throws Exception {
        TraceAuth auth = new TraceAuth();
        auth.setAuth("basic");
        auth.setUsername("svc@contoso.com");
        auth.setPassword("pw");
        assertEquals("Basic c3ZjQGNvbnRvc28uY29tOnB3", auth.header());
    }
}
