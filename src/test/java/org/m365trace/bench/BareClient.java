package org.m365trace.bench;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The baseline: the least a client must do to forward the trace to NDJSON, written without the product's classes.
 * Same windows as the product (from {@code now - lookback} to {@code now - delay}, at most {@code maxWindow} each,
 * oldest first, whole-second bounds), same {@code $top}, follows the next links; stream-parses each page with Jackson's
 * JsonParser, maps each row to the contract's record with its own small code and writes it as one JSON line through a
 * BufferedWriter. No dedupe, no spool, no checkpoint: that is what the ratio in the table is against.
 */
final class BareClient {

    /** What one run did: rows written, distinct keys (when collected), pages, and its time from first request to the
     *  last line written. */
    record Result(long rows, long pages, long nanos, LongSet keys) {
        double rowsPerSecond() {
            return rows / (nanos / 1e9);
        }
    }

    private static final JsonFactory JSON = new JsonFactory();
    private static final Map<String, String> STATUSES = Map.of(
            "delivered", "Delivered", "pending", "Pending", "expanded", "Expanded", "failed", "Failed",
            "filteredasspam", "FilteredAsSpam", "quarantined", "Quarantined", "gettingstatus", "GettingStatus", "none", "None");

    private final String api;
    private final String baseUrl;
    private final String tokenUrl;
    private final String authorizationBasic;   // non-null: basic auth instead of a token
    private final String clientId;
    private final String clientSecret;
    private final int pageSize;
    private final Duration lookback;
    private final Duration delay;
    private final Duration maxWindow;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();

    BareClient(String api, String baseUrl, String tokenUrl, String basicUser, String basicPassword, String clientId,
               String clientSecret, int pageSize, Duration lookback, Duration delay, Duration maxWindow) {
        this.api = api;
        this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        this.tokenUrl = tokenUrl;
        this.authorizationBasic = basicUser == null ? null
                : "Basic " + Base64.getEncoder().encodeToString((basicUser + ":" + basicPassword).getBytes(StandardCharsets.UTF_8));
        this.clientId = clientId;
        this.clientSecret = clientSecret;
        this.pageSize = pageSize;
        this.lookback = lookback;
        this.delay = delay;
        this.maxWindow = maxWindow;
    }

    /**
     * The bare client in a JVM of its own, started like the product ({@code java -Xmx256m ...}): one run, cold, its
     * result on stdout as {@code bare-result <rows> <pages> <nanos>}. Arguments: api baseUrl tokenUrl clientId
     * clientSecret pageSize lookback delay maxWindow (seconds) out.
     */
    public static void main(String[] a) throws Exception {
        BareClient client = new BareClient(a[0], a[1], a[2], null, null, a[3], a[4], Integer.parseInt(a[5]),
                Duration.ofSeconds(Long.parseLong(a[6])), Duration.ofSeconds(Long.parseLong(a[7])), Duration.ofSeconds(Long.parseLong(a[8])));
        Result r = client.run(Path.of(a[9]), false);
        System.out.println("bare-result " + r.rows() + " " + r.pages() + " " + r.nanos());
    }

    /** The arguments of {@link #main} for this client, writing to {@code out}. */
    List<String> mainArgs(Path out) {
        return List.of(api, baseUrl, tokenUrl, clientId, clientSecret, String.valueOf(pageSize), String.valueOf(lookback.toSeconds()),
                String.valueOf(delay.toSeconds()), String.valueOf(maxWindow.toSeconds()), out.toAbsolutePath().toString());
    }

    /** The classpath {@link #main} needs: its own classes and Jackson's. */
    static String classpath() {
        List<String> parts = new ArrayList<>();
        for (Class<?> c : List.of(BareClient.class, JsonFactory.class, ObjectMapper.class, com.fasterxml.jackson.annotation.JsonProperty.class)) {
            try {
                parts.add(Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
            } catch (java.net.URISyntaxException e) {
                throw new IllegalStateException(e);
            }
        }
        return String.join(java.io.File.pathSeparator, parts);
    }

    /** Reads every window into {@code out}; with {@code collectKeys} also the key hash of each row. */
    Result run(Path out, boolean collectKeys) throws IOException, InterruptedException {
        Files.createDirectories(out.toAbsolutePath().getParent());
        LongSet keys = collectKeys ? new LongSet(1 << 16) : null;
        long rows = 0;
        long pages = 0;
        long started = System.nanoTime();
        String authorization = authorizationBasic != null ? authorizationBasic : "Bearer " + token();
        boolean graph = "graph".equals(api);
        try (Writer w = new BufferedWriter(new OutputStreamWriter(Files.newOutputStream(out), StandardCharsets.UTF_8), 1 << 16);
             JsonGenerator g = JSON.createGenerator(w)) {
            g.setRootValueSeparator(null);
            Mapper mapper = new Mapper(g, graph, keys);
            for (Instant[] window : windows(Instant.now())) {
                String url = firstUrl(window[0], window[1]);
                while (url != null) {
                    HttpResponse<InputStream> reply = get(url, authorization);
                    if (reply.statusCode() == 401 && authorizationBasic == null) {
                        reply.body().close();
                        authorization = "Bearer " + token();
                        reply = get(url, authorization);
                    }
                    if (reply.statusCode() == 429 || reply.statusCode() == 503) {
                        long wait = reply.headers().firstValueAsLong("Retry-After").orElse(1);
                        reply.body().close();
                        Thread.sleep(wait * 1000);
                        continue;
                    }
                    if (reply.statusCode() != 200) {
                        String body;
                        try (InputStream in = reply.body()) {
                            body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                        }
                        throw new IOException("bare client: " + reply.statusCode() + " for " + url + ": " + body);
                    }
                    pages++;
                    String next;
                    try (InputStream in = reply.body(); JsonParser p = JSON.createParser(in)) {
                        next = mapper.page(p);
                    }
                    url = next == null || next.isBlank() ? null : URI.create(url).resolve(next).toString();
                }
            }
            rows = mapper.rows;
        }
        return new Result(rows, pages, System.nanoTime() - started, keys);
    }

    /** The product's windows: [now - lookback, now - delay] cut into maxWindow pieces, whole seconds, oldest first. */
    List<Instant[]> windows(Instant now) {
        Instant end = now.truncatedTo(ChronoUnit.SECONDS).minus(delay);
        Instant start = now.truncatedTo(ChronoUnit.SECONDS).minus(lookback);
        List<Instant[]> windows = new ArrayList<>();
        while (start.isBefore(end)) {
            Instant stop = start.plus(maxWindow).isBefore(end) ? start.plus(maxWindow) : end;
            windows.add(new Instant[] {start, stop});
            start = stop;
        }
        return windows;
    }

    private String firstUrl(Instant start, Instant end) {
        if ("graph".equals(api)) {
            return baseUrl + "/admin/exchange/tracing/messageTraces?$filter="
                    + enc("receivedDateTime ge " + start + " and receivedDateTime le " + end) + "&$top=" + pageSize;
        }
        return baseUrl + "/MessageTrace?$format=json&$filter="
                + enc("StartDate eq datetime'" + start + "' and EndDate eq datetime'" + end + "'") + "&$top=" + pageSize;
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20").replace("%27", "'");
    }

    private HttpResponse<InputStream> get(String url, String authorization) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofMinutes(2))
                .header("Authorization", authorization).header("Accept", "application/json").GET().build();
        return http.send(request, HttpResponse.BodyHandlers.ofInputStream());
    }

    private String token() throws IOException, InterruptedException {
        String scope = "graph".equals(api) ? "https://graph.microsoft.com/.default" : "https://outlook.office365.com/.default";
        String form = "grant_type=client_credentials&client_id=" + URLEncoder.encode(clientId, StandardCharsets.UTF_8)
                + "&client_secret=" + URLEncoder.encode(clientSecret, StandardCharsets.UTF_8) + "&scope=" + URLEncoder.encode(scope, StandardCharsets.UTF_8);
        HttpResponse<String> reply = http.send(HttpRequest.newBuilder(URI.create(tokenUrl))
                .header("Content-Type", "application/x-www-form-urlencoded").POST(HttpRequest.BodyPublishers.ofString(form)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (reply.statusCode() != 200) {
            throw new IOException("bare client: token endpoint answered " + reply.statusCode() + ": " + reply.body());
        }
        return new ObjectMapper().readTree(reply.body()).path("access_token").asText();
    }

    /** Rows of one page to NDJSON lines: the contract's record, fields in its order. */
    private static final class Mapper {
        private final JsonGenerator g;
        private final boolean graph;
        private final LongSet keys;
        long rows;

        Mapper(JsonGenerator g, boolean graph, LongSet keys) {
            this.g = g;
            this.graph = graph;
            this.keys = keys;
        }

        /** Writes the page's rows; returns its next link (null on the last page). */
        String page(JsonParser p) throws IOException {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException("bare client: a page that is not a JSON object");
            }
            return object(p);
        }

        private String object(JsonParser p) throws IOException {
            String next = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                switch (name) {
                    case "value", "results" -> {
                        if (v == JsonToken.START_ARRAY) {
                            while (p.nextToken() == JsonToken.START_OBJECT) {
                                row(p);
                            }
                        } else {
                            p.skipChildren();
                        }
                    }
                    case "d" -> {
                        if (v == JsonToken.START_OBJECT) {
                            next = object(p);
                        } else {
                            p.skipChildren();
                        }
                    }
                    case "@odata.nextLink", "odata.nextLink", "__next" -> next = v == JsonToken.VALUE_STRING ? p.getText() : null;
                    default -> p.skipChildren();
                }
            }
            return next;
        }

        private void row(JsonParser p) throws IOException {
            String id = null;
            String messageId = null;
            String received = null;
            String sender = null;
            String recipient = null;
            String subject = null;
            String status = null;
            Long size = null;
            String fromIP = null;
            String toIP = null;
            String organization = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                if (v == JsonToken.START_OBJECT || v == JsonToken.START_ARRAY) {
                    p.skipChildren();
                    continue;
                }
                switch (name) {
                    case "id", "MessageTraceId" -> id = text(p, v);
                    case "messageId", "MessageId" -> messageId = text(p, v);
                    case "receivedDateTime", "Received" -> received = text(p, v);
                    case "senderAddress", "SenderAddress" -> sender = text(p, v);
                    case "recipientAddress", "RecipientAddress" -> recipient = text(p, v);
                    case "subject", "Subject" -> subject = v == JsonToken.VALUE_NULL ? null : p.getText();
                    case "status", "Status" -> status = text(p, v);
                    case "size", "Size" -> size = v.isNumeric() ? p.getLongValue() : null;
                    case "fromIP", "FromIP" -> fromIP = text(p, v);
                    case "toIP", "ToIP" -> toIP = text(p, v);
                    case "Organization" -> organization = text(p, v);
                    default -> { }
                }
            }
            status = status(status);
            g.writeStartObject();
            g.writeStringField("messageTraceId", id);
            g.writeStringField("messageId", messageId);
            g.writeStringField("received", received == null ? null : received(received));
            g.writeStringField("senderAddress", sender);
            g.writeStringField("recipientAddress", recipient);
            g.writeStringField("subject", subject);
            g.writeStringField("status", status);
            if (size == null) {
                g.writeNullField("size");
            } else {
                g.writeNumberField("size", size);
            }
            g.writeStringField("fromIP", fromIP);
            g.writeStringField("toIP", toIP);
            if (!graph) {
                g.writeStringField("organization", organization);
            }
            g.writeStringField("api", graph ? "graph" : "reporting");
            g.writeEndObject();
            g.writeRaw('\n');
            rows++;
            if (keys != null && id != null && recipient != null && status != null) {
                keys.add(Keys.hash(id, recipient, status));
            }
        }

        private static String text(JsonParser p, JsonToken v) throws IOException {
            if (v == JsonToken.VALUE_NULL) {
                return null;
            }
            String s = p.getText();
            return s.isEmpty() ? null : s;
        }

        private static String status(String raw) {
            if (raw == null) {
                return null;
            }
            String known = STATUSES.get(raw.toLowerCase(Locale.ROOT));
            return known != null ? known : Character.toUpperCase(raw.charAt(0)) + raw.substring(1);
        }

        private final TraceData.Iso iso = new TraceData.Iso();

        /** {@code /Date(ms)/}, or ISO with 0-7 fractional digits and Z or no zone (UTC), to {@code ...T..:..:..SSSZ}. */
        private String received(String raw) {
            if (raw.startsWith("/Date(")) {
                int end = 6;
                if (end < raw.length() && raw.charAt(end) == '-') {
                    end++;
                }
                while (end < raw.length() && Character.isDigit(raw.charAt(end))) {
                    end++;
                }
                return iso.format(Long.parseLong(raw.substring(6, end))) + "Z";
            }
            if (raw.length() >= 19 && raw.charAt(10) == 'T') {
                int i = 19;
                char[] ms = {'0', '0', '0'};
                if (i < raw.length() && raw.charAt(i) == '.') {
                    i++;
                    int d = 0;
                    while (i < raw.length() && Character.isDigit(raw.charAt(i))) {
                        if (d < 3) {
                            ms[d] = raw.charAt(i);
                        }
                        d++;
                        i++;
                    }
                }
                String zone = raw.substring(i);
                if (zone.isEmpty() || zone.equals("Z")) {
                    return raw.substring(0, 19) + "." + new String(ms) + "Z";
                }
            }
            return iso.format(OffsetDateTime.parse(raw).toInstant().toEpochMilli()) + "Z";
        }
    }
}
