package org.m365trace.chaos;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static org.awaitility.Awaitility.await;

/**
 * A loopback syslog receiver over TCP with octet-counting framing (RFC 6587 section 3.4.1: {@code MSG-LEN SP
 * SYSLOG-MSG}, the length in bytes). It records every complete message; a frame cut by a closed connection is
 * counted, not recorded. {@link #stop()} closes the listening socket and every accepted connection (the forwarder
 * then meets refused connections); {@link #start()} listens again on the same port.
 */
final class FakeSyslog implements AutoCloseable {

    /**
     * A receiver that goes away may get again what it was sent in the forwarder's confirmation time before (0.5 s after
     * a write, checked at the latest 0.5 s later): SyslogSender queues that again, as it cannot know what was read.
     */
    private static final long REPEATABLE_NANOS = Duration.ofMillis(1500).toNanos();

    private final List<String> messages = new ArrayList<>();
    private final List<Long> arrivals = new ArrayList<>();
    private int repeatable;
    private final List<String> framingErrors = new ArrayList<>();
    private final Set<Socket> connections = ConcurrentHashMap.newKeySet();
    private volatile ServerSocket listener;
    private int port;
    private int cutFrames;
    private int accepted;

    FakeSyslog() throws IOException {
        start();
    }

    int port() {
        return port;
    }

    /** Listens (again) on the port of the first start. */
    synchronized void start() throws IOException {
        if (listener != null) {
            return;
        }
        ServerSocket s;
        if (port == 0) {
            s = bind(0);
            port = s.getLocalPort();
        } else {
            // the port may take a moment to be free again after stop()
            s = await("syslog port " + port + " free again").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                    .ignoreExceptions().until(() -> bind(port), bound -> bound != null);
        }
        listener = s;
        Thread t = new Thread(() -> acceptLoop(s), "fake-syslog-accept");
        t.setDaemon(true);
        t.start();
    }

    private static ServerSocket bind(int port) throws IOException {
        ServerSocket s = new ServerSocket();
        try {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            return s;
        } catch (IOException e) {
            s.close();
            throw e;
        }
    }

    /** Closes the listening socket and every accepted connection. */
    synchronized void stop() {
        ServerSocket s = listener;
        listener = null;
        long since = System.nanoTime() - REPEATABLE_NANOS;
        for (int i = arrivals.size() - 1; i >= 0 && arrivals.get(i) >= since; i--) {
            repeatable++;
        }
        closeQuietly(s);
        connections.forEach(FakeSyslog::closeQuietly);
        connections.clear();
    }

    synchronized List<String> messages() {
        return List.copyOf(messages);
    }

    synchronized List<String> framingErrors() {
        return List.copyOf(framingErrors);
    }

    /** Frames cut short by a closed connection (not recorded; the forwarder sends them again). */
    synchronized int cutFrames() {
        return cutFrames;
    }

    /** Messages that arrived in the 1.5 s before each stop(): the forwarder may send them again (see SyslogSender). */
    synchronized int repeatable() {
        return repeatable;
    }

    synchronized int acceptedConnections() {
        return accepted;
    }

    @Override
    public void close() {
        stop();
    }

    private void acceptLoop(ServerSocket s) {
        while (!s.isClosed()) {
            try {
                Socket c = s.accept();
                synchronized (this) {
                    if (listener != s) {
                        closeQuietly(c);
                        return;
                    }
                    accepted++;
                    connections.add(c);
                }
                Thread t = new Thread(() -> read(c), "fake-syslog-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;                      // closed by stop()
            }
        }
    }

    private void read(Socket c) {
        boolean midFrame = false;
        try (c; InputStream in = new BufferedInputStream(c.getInputStream())) {
            while (true) {
                int first = in.read();
                if (first < 0) {
                    return;                  // the sender closed between frames
                }
                midFrame = true;
                int length = readLength(first, in);
                byte[] frame = in.readNBytes(length);
                if (frame.length < length) {
                    throw new EOFException("frame cut after " + frame.length + " of " + length + " bytes");
                }
                synchronized (this) {
                    messages.add(new String(frame, StandardCharsets.UTF_8));
                    arrivals.add(System.nanoTime());
                }
                midFrame = false;
            }
        } catch (FramingException e) {
            synchronized (this) {
                framingErrors.add(e.getMessage());
            }
        } catch (IOException e) {
            if (midFrame) {                  // closed (by either side) in the middle of a frame
                synchronized (this) {
                    cutFrames++;
                }
            }
        } finally {
            connections.remove(c);
        }
    }

    /** MSG-LEN: a non-zero digit then digits, ended by one space. */
    private static int readLength(int first, InputStream in) throws IOException {
        StringBuilder digits = new StringBuilder();
        int b = first;
        while (b != ' ') {
            if (b < 0) {
                throw new EOFException("stream ended inside MSG-LEN");
            }
            if (b < '0' || b > '9' || digits.length() > 9 || (digits.length() == 0 && b == '0')) {
                throw new FramingException("bad MSG-LEN: \"" + digits + "\" then byte " + b);
            }
            digits.append((char) b);
            b = in.read();
        }
        if (digits.length() == 0) {
            throw new FramingException("empty MSG-LEN");
        }
        return Integer.parseInt(digits.toString());
    }

    private static final class FramingException extends IOException {
        FramingException(String message) {
            super(message);
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception ignored) {
            // already closed
        }
    }
}
