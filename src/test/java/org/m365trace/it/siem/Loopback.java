package org.m365trace.it.siem;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.zip.GZIPInputStream;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * The plumbing the SIEM fakes share: a JDK {@link HttpServer} on the loopback address, port 0, with a small thread
 * pool (so concurrent requests are served concurrently, as by a real server) that reads each request's body before
 * handing it on, and helpers to read a request and
 * answer JSON. A handler that throws is answered 500 {@code {"fake_error":...}} and the stack trace goes to stderr: a
 * bug in a fake must not look like a healthy reply.
 */
public final class Loopback implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();
    /** Reads one JSON value and fails on anything after it ({@code [1] x} is no JSON document). */
    static final ObjectReader ONE_VALUE = JSON.readerFor(JsonNode.class).with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** Answers one request; its body is read already (outside the fake's lock: a slow sender blocks nobody). */
    interface Handler {
        void handle(HttpExchange ex, byte[] body) throws IOException;
    }

    private final HttpServer server;
    private final ExecutorService pool;

    Loopback(String name, Handler handler) throws IOException {
        pool = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(pool);
        server.createContext("/", ex -> {
            try {
                handler.handle(ex, body(ex));
            } catch (RuntimeException | IOException | Error e) {
                e.printStackTrace();
                ObjectNode error = JSON.createObjectNode().put("fake_error", String.valueOf(e));
                try {
                    reply(ex, 500, error);
                } catch (IOException | RuntimeException ignored) {
                    // the headers were sent already: the client sees a truncated reply
                }
            } finally {
                ex.close();
            }
        });
        server.start();
    }

    /** {@code http://127.0.0.1:<port>}, no trailing slash. */
    String base() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** The whole request body, as sent (still compressed if it was). */
    private static byte[] body(HttpExchange ex) throws IOException {
        try (InputStream in = ex.getRequestBody()) {
            return in.readAllBytes();
        }
    }

    /** {@code bytes} gunzipped, reading at most {@code limit} bytes (enough to tell that a limit was passed). */
    static byte[] gunzip(byte[] bytes, int limit) throws IOException {
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(bytes))) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buffer = new byte[8192];
            int n;
            while (out.size() < limit && (n = in.read(buffer)) != -1) {
                out.write(buffer, 0, n);
            }
            return out.toByteArray();
        }
    }

    static boolean isGzip(HttpExchange ex) {
        String encoding = ex.getRequestHeaders().getFirst("Content-Encoding");
        return encoding != null && encoding.trim().equalsIgnoreCase("gzip");
    }

    /** The first value of each parameter of a query string or a form body (null or blank gives none). */
    public static Map<String, String> form(String encoded) {
        Map<String, String> params = new LinkedHashMap<>();
        if (encoded == null || encoded.isBlank()) {
            return params;
        }
        for (String pair : encoded.split("&")) {
            int eq = pair.indexOf('=');
            String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            params.putIfAbsent(name, value);
        }
        return params;
    }

    /** The media type of the request without its parameters, lower case; "" when there is none. */
    static String mediaType(HttpExchange ex) {
        String type = ex.getRequestHeaders().getFirst("Content-Type");
        return type == null ? "" : type.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
    }

    public static void reply(HttpExchange ex, int status, JsonNode json) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(json);
        ex.getResponseHeaders().set("Content-Type", "application/json; charset=UTF-8");
        ex.sendResponseHeaders(status, bytes.length);
        ex.getResponseBody().write(bytes);
    }

    /** An empty reply (a 204, say). */
    static void replyEmpty(HttpExchange ex, int status) throws IOException {
        ex.sendResponseHeaders(status, -1);
    }

    @Override
    public void close() {
        server.stop(0);
        pool.shutdownNow();
    }
}
