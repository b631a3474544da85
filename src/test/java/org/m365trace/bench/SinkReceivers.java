package org.m365trace.bench;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/** The benchmark's end of each sink: it books every record that arrives in a {@link Tally}. */
final class SinkReceivers {

    private SinkReceivers() {
    }

    /** A loopback RFC 6587 syslog receiver over TCP (octet counting; a line break ends a frame without a count). */
    static final class Syslog implements AutoCloseable {
        private final ServerSocket server;
        private final Tally tally;
        private final List<Socket> clients = Collections.synchronizedList(new ArrayList<>());
        final AtomicLong errors = new AtomicLong();

        Syslog(Tally tally) throws IOException {
            this.tally = tally;
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            daemon("bench-syslog", this::accept);
        }

        int port() {
            return server.getLocalPort();
        }

        private void accept() {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    clients.add(s);
                    daemon("bench-syslog-client", () -> read(s));
                } catch (IOException closed) {
                    return;
                }
            }
        }

        private void read(Socket s) {
            try (s; InputStream in = new BufferedInputStream(s.getInputStream(), 1 << 16)) {
                byte[] buf = new byte[8192];
                while (true) {
                    int c = in.read();
                    if (c < 0) {
                        return;
                    }
                    int len;
                    if (c >= '0' && c <= '9') {
                        len = c - '0';
                        while ((c = in.read()) >= '0' && c <= '9') {
                            len = len * 10 + (c - '0');
                        }
                        if (c != ' ') {
                            errors.incrementAndGet();
                            return;
                        }
                        if (buf.length < len) {
                            buf = new byte[len * 2];
                        }
                        if (in.readNBytes(buf, 0, len) != len) {
                            errors.incrementAndGet();
                            return;
                        }
                    } else {                                  // non-transparent framing: up to the line break
                        len = 0;
                        for (; c >= 0 && c != '\n'; c = in.read()) {
                            if (len == buf.length) {
                                buf = java.util.Arrays.copyOf(buf, len * 2);
                            }
                            buf[len++] = (byte) c;
                        }
                    }
                    int json = 0;
                    while (json < len && buf[json] != '{') {
                        json++;
                    }
                    if (json == len) {
                        tally.add(Keys.UNREADABLE);
                    } else {
                        Keys.each(buf, json, len - json, tally::add);
                    }
                }
            } catch (IOException e) {
                // the forwarder closed the connection
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
            synchronized (clients) {
                for (Socket s : clients) {
                    s.close();
                }
            }
        }
    }

    /** A loopback HTTP endpoint: every POST is answered 200 and its records (a JSON array, or NDJSON) are booked. */
    static final class Http implements AutoCloseable {
        private final HttpServer server;
        private final ExecutorService executor = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "bench-http-sink");
            t.setDaemon(true);
            return t;
        });
        private final Tally tally;
        final AtomicLong posts = new AtomicLong();

        /**
         * Replies without Nagle's delay, as Elasticsearch, Splunk and other real receivers send them: without it every
         * POST waited 40 ms for the client's delayed ACK, and the receiver, not the product, set the HTTP sink's pace.
         * The JDK reads the setting when its first HTTP server is made (the first-request proxy of a run against an
         * external API is made before this receiver): called first thing.
         */
        static void replyWithoutDelay() {
            System.setProperty("sun.net.httpserver.nodelay", "true");
        }

        Http(Tally tally) throws IOException {
            this.tally = tally;
            replyWithoutDelay();
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
            server.setExecutor(executor);
            server.createContext("/", this::handle);
            server.start();
        }

        String url() {
            return "http://127.0.0.1:" + server.getAddress().getPort() + "/ingest";
        }

        private void handle(HttpExchange ex) throws IOException {
            try (ex) {
                byte[] body = ex.getRequestBody().readAllBytes();
                posts.incrementAndGet();
                try {
                    Keys.each(body, 0, body.length, tally::add);
                } catch (IOException notJson) {
                    tally.add(Keys.UNREADABLE);
                }
                byte[] ok = "{\"ok\":true}".getBytes();
                ex.getResponseHeaders().set("Content-Type", "application/json");
                ex.sendResponseHeaders(200, ok.length);
                ex.getResponseBody().write(ok);
            }
        }

        @Override
        public void close() {
            server.stop(0);
            executor.shutdownNow();
        }
    }

    /**
     * The file sink's folder read as it grows: each {@code *.ndjson} file from where the last look stopped, whole
     * lines only. Called every 100 ms by the benchmark.
     */
    static final class FileTail {
        private final Path dir;
        private final Tally tally;
        private final Map<Path, Long> read = new HashMap<>();
        long lines;

        FileTail(Path dir, Tally tally) {
            this.dir = dir;
            this.tally = tally;
        }

        void poll() throws IOException {
            if (!Files.isDirectory(dir)) {
                return;
            }
            try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.ndjson")) {
                for (Path f : files) {
                    tail(f);
                }
            }
        }

        private void tail(Path f) throws IOException {
            long from = read.getOrDefault(f, 0L);
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
                long size = ch.size();
                if (size <= from) {
                    return;
                }
                ByteBuffer buf = ByteBuffer.allocate((int) Math.min(size - from, 64L << 20));
                while (buf.hasRemaining() && ch.read(buf, from + buf.position()) > 0) {
                    // read what is there
                }
                byte[] b = buf.array();
                int end = buf.position();
                while (end > 0 && b[end - 1] != '\n') {
                    end--;                                  // a line being written: next time
                }
                if (end == 0) {
                    return;
                }
                for (int i = 0; i < end; i++) {
                    if (b[i] == '\n') {
                        lines++;
                    }
                }
                Keys.each(b, 0, end, tally::add);
                read.put(f, from + end);
            }
        }
    }

    static Thread daemon(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
        return t;
    }
}
