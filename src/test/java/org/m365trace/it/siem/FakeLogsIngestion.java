package org.m365trace.it.siem;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;

import static org.m365trace.it.siem.Loopback.JSON;
import static org.m365trace.it.siem.Loopback.ONE_VALUE;

/**
 * Azure Monitor's Logs Ingestion API and the Microsoft Entra ID token endpoint in front of it, as documented in
 * "Logs Ingestion API in Azure Monitor" (limits: 1 MB a call, compressed or not; 429 with Retry-After) and "Microsoft
 * identity platform and the OAuth 2.0 client credentials flow" (learn.microsoft.com).
 * <ul>
 * <li>{@code POST /<tenant>/oauth2/v2.0/token}, form {@code grant_type=client_credentials&client_id&client_secret
 * &scope}: Entra's errors ({@code invalid_request} AADSTS90002/900144, {@code unsupported_grant_type} AADSTS70003,
 * {@code unauthorized_client} AADSTS700016, {@code invalid_client} AADSTS7000215/7000216, {@code invalid_scope}
 * AADSTS70011) or 200 with a bearer token for the scope's resource. {@code https://monitor.azure.com/.default} (also
 * with the double slash Azure's own samples use) gives a token the endpoint takes; Graph's and ARM's scopes give
 * tokens too, as Entra would, which the endpoint refuses (wrong audience); any other scope is invalid.</li>
 * <li>{@code POST /dataCollectionRules/<dcr>/streams/<stream>?api-version=2023-01-01}, a bearer token issued for
 * Azure Monitor, {@code Content-Type: application/json}, optionally {@code Content-Encoding: gzip}, body a JSON array
 * of objects each with an ISO-8601 {@code TimeGenerated} (with offset). 204 and the rows are stored; otherwise
 * {@code {"error":{"code":..,"message":..}}}: 400 UnsupportedApiVersion / InvalidContentFormat, 401 InvalidToken,
 * 404 InvalidDcrImmutableId / InvalidStream, 413 ContentLengthLimitExceeded (over 1,048,576 bytes sent or
 * uncompressed, checked before the content, as the service does), 415 UnsupportedMediaType. Nothing of a refused
 * request is stored.</li>
 * </ul>
 * Scripted faults: {@link #throttleNext} (429 TooManyRequests with {@code Retry-After}), {@link #failNext} (5xx) and
 * {@link #expireTokens} (every token issued so far is refused as expired, so the product must fetch a new one).
 */
public final class FakeLogsIngestion implements AutoCloseable {

    public static final String MONITOR = "https://monitor.azure.com";
    public static final String API_VERSION = "2023-01-01";
    public static final int MAX_BYTES = 1_048_576;
    private static final Set<String> OTHER_RESOURCES = Set.of("https://graph.microsoft.com", "https://management.azure.com");
    private static final SecureRandom RANDOM = new SecureRandom();

    /** One request to the data collection endpoint: when it came, how it was answered, its body as sent. */
    public record Request(Instant at, int status, int bytes) {
    }

    private final String tenantId;
    private final String clientId;
    private final String clientSecret;
    private final String dcrId;
    private final String stream;
    private final Loopback server;
    /** Token to the resource it was issued for; an expired token maps to null. */
    private final Map<String, String> tokens = new HashMap<>();
    private final List<JsonNode> rows = new ArrayList<>();
    private final List<Request> log = new ArrayList<>();
    private int tokenRequests;
    private int rejected413;
    private int largestAccepted;
    private int throttle;
    private int retryAfterSeconds;
    private int fail;
    private int failStatus;

    /** An Entra tenant with one app registration (client id and secret) and one DCR with one stream. */
    public FakeLogsIngestion(String tenantId, String clientId, String clientSecret, String dcrId, String stream)
            throws IOException {
        this.tenantId = tenantId;
        this.clientId = clientId;
        this.clientSecret = clientSecret;
        this.dcrId = dcrId;
        this.stream = stream;
        server = new Loopback("fake-logs-ingestion", this::handle);
    }

    /** {@code http://127.0.0.1:<port>/<tenantId>/oauth2/v2.0/token}. */
    public String tokenUrl() {
        return server.base() + "/" + tenantId + "/oauth2/v2.0/token";
    }

    /** The data collection endpoint, {@code http://127.0.0.1:<port>}. */
    public String endpoint() {
        return server.base();
    }

    /** The next {@code n} uploads are answered 429 with {@code Retry-After: retryAfterSeconds}. */
    public synchronized void throttleNext(int n, int retryAfterSeconds) {
        throttle = n;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** The next {@code n} uploads are answered {@code status} (500, 503, ...). */
    public synchronized void failNext(int n, int status) {
        fail = n;
        failStatus = status;
    }

    /** Every token issued so far expires now: the endpoint refuses it 401. */
    public synchronized void expireTokens() {
        tokens.replaceAll((token, resource) -> null);
    }

    /** Every row stored, in order; a copy. */
    public synchronized List<JsonNode> rows() {
        return List.copyOf(rows);
    }

    /** Every request to the data collection endpoint, in order: its time, status and size. */
    public synchronized List<Request> requests() {
        return List.copyOf(log);
    }

    /** The largest body accepted, in bytes uncompressed (what the 1 MB limit is about); 0 before the first. */
    public synchronized int largestAcceptedBody() {
        return largestAccepted;
    }

    /** Every request to the token endpoint, refused ones included. */
    public synchronized int tokenRequests() {
        return tokenRequests;
    }

    public synchronized int rejected413() {
        return rejected413;
    }

    @Override
    public void close() {
        server.close();
    }

    private synchronized void handle(HttpExchange ex, byte[] body) throws IOException {
        String path = ex.getRequestURI().getPath();
        if (path.endsWith("/oauth2/v2.0/token")) {
            issueToken(ex, path.substring(1, path.length() - "/oauth2/v2.0/token".length()), body);
        } else if (path.startsWith("/dataCollectionRules/")) {
            Instant at = Instant.now();
            int status = upload(ex, path, body);
            log.add(new Request(at, status, body.length));
        } else {
            azureError(ex, 404, "NotFound", "No route for " + path);
        }
    }

    private void issueToken(HttpExchange ex, String tenant, byte[] body) throws IOException {
        tokenRequests++;
        Map<String, String> form = Loopback.mediaType(ex).equals("application/x-www-form-urlencoded")
                ? Loopback.form(new String(body, StandardCharsets.UTF_8)) : Map.of();
        if (!tenant.equals(tenantId)) {
            entraError(ex, 400, "invalid_request", 90002, "Tenant '" + tenant + "' not found. Check to make sure you "
                    + "have the correct tenant ID and are signing into the correct cloud.");
        } else if (form.get("grant_type") == null) {
            entraError(ex, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.");
        } else if (!form.get("grant_type").equals("client_credentials")) {
            entraError(ex, 400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '"
                    + form.get("grant_type") + "'.");
        } else if (!clientId.equals(form.get("client_id"))) {
            entraError(ex, 400, "unauthorized_client", 700016, "Application with identifier '" + form.get("client_id")
                    + "' was not found in the directory '" + tenantId + "'.");
        } else if (form.get("client_secret") == null) {
            entraError(ex, 401, "invalid_client", 7000216, "'client_assertion', 'client_secret' or 'request' is "
                    + "required for the 'client_credentials' grant type.");
        } else if (!clientSecret.equals(form.get("client_secret"))) {
            entraError(ex, 401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being "
                    + "sent in the request is the client secret value, not the client secret ID, for a secret added "
                    + "to app '" + clientId + "'.");
        } else {
            String scope = form.getOrDefault("scope", "");
            String resource = scope.endsWith("/.default") ? scope.substring(0, scope.length() - "/.default".length()) : "";
            resource = resource.endsWith("/") ? resource.substring(0, resource.length() - 1) : resource;
            if (!resource.equals(MONITOR) && !OTHER_RESOURCES.contains(resource)) {
                entraError(ex, 400, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is "
                        + "not valid. The scope " + scope + " is not valid.");
                return;
            }
            byte[] random = new byte[32];
            RANDOM.nextBytes(random);
            String token = "fake." + Base64.getUrlEncoder().withoutPadding().encodeToString(random);
            tokens.put(token, resource);
            ex.getResponseHeaders().set("Cache-Control", "no-store, no-cache");
            Loopback.reply(ex, 200, JSON.createObjectNode().put("token_type", "Bearer").put("expires_in", 3599)
                    .put("ext_expires_in", 3599).put("access_token", token));
        }
    }

    /** Checks and stores one upload; returns the status it was answered. */
    private int upload(HttpExchange ex, String path, byte[] body) throws IOException {
        String[] parts = path.split("/"); // "", dataCollectionRules, <dcr>, streams, <stream>
        String version = Loopback.form(ex.getRequestURI().getRawQuery()).get("api-version");
        if (!API_VERSION.equals(version)) {
            return azureError(ex, 400, "UnsupportedApiVersion", "The HTTP resource that matches the request URI "
                    + "does not support the API version '" + version + "'. Supported: " + API_VERSION + ".");
        }
        String authorization = ex.getRequestHeaders().getFirst("Authorization");
        String token = authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)
                ? authorization.substring(7).trim() : null;
        if (token == null || !tokens.containsKey(token)) {
            ex.getResponseHeaders().set("WWW-Authenticate", "Bearer");
            return azureError(ex, 401, "InvalidToken", "The provided access token is missing or not valid.");
        }
        if (tokens.get(token) == null) {
            return azureError(ex, 401, "InvalidToken", "The provided access token has expired.");
        }
        if (!MONITOR.equals(tokens.get(token))) {
            return azureError(ex, 401, "InvalidToken", "The access token audience '" + tokens.get(token)
                    + "' is not valid; expected '" + MONITOR + "'.");
        }
        if (parts.length != 5 || !parts[2].equals(dcrId)) {
            return azureError(ex, 404, "InvalidDcrImmutableId", "Data collection rule with immutable Id '"
                    + (parts.length > 2 ? parts[2] : "") + "' not found.");
        }
        if (!parts[3].equals("streams") || !parts[4].equals(stream)) {
            return azureError(ex, 404, "InvalidStream", "Stream '" + (parts.length > 4 ? parts[4] : "")
                    + "' is not defined in the data collection rule '" + dcrId + "'.");
        }
        if (throttle > 0) {
            throttle--;
            ex.getResponseHeaders().set("Retry-After", String.valueOf(retryAfterSeconds));
            return azureError(ex, 429, "TooManyRequests", "Too many requests. Retry after " + retryAfterSeconds + " seconds.");
        }
        if (fail > 0) {
            fail--;
            return azureError(ex, failStatus, failStatus == 503 ? "ServiceUnavailable" : "InternalServerError",
                    "The service failed to process the request.");
        }
        if (!Loopback.mediaType(ex).equals("application/json")) {
            return azureError(ex, 415, "UnsupportedMediaType", "Content-Type must be application/json.");
        }
        byte[] content = body;
        if (body.length <= MAX_BYTES && Loopback.isGzip(ex)) {
            try {
                content = Loopback.gunzip(body, 64 * MAX_BYTES);
            } catch (IOException e) {
                return azureError(ex, 400, "InvalidContentFormat", "The body is not valid gzip: " + e.getMessage());
            }
        } else if (ex.getRequestHeaders().containsKey("Content-Encoding") && !Loopback.isGzip(ex)) {
            return azureError(ex, 415, "UnsupportedMediaType", "Content-Encoding must be gzip or absent.");
        }
        int size = Math.max(body.length, content.length);
        if (size > MAX_BYTES) {
            rejected413++;
            return azureError(ex, 413, "ContentLengthLimitExceeded", "Maximum allowed content length: " + MAX_BYTES
                    + " bytes (1 MB). Provided content length: " + size + " bytes.");
        }
        String invalid = invalidContent(content);
        if (invalid != null) {
            return azureError(ex, 400, "InvalidContentFormat", invalid);
        }
        ONE_VALUE.readTree(content).forEach(rows::add);
        largestAccepted = Math.max(largestAccepted, content.length);
        Loopback.replyEmpty(ex, 204);
        return 204;
    }

    /** Why the body is no array of rows with an ISO-8601 TimeGenerated each, or null. */
    private static String invalidContent(byte[] content) {
        JsonNode array;
        try {
            array = ONE_VALUE.readTree(content);
        } catch (JsonProcessingException e) {
            return "The request body is not valid JSON: " + e.getOriginalMessage();
        } catch (IOException e) {
            return "The request body could not be read: " + e.getMessage();
        }
        if (array == null || !array.isArray()) {
            return "The request body must be a JSON array of objects.";
        }
        for (int i = 0; i < array.size(); i++) {
            JsonNode row = array.get(i);
            if (!row.isObject()) {
                return "Item " + i + " is not a JSON object.";
            }
            JsonNode time = row.get("TimeGenerated");
            if (time == null || !time.isTextual() || !isIsoDateTime(time.asText())) {
                return "Item " + i + ": TimeGenerated must be an ISO-8601 date and time string, found " + time + ".";
            }
        }
        return null;
    }

    private static boolean isIsoDateTime(String text) {
        try {
            OffsetDateTime.parse(text);
            return true;
        } catch (DateTimeParseException e) {
            return false;
        }
    }

    private static int azureError(HttpExchange ex, int status, String code, String message) throws IOException {
        ObjectNode reply = JSON.createObjectNode();
        reply.putObject("error").put("code", code).put("message", message);
        Loopback.reply(ex, status, reply);
        return status;
    }

    private static void entraError(HttpExchange ex, int status, String error, int code, String description)
            throws IOException {
        ObjectNode reply = JSON.createObjectNode().put("error", error)
                .put("error_description", "AADSTS" + code + ": " + description);
        reply.putArray("error_codes").add(code);
        reply.put("timestamp", Instant.now().toString());
        Loopback.reply(ex, status, reply);
    }
}
