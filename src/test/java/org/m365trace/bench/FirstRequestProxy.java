package org.m365trace.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * For an external fake API (one the benchmark did not write, {@code -Dbench.graphUrl=...}): a loopback pass-through put
 * in front of its base URL, only to learn when the forwarder sent its first request. Every request is forwarded as it
 * is (method, path, query, Authorization, Accept, body) and the reply streamed back; next links the API gives are
 * absolute, so later pages go to the API directly and the proxy costs nothing there.
 */
final class FirstRequestProxy implements AutoCloseable {

    private final HttpServer server;
    private final ExecutorService executor = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "bench-proxy");
        t.setDaemon(true);
        return t;
    });
    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();
    private final URI target;
    private final AtomicLong first = new AtomicLong();

    /** {@code target}: scheme, host and port of the external API. */
    FirstRequestProxy(URI target) throws IOException {
        this.target = target;
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
    }

    /** {@code url} (on the external API) as reached through this proxy. */
    String via(String url) {
        URI u = URI.create(url);
        return "http://127.0.0.1:" + server.getAddress().getPort() + u.getRawPath() + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery());
    }

    void reset() {
        first.set(0);
    }

    long firstRequestNanos() {
        return first.get();
    }

    private void handle(HttpExchange ex) throws IOException {
        first.compareAndSet(0, System.nanoTime());
        try (ex) {
            byte[] body = ex.getRequestBody().readAllBytes();
            URI uri = target.resolve(ex.getRequestURI().getRawPath() + (ex.getRequestURI().getRawQuery() == null ? "" : "?" + ex.getRequestURI().getRawQuery()));
            HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(2))
                    .method(ex.getRequestMethod(), body.length == 0 ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
            for (String h : List.of("Authorization", "Accept", "Content-Type")) {
                String v = ex.getRequestHeaders().getFirst(h);
                if (v != null) {
                    b.header(h, v);
                }
            }
            HttpResponse<InputStream> reply = client.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            reply.headers().map().forEach((k, v) -> {
                if (!k.equalsIgnoreCase("content-length") && !k.equalsIgnoreCase("transfer-encoding") && !k.equalsIgnoreCase("connection")
                        && !k.startsWith(":")) {
                    ex.getResponseHeaders().put(k, v);
                }
            });
            ex.sendResponseHeaders(reply.statusCode(), 0);
            try (InputStream in = reply.body(); OutputStream out = ex.getResponseBody()) {
                in.transferTo(out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // the client or the API went away
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
