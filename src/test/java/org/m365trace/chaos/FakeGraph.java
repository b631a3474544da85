package org.m365trace.chaos;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * A loopback Microsoft Graph, written from {@code docs/microsoft-apis.md} and {@code samples/}: the Entra ID token
 * endpoint ({@code POST /{tenant}/oauth2/v2.0/token}, client credentials) and
 * {@code GET /v1.0/admin/exchange/tracing/messageTraces} with Graph's window rules ({@code $filter} with both
 * {@code receivedDateTime} bounds, at most 10 days, not before 90 days ago, not after now), {@code $top} 1-5000,
 * newest first, {@code @odata.nextLink} paging over a snapshot taken at the first page.
 *
 * <p>Faults are injected by the test: a queue of faults applied to the next list requests (an HTTP status with or
 * without Retry-After, a request that is accepted and never answered, a page cut in the middle of its JSON) and an
 * episode during which every list request answers 401.
 *
 * <p>It records what it served: a row's key counts as <em>served</em> once a page holding it was written completely
 * with 200; every row of any page body that left the fake, complete or not, counts as <em>exposed</em>.
 */
final class FakeGraph implements AutoCloseable {

    static final String TENANT = "chaos.onmicrosoft.com";
    static final String CLIENT_ID = "6f1d2c3b-4a59-4e68-8f70-1a2b3c4d5e6f";
    static final String CLIENT_SECRET = "chaos~secret.value_123";
    static final String SCOPE = "https://graph.microsoft.com/.default";

    private static final String LIST_PATH = "/v1.0/admin/exchange/tracing/messageTraces";
    private static final Pattern FILTER = Pattern.compile("receivedDateTime ge (\\S+) and receivedDateTime le (\\S+)");
    private static final Pattern ISO = Pattern.compile("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,7})?Z");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A fault for one list request. */
    record Fault(Kind kind, int status, Integer retryAfterSeconds) {
        enum Kind { STATUS, HANG, TRUNCATE }

        /** An error status (429, 5xx) with a Graph error body, with or without Retry-After. */
        static Fault status(int status, Integer retryAfterSeconds) {
            return new Fault(Kind.STATUS, status, retryAfterSeconds);
        }

        /** Accepted, then never answered: the client's read time-out must end it. */
        static Fault hang() {
            return new Fault(Kind.HANG, 0, null);
        }

        /** 200 with a page whose JSON stops in the middle of a row. */
        static Fault truncate() {
            return new Fault(Kind.TRUNCATE, 200, null);
        }

        @Override
        public String toString() {
            return switch (kind) {
                case STATUS -> status + (retryAfterSeconds == null ? "" : " Retry-After " + retryAfterSeconds);
                case HANG -> "hang";
                case TRUNCATE -> "truncate";
            };
        }
    }

    /** One list request as the fake saw and answered it ({@code status} 0: never answered). */
    record Request(Instant at, int generation, String query, int status, String retryAfter, String fault,
                   Instant ge, Instant le, int rows, boolean hasNext) {
    }

    /** A key was served in a complete page to forwarder process {@code generation} at {@code at}. */
    record Serve(int generation, Instant at) {
    }

    private record Entry(TraceDataset.Row row, String status) {
        String key() {
            return row.key(status);
        }
    }

    private record Snapshot(String filter, int top, List<Entry> entries) {
    }

    private final TraceDataset data;
    private final HttpServer server;
    private final ExecutorService executor = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fake-graph");
        t.setDaemon(true);
        return t;
    });
    private final Duration tokenLifetime;
    private final ConcurrentLinkedDeque<Fault> faults = new ConcurrentLinkedDeque<>();
    private final Map<String, Instant> tokens = new ConcurrentHashMap<>();
    private final Map<String, Snapshot> snapshots = Collections.synchronizedMap(new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Snapshot> eldest) {
            return size() > 500;              // a nextLink is followed within seconds; old snapshots can go
        }
    });
    private final AtomicInteger snapshotIds = new AtomicInteger();
    private final List<Request> requests = new ArrayList<>();
    private final Map<String, List<Serve>> served = new HashMap<>();
    private final Set<String> exposed = new HashSet<>();
    private final AtomicInteger tokenRequests = new AtomicInteger();
    private final CountDownLatch closing = new CountDownLatch(1);
    private volatile Instant unauthorizedUntil = Instant.MIN;
    private volatile int generation;

    FakeGraph(TraceDataset data, Duration tokenLifetime) throws IOException {
        this.data = data;
        this.tokenLifetime = tokenLifetime;
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
    }

    String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1.0";
    }

    String tokenUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/" + TENANT + "/oauth2/v2.0/token";
    }

    /** The forwarder process now talking to the fake (requests and served rows are booked under it). */
    void setGeneration(int generation) {
        this.generation = generation;
    }

    void inject(Fault... next) {
        faults.addAll(List.of(next));
    }

    int pendingFaults() {
        return faults.size();
    }

    /** From now on, for {@code duration}, every list request answers 401 (graph-401.json). */
    void unauthorizedFor(Duration duration) {
        unauthorizedUntil = Instant.now().plus(duration);
    }

    boolean unauthorizedEpisode() {
        return Instant.now().isBefore(unauthorizedUntil);
    }

    int tokenRequests() {
        return tokenRequests.get();
    }

    synchronized List<Request> requests() {
        return List.copyOf(requests);
    }

    /** Keys served in a complete 200 page, each with when and to which forwarder process. */
    synchronized Map<String, List<Serve>> served() {
        Map<String, List<Serve>> copy = new HashMap<>();
        served.forEach((k, v) -> copy.put(k, List.copyOf(v)));
        return copy;
    }

    /** Keys of every row that left the fake in some page body, complete or cut. */
    synchronized Set<String> exposed() {
        return Set.copyOf(exposed);
    }

    /** Requests the fake refused as Graph would (400: window rules, $top, $skiptoken), with its message. */
    synchronized List<String> refused() {
        return requests.stream().filter(r -> r.status() == 400).map(r -> r.fault() + " <- " + r.query()).toList();
    }

    /** Pages answered 200 in full. */
    synchronized long pagesServed() {
        return requests.stream().filter(r -> r.status() == 200 && r.fault() == null).count();
    }

    /** Rows whose final status has not been served yet (the forwarder has not read them since they settled). */
    synchronized List<TraceDataset.Row> finalStatusNotServed() {
        return data.rows().stream().filter(r -> !served.containsKey(r.key(r.finalStatus()))).toList();
    }

    @Override
    public void close() {
        closing.countDown();
        server.stop(0);
        executor.shutdownNow();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            if (path.equals("/" + TENANT + "/oauth2/v2.0/token") && "POST".equals(exchange.getRequestMethod())) {
                token(exchange);
            } else if (path.equals(LIST_PATH) && "GET".equals(exchange.getRequestMethod())) {
                list(exchange);
            } else {
                error(exchange, 404, "ResourceNotFound", "Resource not found for the segment '" + path + "'.");
            }
        }
    }

    /** Client credentials: the form must name this app, its secret and Graph's scope. */
    private void token(HttpExchange exchange) throws IOException {
        tokenRequests.incrementAndGet();
        Map<String, String> form = params(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
        String type = exchange.getRequestHeaders().getFirst("Content-Type");
        if (type == null || !type.startsWith("application/x-www-form-urlencoded")
                || !"client_credentials".equals(form.get("grant_type"))) {
            send(exchange, 400, json("{\"error\":\"unsupported_grant_type\",\"error_description\":\"AADSTS70003: grant_type must be client_credentials (form).\"}"), Map.of());
            return;
        }
        if (!CLIENT_ID.equals(form.get("client_id")) || !CLIENT_SECRET.equals(form.get("client_secret"))) {
            send(exchange, 401, json("{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret provided.\"}"), Map.of());
            return;
        }
        if (!SCOPE.equals(form.get("scope"))) {
            send(exchange, 400, json("{\"error\":\"invalid_scope\",\"error_description\":\"AADSTS1002012: The provided value for scope is not valid.\"}"), Map.of());
            return;
        }
        String token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + Base64.getUrlEncoder().withoutPadding()
                .encodeToString(UUID.randomUUID().toString().getBytes(StandardCharsets.US_ASCII)) + ".c2ln";
        tokens.put(token, Instant.now().plus(tokenLifetime));
        ObjectNode reply = JSON.createObjectNode();
        reply.put("token_type", "Bearer");
        reply.put("expires_in", tokenLifetime.toSeconds());
        reply.put("ext_expires_in", tokenLifetime.toSeconds());
        reply.put("access_token", token);
        send(exchange, 200, JSON.writeValueAsBytes(reply), Map.of());
    }

    private void list(HttpExchange exchange) throws IOException {
        String query = exchange.getRequestURI().getRawQuery();
        Fault fault = faults.poll();
        if (fault != null && fault.kind() == Fault.Kind.STATUS) {
            throttle(exchange, query, fault);
            return;
        }
        if (fault != null && fault.kind() == Fault.Kind.HANG) {
            book(new Request(Instant.now(), generation, query, 0, null, "hang", null, null, 0, false));
            hang();
            return;
        }
        boolean cut = fault != null;
        if (unauthorizedEpisode() || !authorized(exchange)) {
            if (cut) {
                faults.addFirst(fault);     // a cut page needs a page: kept for the next request that gets one
            }
            book(new Request(Instant.now(), generation, query, 401, null, unauthorizedEpisode() ? "401 episode" : "401 token", null, null, 0, false));
            send(exchange, 401, sample("graph-401.json"), Map.of("WWW-Authenticate", "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\""));
            return;
        }
        Page page;
        try {
            page = page(params(query == null ? "" : query));
        } catch (BadRequest e) {
            if (cut) {
                faults.addFirst(fault);
            }
            book(new Request(Instant.now(), generation, query, 400, null, "400 " + e.getMessage(), null, null, 0, false));
            error(exchange, 400, "BadRequest", e.getMessage());
            return;
        }
        answer(exchange, query, page, cut);
    }

    /** An error status with Graph's error body (graph-429.json for 429) and Retry-After if the fault has one. */
    private void throttle(HttpExchange exchange, String query, Fault fault) throws IOException {
        Map<String, String> headers = fault.retryAfterSeconds() == null ? Map.of() : Map.of("Retry-After", String.valueOf(fault.retryAfterSeconds()));
        byte[] body = fault.status() == 429 ? sample("graph-429.json")
                : errorBody("ServiceUnavailable", "The service is temporarily unavailable. Please retry later.");
        book(new Request(Instant.now(), generation, query, fault.status(), headers.get("Retry-After"), fault.toString(), null, null, 0, false));
        send(exchange, fault.status(), body, headers);
    }

    /** Holds the request without an answer until the fake closes (the client gives up long before). */
    private void hang() {
        try {
            closing.await(3, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A page with 200; its rows count as served once it was written in full (a cut page's rows: exposed only). */
    private void answer(HttpExchange exchange, String query, Page page, boolean cut) throws IOException {
        byte[] body = JSON.writeValueAsBytes(page.json());
        if (cut) {
            body = truncate(body);
        }
        synchronized (this) {
            page.entries().forEach(e -> exposed.add(e.key()));
        }
        send(exchange, 200, body, Map.of());
        book(new Request(Instant.now(), generation, query, 200, null, cut ? "truncate" : null, page.ge(), page.le(),
                page.entries().size(), page.json().has("@odata.nextLink")));
        if (!cut) {
            synchronized (this) {
                Serve serve = new Serve(generation, Instant.now());
                page.entries().forEach(e -> served.computeIfAbsent(e.key(), k -> new ArrayList<>()).add(serve));
            }
        }
    }

    private record Page(ObjectNode json, List<Entry> entries, Instant ge, Instant le) {
    }

    private static final class BadRequest extends Exception {
        BadRequest(String message) {
            super(message);
        }
    }

    /** The page asked for: a first page (window from $filter) or the next page of a snapshot ($skiptoken). */
    private Page page(Map<String, String> params) throws BadRequest {
        String filter = params.get("$filter");
        if (filter == null) {
            throw new BadRequest("receivedDateTime ge and receivedDateTime le are required in $filter.");
        }
        Matcher m = FILTER.matcher(filter);
        if (!m.matches() || !ISO.matcher(m.group(1)).matches() || !ISO.matcher(m.group(2)).matches()) {
            throw new BadRequest("Invalid filter clause: expected 'receivedDateTime ge <ISO-8601 Z> and receivedDateTime le <ISO-8601 Z>', got '" + filter + "'.");
        }
        Instant ge;
        Instant le;
        try {
            ge = Instant.parse(m.group(1));
            le = Instant.parse(m.group(2));
        } catch (DateTimeParseException e) {
            throw new BadRequest("Invalid date in $filter: " + e.getMessage());
        }
        Instant now = Instant.now();
        if (le.isBefore(ge)) {
            throw new BadRequest("receivedDateTime le must not be earlier than receivedDateTime ge.");
        }
        if (Duration.between(ge, le).compareTo(Duration.ofDays(10)) > 0) {
            throw new BadRequest("The time range between receivedDateTime ge and receivedDateTime le must not exceed 10 days.");
        }
        if (ge.isBefore(now.minus(Duration.ofDays(90)))) {
            throw new BadRequest("receivedDateTime ge must not be more than 90 days in the past.");
        }
        if (le.isAfter(now)) {
            throw new BadRequest("receivedDateTime le must not be in the future.");
        }
        int top;
        try {
            top = Integer.parseInt(params.getOrDefault("$top", "1000"));
        } catch (NumberFormatException e) {
            throw new BadRequest("Invalid $top: " + params.get("$top"));
        }
        if (top < 1 || top > 5000) {
            throw new BadRequest("$top must be between 1 and 5000.");
        }
        String skipToken = params.get("$skiptoken");
        String snapshotId;
        Snapshot snapshot;
        int offset;
        if (skipToken == null) {
            snapshotId = "s" + snapshotIds.incrementAndGet();
            snapshot = new Snapshot(filter, top, data.query(ge, le, now).stream().map(r -> new Entry(r, r.statusAt(now))).toList());
            offset = 0;
        } else {
            String[] token = decodeToken(skipToken).split(":");
            snapshotId = token[0];
            snapshot = token.length == 2 ? snapshots.get(snapshotId) : null;
            if (snapshot == null || !snapshot.filter().equals(filter) || snapshot.top() != top) {
                throw new BadRequest("Invalid $skiptoken: follow @odata.nextLink as it is.");
            }
            try {
                offset = Integer.parseInt(token[1]);
            } catch (NumberFormatException e) {
                throw new BadRequest("Invalid $skiptoken.");
            }
        }
        List<Entry> entries = snapshot.entries().subList(offset, Math.min(offset + top, snapshot.entries().size()));
        ObjectNode json = JSON.createObjectNode();
        json.put("@odata.context", "https://graph.microsoft.com/v1.0/$metadata#admin/exchange/tracing/messageTraces");
        ArrayNode value = json.putArray("value");
        entries.forEach(e -> value.add(rowJson(e)));
        if (offset + top < snapshot.entries().size()) {
            snapshots.putIfAbsent(snapshotId, snapshot);
            String next = Base64.getUrlEncoder().withoutPadding().encodeToString((snapshotId + ":" + (offset + top)).getBytes(StandardCharsets.US_ASCII));
            // the shape of samples/graph-page1.json: absolute, $filter with '+' for spaces, an opaque $skiptoken
            json.put("@odata.nextLink", baseUrl() + "/admin/exchange/tracing/messageTraces?$filter=" + filter.replace(' ', '+')
                    + "&$top=" + top + "&$skiptoken=" + next);
        }
        return new Page(json, entries, ge, le);
    }

    private static String decodeToken(String token) throws BadRequest {
        try {
            return new String(Base64.getUrlDecoder().decode(token), StandardCharsets.US_ASCII);
        } catch (IllegalArgumentException e) {
            throw new BadRequest("Invalid $skiptoken.");
        }
    }

    /** One row as samples/graph-page1.json shows it. */
    private static ObjectNode rowJson(Entry e) {
        TraceDataset.Row r = e.row();
        ObjectNode row = JSON.createObjectNode();
        if (r.withODataType()) {
            row.put("@odata.type", "#microsoft.graph.exchangeMessageTrace");
        }
        row.put("id", r.id());
        row.put("senderAddress", r.senderAddress());
        row.put("recipientAddress", r.recipientAddress());
        row.put("messageId", r.messageId());
        row.put("receivedDateTime", r.receivedText());
        row.put("subject", r.subject());
        row.put("size", r.size());
        row.put("fromIP", r.fromIP());
        row.put("toIP", r.toIP());
        row.put("status", e.status());
        return row;
    }

    /** The body cut in the middle of a row (or of the envelope, for an empty page). */
    private static byte[] truncate(byte[] body) {
        String text = new String(body, StandardCharsets.UTF_8);
        int cut = text.indexOf("\"subject\"", text.length() / 2);
        cut = cut < 0 ? Math.max(1, text.length() / 2) : cut + 12;
        return text.substring(0, cut).getBytes(StandardCharsets.UTF_8);
    }

    private boolean authorized(HttpExchange exchange) {
        String header = exchange.getRequestHeaders().getFirst("Authorization");
        if (header == null || !header.startsWith("Bearer ")) {
            return false;
        }
        Instant expires = tokens.get(header.substring("Bearer ".length()));
        return expires != null && Instant.now().isBefore(expires);
    }

    private synchronized void book(Request request) {
        requests.add(request);
    }

    /** A reply body of docs/samples, copied to src/test/resources/chaos. */
    private static byte[] sample(String name) throws IOException {
        try (InputStream in = FakeGraph.class.getResourceAsStream("/chaos/" + name)) {
            if (in == null) {
                throw new IOException("no sample /chaos/" + name + " on the test class path");
            }
            return in.readAllBytes();
        }
    }

    private static byte[] errorBody(String code, String message) throws IOException {
        ObjectNode error = JSON.createObjectNode();
        ObjectNode inner = error.putObject("error");
        inner.put("code", code);
        inner.put("message", message);
        ObjectNode innerError = inner.putObject("innerError");
        String id = UUID.randomUUID().toString();
        innerError.put("date", Instant.now().toString());
        innerError.put("request-id", id);
        innerError.put("client-request-id", id);
        return JSON.writeValueAsBytes(error);
    }

    private static void error(HttpExchange exchange, int status, String code, String message) throws IOException {
        send(exchange, status, errorBody(code, message), Map.of());
    }

    private static byte[] json(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static void send(HttpExchange exchange, int status, byte[] body, Map<String, String> headers) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        headers.forEach((k, v) -> exchange.getResponseHeaders().set(k, v));
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    /** Query string or form: name=value pairs, decoded ('+' is a space). */
    private static Map<String, String> params(String raw) {
        Map<String, String> params = new HashMap<>();
        for (String pair : raw.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            params.put(name, value);
        }
        return params;
    }
}
