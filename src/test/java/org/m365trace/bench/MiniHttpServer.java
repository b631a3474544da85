package org.m365trace.bench;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A small HTTP/1.1 server on plain loopback sockets, for the fake API: keep-alive, request bodies with Content-Length,
 * replies either whole (Content-Length) or streamed with 64 KB chunks. Written because com.sun.net.httpserver cuts a
 * streamed reply into 4 KB chunks, which halves what a Java client can read from it (measured: ~110,000 against
 * ~280,000 rows/s with 64 KB chunks); the fake must be much faster than any client.
 */
final class MiniHttpServer implements AutoCloseable {

    /** A request: method, raw path and query, headers by lower-case name, body. */
    record Request(String method, String path, String query, Map<String, String> headers, byte[] body) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    interface Handler {
        void handle(Request request, Response response) throws IOException;
    }

    /** The reply to one request: {@link #send} it whole, or {@link #stream} it (closing the stream ends the reply). */
    static final class Response {
        private final OutputStream out;
        private final Map<String, String> headers = new LinkedHashMap<>();
        private boolean sent;

        private Response(OutputStream out) {
            this.out = out;
        }

        Response header(String name, String value) {
            headers.put(name, value);
            return this;
        }

        void send(int status, byte[] body) throws IOException {
            head(status, "Content-Length: " + body.length);
            out.write(body);
            out.flush();
        }

        void send(int status, String body) throws IOException {
            send(status, body.getBytes(StandardCharsets.UTF_8));
        }

        OutputStream stream(int status) throws IOException {
            head(status, "Transfer-Encoding: chunked");
            return new Chunked(out);
        }

        private void head(int status, String framing) throws IOException {
            if (sent) {
                throw new IllegalStateException("a reply was sent already");
            }
            sent = true;
            StringBuilder b = new StringBuilder("HTTP/1.1 ").append(status).append(' ').append(reason(status)).append("\r\n");
            headers.forEach((k, v) -> b.append(k).append(": ").append(v).append("\r\n"));
            b.append(framing).append("\r\n\r\n");
            out.write(b.toString().getBytes(StandardCharsets.ISO_8859_1));
        }
    }

    /** Chunked transfer coding with chunks of up to 64 KB. */
    private static final class Chunked extends OutputStream {
        private final OutputStream out;
        private final byte[] buf = new byte[1 << 16];
        private int n;
        private boolean closed;

        Chunked(OutputStream out) {
            this.out = out;
        }

        @Override
        public void write(int b) throws IOException {
            if (n == buf.length) {
                chunk();
            }
            buf[n++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            while (len > 0) {
                if (n == buf.length) {
                    chunk();
                }
                int k = Math.min(len, buf.length - n);
                System.arraycopy(b, off, buf, n, k);
                n += k;
                off += k;
                len -= k;
            }
        }

        private void chunk() throws IOException {
            if (n == 0) {
                return;
            }
            out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.write(buf, 0, n);
            out.write('\r');
            out.write('\n');
            n = 0;
        }

        @Override
        public void flush() throws IOException {
            chunk();
            out.flush();
        }

        @Override
        public void close() throws IOException {
            if (!closed) {
                closed = true;
                chunk();
                out.write("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
            }
        }
    }

    private final ServerSocket server;
    private final Handler handler;
    private final ExecutorService connections = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fake-api-connection");
        t.setDaemon(true);
        return t;
    });
    private final List<Socket> open = Collections.synchronizedList(new ArrayList<>());

    MiniHttpServer(Handler handler) throws IOException {
        this.handler = handler;
        this.server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
        Thread accept = new Thread(this::accept, "fake-api-accept");
        accept.setDaemon(true);
        accept.start();
    }

    int port() {
        return server.getLocalPort();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                s.setTcpNoDelay(true);
                open.add(s);
                connections.execute(() -> serve(s));
            } catch (IOException closed) {
                return;
            }
        }
    }

    /** Requests of one connection, one after the other, until the client closes it or asks to. */
    private void serve(Socket s) {
        try (s; InputStream in = new BufferedInputStream(s.getInputStream(), 1 << 16);
             OutputStream out = new BufferedOutputStream(s.getOutputStream(), 1 << 16)) {
            while (true) {
                Request request = read(in);
                if (request == null) {
                    return;
                }
                Response response = new Response(out);
                handler.handle(request, response);
                if (!response.sent) {
                    response.send(500, new byte[0]);
                }
                out.flush();
                if ("close".equalsIgnoreCase(request.header("Connection"))) {
                    return;
                }
            }
        } catch (IOException | RuntimeException e) {
            // the client went away
        } finally {
            open.remove(s);
        }
    }

    private static Request read(InputStream in) throws IOException {
        String line = line(in);
        while (line != null && line.isEmpty()) {
            line = line(in);                          // tolerate stray line breaks between requests
        }
        if (line == null) {
            return null;
        }
        String[] parts = line.split(" ");
        if (parts.length < 2) {
            throw new IOException("bad request line: " + line);
        }
        Map<String, String> headers = new LinkedHashMap<>();
        for (String h = line(in); h != null && !h.isEmpty(); h = line(in)) {
            int colon = h.indexOf(':');
            if (colon > 0) {
                headers.put(h.substring(0, colon).trim().toLowerCase(Locale.ROOT), h.substring(colon + 1).trim());
            }
        }
        byte[] body = new byte[0];
        String length = headers.get("content-length");
        if (length != null) {
            body = in.readNBytes(Integer.parseInt(length));
        } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            for (int size = Integer.parseInt(line(in).split(";")[0].trim(), 16); size > 0;
                 size = Integer.parseInt(line(in).split(";")[0].trim(), 16)) {
                b.write(in.readNBytes(size));
                line(in);
            }
            for (String t = line(in); t != null && !t.isEmpty(); t = line(in)) {
                // trailers
            }
            body = b.toByteArray();
        }
        String target = parts[1];
        int q = target.indexOf('?');
        return new Request(parts[0], q < 0 ? target : target.substring(0, q), q < 0 ? null : target.substring(q + 1), headers, body);
    }

    /** One CRLF-terminated line (ISO-8859-1), or null at the end of the stream. */
    private static String line(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                int len = b.length();
                return len > 0 && b.charAt(len - 1) == '\r' ? b.substring(0, len - 1) : b.toString();
            }
            b.append((char) c);
        }
        return b.length() == 0 ? null : b.toString();
    }

    private static String reason(int status) {
        return switch (status) {
            case 200 -> "OK";
            case 400 -> "Bad Request";
            case 401 -> "Unauthorized";
            case 404 -> "Not Found";
            case 429 -> "Too Many Requests";
            case 500 -> "Internal Server Error";
            default -> "Status";
        };
    }

    @Override
    public void close() throws IOException {
        server.close();
        synchronized (open) {
            for (Socket s : open) {
                s.close();
            }
        }
        connections.shutdownNow();
    }
}
