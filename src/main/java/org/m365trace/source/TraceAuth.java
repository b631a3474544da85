package org.m365trace.source;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;

import org.m365trace.Durations;
import org.m365trace.TraceErrors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The {@code Authorization} header of every API request: basic auth, or an OAuth2 client-credentials token
 * fetched from {@code trace.tokenUrl} and cached until a minute before it expires (one token request per
 * token lifetime). Secrets never leave this class except inside that header.
 */
public class TraceAuth {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Duration MARGIN = Duration.ofSeconds(60);

    private String auth = "oauth2";
    private String username;
    private String password;
    private String tokenUrl;
    private String tenantId;
    private String clientId;
    private String clientSecret;
    private String scope;
    private String api = TraceRecords.GRAPH;
    private Duration connectTimeout = Duration.ofSeconds(10);
    private Duration readTimeout = Duration.ofSeconds(60);
    private Clock clock = Clock.systemUTC();
    private HttpClient client;

    private String token;
    private Instant refreshAt = Instant.MIN;
    private int tokenRequests;

    /** The header value for the next API request. */
    public synchronized String header() throws IOException, InterruptedException {
        if ("basic".equals(auth)) {
            return "Basic " + Base64.getEncoder().encodeToString((username + ":" + password).getBytes(StandardCharsets.UTF_8));
        }
        ready();
        return "Bearer " + token;
    }

    /**
     * Asks for a token now if the next {@link #header()} would have to (none yet, or about to expire). The source calls
     * it before it books a request in its budget: a token request can take a while (the first one of a process above
     * all, the JDK's HTTP client being set up), and the request booked before it would reach the API that much later
     * than booked, closer to the requests after it than the budget allows.
     */
    public synchronized void ready() throws IOException, InterruptedException {
        if (!"basic".equals(auth) && (token == null || !clock.instant().isBefore(refreshAt))) {
            fetchToken();
        }
    }

    /** Forgets the cached token (after a 401), so the next request asks for a new one. */
    public synchronized void invalidate() {
        token = null;
    }

    public synchronized int getTokenRequests() {
        return tokenRequests;
    }

    private void fetchToken() throws IOException, InterruptedException {
        if (client == null) {
            client = HttpClient.newBuilder().connectTimeout(connectTimeout).build();
        }
        String form = "grant_type=client_credentials&client_id=" + enc(clientId) + "&client_secret=" + enc(clientSecret)
                + "&scope=" + enc(scope());
        String tokenUrl = tokenUrl();
        HttpRequest request = HttpRequest.newBuilder(URI.create(tokenUrl))
                .timeout(readTimeout)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form))
                .build();
        tokenRequests++;
        HttpResponse<String> reply;
        try {
            reply = client.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            // the JDK client's exceptions name neither the endpoint nor, often, the cause: say both
            throw new TokenRequestFailed("token request to " + tokenUrl + " failed: " + TraceErrors.describe(e), e);
        }
        JsonNode body;
        try {
            body = MAPPER.readTree(reply.body());
        } catch (IOException e) {
            body = MAPPER.createObjectNode();
        }
        if (reply.statusCode() != 200 || !body.hasNonNull("access_token")) {
            // AADSTS error texts name the fault (wrong secret, unknown tenant) and carry no secret
            String why = body.path("error_description").asText(body.path("error").asText("no access_token in the reply"));
            throw new TokenRequestFailed("token request to " + tokenUrl + " failed with HTTP " + reply.statusCode() + ": "
                    + why.lines().findFirst().orElse(""), null);
        }
        token = body.get("access_token").asText();
        long seconds = body.path("expires_in").asLong(3599);
        Instant now = clock.instant();
        refreshAt = now.plusSeconds(seconds).minus(MARGIN);
        if (refreshAt.isBefore(now)) {
            refreshAt = now.plusSeconds(seconds / 2);
        }
    }

    /** The configured token endpoint, or Microsoft's for the tenant. */
    String tokenUrl() {
        return tokenUrl == null || tokenUrl.isBlank() ? defaultTokenUrl(tenantId) : tokenUrl.trim();
    }

    /** Microsoft Entra ID's token endpoint of a tenant (its id or a verified domain). */
    public static String defaultTokenUrl(String tenantId) {
        return "https://login.microsoftonline.com/" + (tenantId == null ? "" : tenantId.trim()) + "/oauth2/v2.0/token";
    }

    /** The configured scope, or the API's own: Graph, or Exchange Online for the Reporting Web Service. */
    String scope() {
        if (scope != null && !scope.isBlank()) {
            return scope.trim();
        }
        return TraceRecords.REPORTING.equals(api) ? "https://outlook.office365.com/.default" : "https://graph.microsoft.com/.default";
    }

    public void setApi(String api) {
        this.api = api;
    }

    private static String enc(String s) {
        return URLEncoder.encode(s == null ? "" : s, StandardCharsets.UTF_8);
    }

    public void setAuth(String auth) {
        this.auth = auth;
    }

    public void setUsername(String username) {
        this.username = username;
    }

    public void setPassword(String password) {
        this.password = password;
    }

    public void setTokenUrl(String tokenUrl) {
        this.tokenUrl = tokenUrl;
    }

    public void setTenantId(String tenantId) {
        this.tenantId = tenantId;
    }

    public void setClientId(String clientId) {
        this.clientId = clientId;
    }

    public void setClientSecret(String clientSecret) {
        this.clientSecret = clientSecret;
    }

    public void setScope(String scope) {
        this.scope = scope;
    }

    public void setConnectTimeout(String connectTimeout) {
        this.connectTimeout = Durations.parse("trace.connectTimeout", connectTimeout);
    }

    public void setReadTimeout(String readTimeout) {
        this.readTimeout = Durations.parse("trace.readTimeout", readTimeout);
    }

    public void setClock(Clock clock) {
        this.clock = clock;
    }

    @Override
    public String toString() {
        return "TraceAuth[" + auth + "]";
    }

    /** A failed token request; its message names the token endpoint and the cause, never a secret. */
    public static final class TokenRequestFailed extends IOException {
        TokenRequestFailed(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
