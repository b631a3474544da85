package org.m365trace.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

/**
 * An in-process loopback Microsoft 365 message trace that serves pages as fast as it can write them: the Entra ID token
 * endpoint ({@code POST /{tenant}/oauth2/v2.0/token}), Graph {@code GET /v1.0/admin/exchange/tracing/messageTraces}
 * (shape of samples/graph-page1.json, {@code @odata.nextLink} with an opaque {@code $skiptoken}) and the Reporting Web
 * Service {@code GET /ecp/reportingwebservice/reporting.svc/MessageTrace} ({@code $format=json}: the light shape with
 * {@code odata.nextLink}; without it the verbose {@code d.results}/{@code __next}), both newest first, rows computed
 * from {@link TraceData} and streamed with a JsonGenerator (chunked), never built in memory.
 * <p>
 * It counts requests and rows, remembers when the first request came, can delay every page ({@link #setLatency}) and
 * can enforce Graph's quota ({@link #setBudget}: at most N list requests in any sliding period; beyond, 429 with
 * Retry-After and graph-429.json's body), keeping the most requests it accepted within any such period.
 */
final class FakeTraceApi implements AutoCloseable {

    static final String TENANT = "bench.onmicrosoft.com";
    static final String CLIENT_ID = "0b5e1c2d-3f4a-4b6c-8d7e-9f0a1b2c3d4e";
    static final String CLIENT_SECRET = "bench~secret";
    static final String USERNAME = "bench@" + TENANT;
    static final String PASSWORD = "bench-password";

    private static final String GRAPH_LIST = "/v1.0/admin/exchange/tracing/messageTraces";
    private static final String REPORTING_ROOT = "/ecp/reportingwebservice/reporting.svc";
    private static final Pattern GRAPH_FILTER = Pattern.compile("receivedDateTime ge (\\S+) and receivedDateTime le (\\S+)");
    private static final Pattern RWS_FILTER = Pattern.compile("StartDate eq datetime'([^']+)' and EndDate eq datetime'([^']+)'");
    private static final JsonFactory JSON = new JsonFactory();
    private static final byte[] GRAPH_429 = ("{\"error\":{\"code\":\"TooManyRequests\",\"message\":\"Too many requests. Please retry after"
            + " the time specified in the Retry-After header.\",\"innerError\":{\"date\":\"%s\",\"request-id\":\"%s\","
            + "\"client-request-id\":\"%s\"}}}").getBytes(StandardCharsets.UTF_8);

    private final MiniHttpServer server;
    private final Set<String> tokens = ConcurrentHashMap.newKeySet();

    private volatile TraceData data;
    private volatile long latencyMillis;
    private int budgetRequests;                 // 0: no quota
    private long budgetPeriodNanos;
    private final ArrayDeque<Long> accepted = new ArrayDeque<>();

    private final AtomicLong firstRequest = new AtomicLong();
    private final AtomicLong firstList = new AtomicLong();
    private final AtomicLong lastPageDone = new AtomicLong();
    private final AtomicInteger listRequests = new AtomicInteger();
    private final AtomicInteger tokenRequests = new AtomicInteger();
    private final AtomicInteger throttled = new AtomicInteger();
    private final AtomicInteger refused = new AtomicInteger();
    private final AtomicLong rowsServed = new AtomicLong();
    private final AtomicLong bytesServed = new AtomicLong();
    private int maxInPeriod;
    private final LongList arrivals = new LongList();
    private final LongList throttledArrivals = new LongList();

    FakeTraceApi(TraceData data) throws IOException {
        this.data = data;
        server = new MiniHttpServer(this::handle);
    }

    String graphBaseUrl() {
        return root() + "/v1.0";
    }

    String reportingBaseUrl() {
        return root() + REPORTING_ROOT;
    }

    String tokenUrl() {
        return root() + "/" + TENANT + "/oauth2/v2.0/token";
    }

    private String root() {
        return "http://127.0.0.1:" + server.port();
    }

    void setData(TraceData data) {
        this.data = data;
    }

    TraceData data() {
        return data;
    }

    /** Every list request is answered this much later (the time Microsoft takes to build a page). */
    void setLatency(Duration latency) {
        this.latencyMillis = latency.toMillis();
    }

    /** At most {@code requests} list requests in any sliding {@code period}; 0 requests: no quota. */
    synchronized void setBudget(int requests, Duration period) {
        this.budgetRequests = requests;
        this.budgetPeriodNanos = period.toNanos();
        accepted.clear();
    }

    /** Forgets the counts (a new run); tokens stay valid. */
    synchronized void reset() {
        firstRequest.set(0);
        firstList.set(0);
        lastPageDone.set(0);
        listRequests.set(0);
        tokenRequests.set(0);
        throttled.set(0);
        refused.set(0);
        rowsServed.set(0);
        bytesServed.set(0);
        maxInPeriod = 0;
        accepted.clear();
        arrivals.clear();
        throttledArrivals.clear();
    }

    /** System.nanoTime() of the first request of any kind since the reset (token included); 0 before. */
    long firstRequestNanos() {
        return firstRequest.get();
    }

    /** System.nanoTime() of the first list (page) request since the reset; 0 before. */
    long firstListNanos() {
        return firstList.get();
    }

    /** System.nanoTime() when the last page answered so far was written in full. */
    long lastPageDoneNanos() {
        return lastPageDone.get();
    }

    int listRequests() {
        return listRequests.get();
    }

    int tokenRequests() {
        return tokenRequests.get();
    }

    /** List requests answered 429 by the quota. */
    int throttled() {
        return throttled.get();
    }

    /** Requests answered 400/401/404 (a client the fake does not understand). */
    int refused() {
        return refused.get();
    }

    long rowsServed() {
        return rowsServed.get();
    }

    long bytesServed() {
        return bytesServed.get();
    }

    /** The most list requests accepted (not 429) within any sliding budget period. */
    synchronized int maxInPeriod() {
        return maxInPeriod;
    }

    /** System.nanoTime() of every list request since the reset, in arrival order. */
    long[] arrivals() {
        synchronized (arrivals) {
            return arrivals.toArray();
        }
    }

    /** System.nanoTime() of every list request answered 429 by the quota. */
    long[] throttledArrivals() {
        synchronized (arrivals) {
            return throttledArrivals.toArray();
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }

    private void handle(MiniHttpServer.Request req, MiniHttpServer.Response res) throws IOException {
        long now = System.nanoTime();
        firstRequest.compareAndSet(0, now);
        String path = req.path();
        String method = req.method();
        try {
            if ("POST".equals(method) && path.endsWith("/oauth2/v2.0/token")) {
                token(res);
            } else if ("GET".equals(method) && path.equals(GRAPH_LIST)) {
                list(req, res, now, true);
            } else if ("GET".equals(method) && path.equalsIgnoreCase(REPORTING_ROOT + "/MessageTrace")) {
                list(req, res, now, false);
            } else {
                refused.incrementAndGet();
                send(res, 404, "{\"error\":{\"code\":\"ResourceNotFound\",\"message\":\"Resource not found for the segment '" + path + "'.\"}}");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    private void token(MiniHttpServer.Response res) throws IOException {
        tokenRequests.incrementAndGet();
        String token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0." + UUID.randomUUID() + ".YmVuY2g";
        tokens.add(token);
        send(res, 200, "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"ext_expires_in\":3599,\"access_token\":\"" + token + "\"}");
    }

    private boolean authorized(MiniHttpServer.Request req) {
        String h = req.header("Authorization");
        if (h == null) {
            return false;
        }
        if (h.startsWith("Bearer ")) {
            return tokens.contains(h.substring(7));
        }
        return h.equals("Basic " + Base64.getEncoder().encodeToString((USERNAME + ":" + PASSWORD).getBytes(StandardCharsets.UTF_8)));
    }

    private void list(MiniHttpServer.Request req, MiniHttpServer.Response res, long arrived, boolean graph) throws IOException, InterruptedException {
        listRequests.incrementAndGet();
        firstList.compareAndSet(0, arrived);
        synchronized (arrivals) {
            arrivals.add(arrived);
        }
        if (!authorized(req)) {
            refused.incrementAndGet();
            send(res, 401, graph ? "{\"error\":{\"code\":\"InvalidAuthenticationToken\",\"message\":\"Access token is empty or invalid.\"}}" : "");
            return;
        }
        long retryAfter = admit(arrived);
        if (retryAfter > 0) {
            throttled.incrementAndGet();
            synchronized (arrivals) {
                throttledArrivals.add(arrived);
            }
            String id = UUID.randomUUID().toString();
            res.header("Retry-After", String.valueOf(retryAfter));
            send(res, 429, String.format(new String(GRAPH_429, StandardCharsets.UTF_8), Instant.now().toString().substring(0, 19), id, id));
            return;
        }
        Map<String, String> q = query(req.query());
        Matcher m = (graph ? GRAPH_FILTER : RWS_FILTER).matcher(q.getOrDefault("$filter", ""));
        int top;
        long ge;
        long le;
        int offset;
        try {
            if (!m.matches()) {
                throw new IllegalArgumentException("Invalid filter clause: '" + q.get("$filter") + "'.");
            }
            ge = Instant.parse(m.group(1)).toEpochMilli();
            le = Instant.parse(m.group(2)).toEpochMilli();
            top = Integer.parseInt(q.getOrDefault("$top", "1000"));
            if (top < 1 || top > 5000) {
                throw new IllegalArgumentException("$top must be between 1 and 5000.");
            }
            String skip = q.get("$skiptoken");
            offset = skip == null ? 0 : graph ? Integer.parseInt(new String(Base64.getUrlDecoder().decode(skip), StandardCharsets.US_ASCII).substring(5))
                    : Integer.parseInt(skip);
        } catch (RuntimeException e) {
            refused.incrementAndGet();
            send(res, 400, graph ? "{\"error\":{\"code\":\"BadRequest\",\"message\":\"" + e.getMessage().replace("\"", "'") + "\"}}"
                    : "{\"error\":{\"code\":\"\",\"message\":{\"lang\":\"en-US\",\"value\":\"" + e.getMessage().replace("\"", "'") + "\"}}}");
            return;
        }
        if (latencyMillis > 0) {
            Thread.sleep(latencyMillis);
        }
        TraceData d = data;
        int[] range = d.range(ge, le);
        int n = range[1] - range[0];
        int count = Math.max(0, Math.min(top, n - offset));
        String next = null;
        if (offset + count < n) {
            String filter = q.get("$filter");
            if (graph) {
                String token = Base64.getUrlEncoder().withoutPadding().encodeToString(("skip:" + (offset + count)).getBytes(StandardCharsets.US_ASCII));
                // as samples/graph-page1.json: absolute, '+' for the spaces of $filter, an opaque $skiptoken
                next = graphBaseUrl() + "/admin/exchange/tracing/messageTraces?$filter=" + filter.replace(' ', '+') + "&$top=" + top + "&$skiptoken=" + token;
            } else {
                boolean light = q.containsKey("$format");
                next = reportingBaseUrl() + "/MessageTrace?" + (light ? "$format=json&" : "") + "$filter="
                        + filter.replace(" ", "%20") + "&$top=" + top + "&$skiptoken=" + (offset + count);
            }
        }
        res.header("Content-Type", graph ? "application/json;odata.metadata=minimal;odata.streaming=true;charset=utf-8"
                : "application/json;odata=minimalmetadata;charset=utf-8");
        // chunked: the page is written as it is generated
        CountingStream counted = new CountingStream(res.stream(200));
        try (JsonGenerator g = JSON.createGenerator(counted)) {
            int newest = range[1] - 1 - offset;
            if (graph) {
                graphPage(g, d, newest, count, next);
            } else if (q.containsKey("$format")) {
                lightPage(g, d, newest, count, next, m.group(1), m.group(2), offset);
            } else {
                verbosePage(g, d, newest, count, next, ge, le, offset);
            }
        }
        rowsServed.addAndGet(count);
        bytesServed.addAndGet(counted.count);
        lastPageDone.set(System.nanoTime());
    }

    /** Seconds to wait when the quota is used up (then Retry-After); 0: admitted, and counted in the period. */
    private synchronized long admit(long now) {
        if (budgetRequests <= 0) {
            return 0;
        }
        while (!accepted.isEmpty() && accepted.peekFirst() <= now - budgetPeriodNanos) {
            accepted.pollFirst();
        }
        if (accepted.size() >= budgetRequests) {
            long free = accepted.peekFirst() + budgetPeriodNanos - now;
            return Math.max(1, (free + 999_999_999L) / 1_000_000_000L);
        }
        accepted.addLast(now);
        maxInPeriod = Math.max(maxInPeriod, accepted.size());
        return 0;
    }

    private static void graphPage(JsonGenerator g, TraceData d, int newest, int count, String next) throws IOException {
        TraceData.Iso iso = new TraceData.Iso();
        g.writeStartObject();
        g.writeStringField("@odata.context", "https://graph.microsoft.com/v1.0/$metadata#admin/exchange/tracing/messageTraces");
        g.writeArrayFieldStart("value");
        for (int k = 0; k < count; k++) {
            int i = newest - k;
            g.writeStartObject();
            g.writeStringField("id", TraceData.traceId(i));
            g.writeStringField("senderAddress", TraceData.sender(i));
            g.writeStringField("recipientAddress", TraceData.recipient(i));
            g.writeStringField("messageId", TraceData.messageId(i));
            g.writeStringField("receivedDateTime", iso.format(d.receivedMillis(i)) + "Z");
            g.writeStringField("subject", TraceData.subject(i));
            g.writeNumberField("size", TraceData.size(i));
            g.writeStringField("fromIP", TraceData.fromIP(i));
            String to = TraceData.toIP(i);
            g.writeStringField("toIP", to == null ? "" : to);
            g.writeStringField("status", TraceData.GRAPH_STATUS[TraceData.status(i)]);
            g.writeEndObject();
        }
        g.writeEndArray();
        if (next != null) {
            g.writeStringField("@odata.nextLink", next);
        }
        g.writeEndObject();
    }

    /** {@code $format=json}: Received with 7 fractional digits and no zone, as the real light shape. */
    private void lightPage(JsonGenerator g, TraceData d, int newest, int count, String next, String start, String end, int offset) throws IOException {
        TraceData.Iso iso = new TraceData.Iso();
        g.writeStartObject();
        g.writeStringField("odata.metadata", "https://reports.office365.com/ecp/ReportingWebService/Reporting.svc/$metadata#MessageTrace");
        g.writeArrayFieldStart("value");
        for (int k = 0; k < count; k++) {
            int i = newest - k;
            g.writeStartObject();
            rwsFields(g, i, iso.format(d.receivedMillis(i)) + "0000");
            g.writeStringField("StartDate", start);
            g.writeStringField("EndDate", end);
            g.writeNumberField("Index", offset + k);
            g.writeEndObject();
        }
        g.writeEndArray();
        if (next != null) {
            g.writeStringField("odata.nextLink", next);
        }
        g.writeEndObject();
    }

    private void verbosePage(JsonGenerator g, TraceData d, int newest, int count, String next, long ge, long le, int offset) throws IOException {
        String uri = "https://reports.office365.com/ecp/ReportingWebService/Reporting.svc/MessageTrace(";
        g.writeStartObject();
        g.writeObjectFieldStart("d");
        g.writeArrayFieldStart("results");
        for (int k = 0; k < count; k++) {
            int i = newest - k;
            g.writeStartObject();
            g.writeObjectFieldStart("__metadata");
            g.writeStringField("id", uri + (offset + k) + ")");
            g.writeStringField("uri", uri + (offset + k) + ")");
            g.writeStringField("type", "TenantReporting.MessageTrace");
            g.writeEndObject();
            rwsFields(g, i, "/Date(" + d.receivedMillis(i) + ")/");
            g.writeStringField("StartDate", "/Date(" + ge + ")/");
            g.writeStringField("EndDate", "/Date(" + le + ")/");
            g.writeNumberField("Index", offset + k);
            g.writeEndObject();
        }
        g.writeEndArray();
        if (next != null) {
            g.writeStringField("__next", next);
        }
        g.writeEndObject();
        g.writeEndObject();
    }

    private static void rwsFields(JsonGenerator g, int i, String received) throws IOException {
        g.writeStringField("Organization", TraceData.ORGANIZATION);
        g.writeStringField("MessageId", TraceData.messageId(i));
        g.writeStringField("Received", received);
        g.writeStringField("SenderAddress", TraceData.sender(i));
        g.writeStringField("RecipientAddress", TraceData.recipient(i));
        g.writeStringField("Subject", TraceData.subject(i));
        g.writeStringField("Status", TraceData.STATUS[TraceData.status(i)]);
        g.writeStringField("ToIP", TraceData.toIP(i));
        g.writeStringField("FromIP", TraceData.fromIP(i));
        g.writeNumberField("Size", TraceData.size(i));
        g.writeStringField("MessageTraceId", TraceData.traceId(i));
    }

    static Map<String, String> query(String raw) {
        Map<String, String> q = new HashMap<>();
        if (raw == null) {
            return q;
        }
        for (String part : raw.split("&")) {
            int eq = part.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? part : part.substring(0, eq), StandardCharsets.UTF_8);
            q.put(k, eq < 0 ? "" : URLDecoder.decode(part.substring(eq + 1), StandardCharsets.UTF_8));
        }
        return q;
    }

    private static void send(MiniHttpServer.Response res, int status, String body) throws IOException {
        res.header("Content-Type", "application/json").send(status, body);
    }

    private static final class CountingStream extends OutputStream {
        private final OutputStream out;
        long count;

        CountingStream(OutputStream out) {
            this.out = out;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }

        @Override
        public void flush() throws IOException {
            out.flush();
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }

    static void sleepQuietly(long millis) {
        try {
            TimeUnit.MILLISECONDS.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
