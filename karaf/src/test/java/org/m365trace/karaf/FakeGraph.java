package org.m365trace.karaf;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * A loopback Microsoft Graph for {@link KarafIT}: the Entra ID token endpoint ({@code POST /{tenant}/oauth2/v2.0/token})
 * and {@code GET /v1.0/admin/exchange/tracing/messageTraces} answering the rows whose {@code receivedDateTime} lies in
 * the {@code $filter} window, newest first, {@code $top} at a time with an {@code @odata.nextLink} (the shape of
 * samples/graph-page1.json). It counts every request it gets, and keeps what it did not expect.
 */
final class FakeGraph implements AutoCloseable {

    static final String TENANT = "karaf-it.onmicrosoft.com";
    static final String CLIENT_ID = "2b7c5d1e-8f90-4a12-b345-6c7d8e9f0a1b";
    static final String CLIENT_SECRET = "karaf~it.secret_42";
    private static final String TOKEN = "x";
    private static final String LIST_PATH = "/v1.0/admin/exchange/tracing/messageTraces";
    private static final Pattern FILTER = Pattern.compile("receivedDateTime ge (\\S+) and receivedDateTime le (\\S+)");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One row: one recipient of one message. */
    record Row(String id, String recipient, Instant received, String status) {
        String key() {
            return id + "|" + recipient;
        }
    }

    private final HttpServer server;
    private final List<Row> rows = new CopyOnWriteArrayList<>();
    private final AtomicInteger requests = new AtomicInteger();
    private final AtomicInteger listRequests = new AtomicInteger();
    private final List<String> unexpected = new CopyOnWriteArrayList<>();

    FakeGraph() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    /** {@code http://127.0.0.1:<port>} */
    String root() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    void add(Row row) {
        rows.add(row);
    }

    List<Row> rows() {
        return List.copyOf(rows);
    }

    /** Every request so far, token and list requests and anything else. */
    int requests() {
        return requests.get();
    }

    int listRequests() {
        return listRequests.get();
    }

    /** Requests the fake did not expect (wrong path, no bearer token, a window it cannot read), as text. */
    List<String> unexpected() {
        return List.copyOf(unexpected);
    }

    @Override
    public void close() {
        server.stop(0);
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            requests.incrementAndGet();
            String method = exchange.getRequestMethod();
            String path = exchange.getRequestURI().getPath();
            if (method.equals("POST") && path.equals("/" + TENANT + "/oauth2/v2.0/token")) {
                token(exchange);
            } else if (method.equals("GET") && path.equals(LIST_PATH)) {
                listRequests.incrementAndGet();
                list(exchange);
            } else {
                refuse(exchange, 404, method + " " + exchange.getRequestURI());
            }
        }
    }

    private void token(HttpExchange exchange) throws IOException {
        Map<String, String> form = params(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
        if (!"client_credentials".equals(form.get("grant_type")) || !CLIENT_ID.equals(form.get("client_id"))
                || !CLIENT_SECRET.equals(form.get("client_secret"))) {
            refuse(exchange, 401, "token request " + form.keySet());
            return;
        }
        send(exchange, 200, "{\"access_token\":\"" + TOKEN + "\",\"token_type\":\"Bearer\",\"expires_in\":3600}");
    }

    private void list(HttpExchange exchange) throws IOException {
        String query = exchange.getRequestURI().getRawQuery();
        if (!("Bearer " + TOKEN).equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
            refuse(exchange, 401, "no bearer token: " + query);
            return;
        }
        Map<String, String> params = params(query == null ? "" : query);
        Matcher m = FILTER.matcher(params.getOrDefault("$filter", ""));
        if (!m.matches()) {
            refuse(exchange, 400, "filter: " + query);
            return;
        }
        Instant ge = Instant.parse(m.group(1));
        Instant le = Instant.parse(m.group(2));
        int top = Integer.parseInt(params.getOrDefault("$top", "1000"));
        int offset = Integer.parseInt(params.getOrDefault("$skiptoken", "0"));
        List<Row> window = rows.stream().filter(r -> !r.received().isBefore(ge) && !r.received().isAfter(le))
                .sorted(Comparator.comparing(Row::received).reversed().thenComparing(Row::key)).toList();
        ObjectNode page = JSON.createObjectNode();
        page.put("@odata.context", "https://graph.microsoft.com/v1.0/$metadata#admin/exchange/tracing/messageTraces");
        ArrayNode value = page.putArray("value");
        window.subList(Math.min(offset, window.size()), Math.min(offset + top, window.size())).forEach(r -> value.add(json(r)));
        if (offset + top < window.size()) {
            page.put("@odata.nextLink", root() + LIST_PATH + "?$filter=" + params.get("$filter").replace(' ', '+')
                    + "&$top=" + top + "&$skiptoken=" + (offset + top));
        }
        send(exchange, 200, JSON.writeValueAsString(page));
    }

    private static ObjectNode json(Row r) {
        ObjectNode row = JSON.createObjectNode();
        row.put("id", r.id());
        row.put("senderAddress", "billing@fabrikam.com");
        row.put("recipientAddress", r.recipient());
        row.put("messageId", "<" + r.id() + "@fabrikam.com>");
        row.put("receivedDateTime", r.received().truncatedTo(ChronoUnit.SECONDS).toString());
        row.put("subject", "Karaf test " + r.key());
        row.put("size", 4096);
        row.put("fromIP", "198.51.100.31");
        row.put("toIP", "");
        row.put("status", r.status());
        return row;
    }

    private void refuse(HttpExchange exchange, int status, String what) throws IOException {
        unexpected.add(status + " " + what);
        send(exchange, status, "{\"error\":{\"code\":\"BadRequest\",\"message\":\"" + status + "\"}}");
    }

    private static void send(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
    }

    /** {@code a=1&b=2}, form- or URL-encoded ({@code +} and {@code %20} both a space). */
    private static Map<String, String> params(String s) {
        Map<String, String> out = new HashMap<>();
        for (String pair : s.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                out.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                        URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        return out;
    }
}
