package org.m365trace.chaos;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import static org.awaitility.Awaitility.await;

/**
 * A loopback HTTP receiver of record batches ({@code POST /ingest}, body a JSON array). It records every body it
 * answers with 200. It can be down in two ways: {@link #refuseConnections()} (nothing listens on the port) and
 * {@link #answer503()} (it listens, reads the body, answers 503 and records nothing).
 */
final class FakeHttpSink implements AutoCloseable {

    /** One accepted POST. */
    record Post(Instant at, String contentType, String body) {
    }

    private final ExecutorService executor = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fake-http-sink");
        t.setDaemon(true);
        return t;
    });
    private final List<Post> posts = new ArrayList<>();
    private HttpServer server;
    private int port;
    private volatile boolean failing;
    private final List<Instant> rejected = new ArrayList<>();

    FakeHttpSink() throws IOException {
        listen();
    }

    String url() {
        return "http://127.0.0.1:" + port + "/ingest";
    }

    /** Listening and answering 200. */
    synchronized void up() throws IOException {
        failing = false;
        listen();
    }

    /** Listening, answering 503 to every POST. */
    synchronized void answer503() throws IOException {
        failing = true;
        listen();
    }

    /** Nothing listens: connections are refused. */
    synchronized void refuseConnections() {
        if (server != null) {
            server.stop(0);
            server = null;
        }
    }

    synchronized List<Post> posts() {
        return List.copyOf(posts);
    }

    /** When each POST answered 503 came in. */
    synchronized List<Instant> rejected() {
        return List.copyOf(rejected);
    }

    @Override
    public synchronized void close() {
        refuseConnections();
        executor.shutdownNow();
    }

    private void listen() throws IOException {
        if (server != null) {
            return;
        }
        if (port == 0) {
            server = create(0);
            port = server.getAddress().getPort();
        } else {
            server = await("http sink port " + port + " free again").atMost(Duration.ofSeconds(10))
                    .pollInterval(Duration.ofMillis(100)).ignoreExceptions().until(() -> create(port), s -> s != null);
        }
        server.start();
    }

    private HttpServer create(int onPort) throws IOException {
        HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), onPort), 50);
        s.setExecutor(executor);
        s.createContext("/ingest", this::handle);
        return s;
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            byte[] body = exchange.getRequestBody().readAllBytes();
            if (!"POST".equals(exchange.getRequestMethod())) {
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            if (failing) {
                synchronized (this) {
                    rejected.add(Instant.now());
                }
                exchange.sendResponseHeaders(503, -1);
                return;
            }
            synchronized (this) {
                posts.add(new Post(Instant.now(), exchange.getRequestHeaders().getFirst("Content-Type"),
                        new String(body, StandardCharsets.UTF_8)));
            }
            exchange.sendResponseHeaders(200, -1);
        }
    }
}
