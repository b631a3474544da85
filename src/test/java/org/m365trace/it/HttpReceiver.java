package org.m365trace.it;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/** A real loopback HTTP receiver: keeps every accepted POST (body, headers); can refuse the next N with 503. */
public final class HttpReceiver implements AutoCloseable {

    public record Post(String body, String contentType, String authorization) {
    }

    private final HttpServer server;
    private final List<Post> accepted = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger refuse = new AtomicInteger();
    private final AtomicInteger refused = new AtomicInteger();
    private volatile int rejectWith;

    public HttpReceiver() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/ingest";
    }

    /** The next {@code n} POSTs are answered 503 and not kept. */
    public void refuseNext(int n) {
        refuse.set(n);
    }

    /** From now on every POST is answered {@code status} (a 400, say) and not kept; 0 accepts again. */
    public void rejectWith(int status) {
        rejectWith = status;
    }

    public int refused() {
        return refused.get();
    }

    public List<Post> accepted() {
        synchronized (accepted) {
            return new ArrayList<>(accepted);
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex; InputStream in = ex.getRequestBody()) {
            String body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            if (rejectWith != 0) {
                refused.incrementAndGet();
                byte[] reason = "{\"text\":\"Invalid data format\",\"code\":6}".getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(rejectWith, reason.length);
                ex.getResponseBody().write(reason);
                return;
            }
            if (refuse.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                refused.incrementAndGet();
                ex.sendResponseHeaders(503, -1);
                return;
            }
            accepted.add(new Post(body, ex.getRequestHeaders().getFirst("Content-Type"),
                    ex.getRequestHeaders().getFirst("Authorization")));
            ex.sendResponseHeaders(204, -1);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
