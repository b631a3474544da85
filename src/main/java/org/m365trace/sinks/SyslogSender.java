package org.m365trace.sinks;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLSocketFactory;

import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.m365trace.Durations;
import org.m365trace.Secret;
import org.m365trace.SettingException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends RFC 5424 messages over TCP with octet-counting framing (RFC 6587), over TLS (RFC 5425, same framing), or
 * one message a UDP datagram. Before each batch over TCP/TLS it checks that the receiver has not closed the
 * connection, because bytes written into a connection the peer already closed are silently lost; a closed or
 * failed connection is reopened and the batch fails, so it is sent again from the spool.
 * <p>
 * A write is not a delivery either: a receiver that closes just after a batch was written may not have read it (it
 * sits in the receiver's socket buffer, or in its own read buffer). So what was written stays <em>unconfirmed</em>
 * until the connection is seen open {@link #CONFIRM_AFTER} later (at the next batch, or at a check scheduled then);
 * when the connection is found closed first, the unconfirmed messages go back into the {@link #setSpool spool} and
 * are sent again. A receiver that goes away thus gets at most what was written in its last second twice, never less.
 */
public class SyslogSender implements AutoCloseable, CamelContextAware {

    private static final Logger LOG = LoggerFactory.getLogger(SyslogSender.class);

    /** Closes the connection of a write that takes too long: a stalled receiver must not block the sink forever. */
    private static final ScheduledExecutorService DEADLINES = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "syslog-write-deadline");
        t.setDaemon(true);
        return t;
    });

    private String protocol = "tcp";
    private String host = "localhost";
    private Integer port;
    private Duration connectTimeout = Duration.ofSeconds(10);
    private Duration writeTimeout = Duration.ofSeconds(60);
    private String trustStore;
    private String trustStorePassword;
    private String trustStorePasswordFile;
    private CamelContext camelContext;

    /** Checks, after a write, that its connection is still open (apart from DEADLINES, which must never wait for a lock). */
    private static final ScheduledExecutorService CONFIRMS = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "syslog-confirm");
        t.setDaemon(true);
        return t;
    });

    /** How long a connection must stay open after a write before what was written counts as delivered. */
    static final Duration CONFIRM_AFTER = Duration.ofMillis(500);

    private volatile Socket socket;
    private volatile OutputStream out;
    private volatile DatagramSocket udp;
    /** Where unconfirmed messages go again when their connection closed; without one they are only logged lost. */
    private Spool spool;
    /** Batches written on the current connection and not yet confirmed, oldest first. */
    private final Deque<Written> unconfirmed = new ArrayDeque<>();
    /** Messages to be queued again that the spool refused (a disk error): see {@link #requeueLeftOver}. */
    private final List<String> leftOver = new ArrayList<>();
    /** Set by close(): the checks after writes leave the unconfirmed batches to it. */
    private volatile boolean stopping;
    /** A send holds the lock: close() must not wait for it (a stalled receiver can block a write for long). */
    private volatile boolean sending;

    /** A batch written (its lines, UTF-8) and when. */
    private record Written(byte[] messages, long atNanos) {
    }

    /**
     * Sends every line of {@code messages} (one message a line, UTF-8, as the spool keeps them): each line is framed and
     * written from the batch's own bytes, without decoding or copying it.
     */
    public synchronized void sendLines(byte[] messages) throws IOException {
        if ("udp".equals(protocol)) {
            sendUdp(messages);
            return;
        }
        requeueLeftOver();
        ensureOpenOrFail();
        confirmOlder(System.nanoTime());
        Socket s = socket;
        OutputStream o = out;
        AtomicBoolean late = new AtomicBoolean();
        ScheduledFuture<?> deadline = DEADLINES.schedule(() -> {
            late.set(true);
            closeQuietly(s);
        }, writeTimeout.toMillis(), TimeUnit.MILLISECONDS);
        sending = true;
        try {
            byte[] count = new byte[12];
            IOException[] failed = {null};
            Utf8Lines.forEach(messages, (start, end, next) -> {
                if (failed[0] == null) {
                    try {
                        o.write(count, 0, octetCount(count, end - start));     // RFC 6587: "<length> <message>"
                        o.write(messages, start, end - start);
                    } catch (IOException e) {
                        failed[0] = e;
                    }
                }
            });
            if (failed[0] != null) {
                throw failed[0];
            }
            o.flush();
            // a receiver that closed meanwhile shows up as EOF: then what we wrote may be gone
            if (peerClosed(s)) {
                throw new IOException("syslog receiver " + host + ":" + port() + " closed the connection");
            }
            unconfirmed.add(new Written(messages, System.nanoTime()));
            CONFIRMS.schedule(this::confirm, CONFIRM_AFTER.toMillis() + 50, TimeUnit.MILLISECONDS);
        } catch (IOException e) {
            connectionLost();
            if (late.get()) {
                throw new IOException("syslog receiver " + host + ":" + port() + " took no data for " + writeTimeout.toSeconds()
                        + " s (trace.readTimeout): connection closed, the batch is sent again", e);
            }
            throw e;
        } finally {
            sending = false;
            deadline.cancel(false);
        }
    }

    private void ensureOpenOrFail() throws IOException {
        try {
            ensureOpen();
        } catch (IOException e) {
            connectionLost();
            throw e;
        }
    }

    /**
     * Checks the connection of the unconfirmed batches: open, what was written {@link #CONFIRM_AFTER} ago or earlier is
     * delivered; closed, all of it goes back to the spool. Runs after each write's confirmation delay.
     */
    synchronized void confirm() {
        if (unconfirmed.isEmpty() || stopping) {
            return;                  // at shutdown, close() settles them
        }
        Socket s = socket;
        if (s == null || s.isClosed() || peerClosed(s)) {
            connectionLost();
        } else {
            confirmOlder(System.nanoTime());
        }
    }

    /**
     * At shutdown: waits until the newest unconfirmed batch is {@link #CONFIRM_AFTER} old (at most that long), then
     * checks the connection once: closed, they are queued again for the next start; open, they were delivered.
     */
    private synchronized void settle() {
        if (unconfirmed.isEmpty()) {
            return;
        }
        long left = CONFIRM_AFTER.toNanos() - (System.nanoTime() - unconfirmed.peekLast().atNanos());
        try {
            if (left > 0) {
                wait(left / 1_000_000 + 1);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Socket s = socket;
        if (s == null || s.isClosed() || peerClosed(s)) {
            connectionLost();
        } else {
            unconfirmed.clear();
        }
    }

    /** Messages a failed requeue left behind go to the spool before anything else is sent; until then sends fail. */
    private void requeueLeftOver() throws IOException {
        if (!leftOver.isEmpty()) {
            spool.requeue(leftOver);
            leftOver.clear();
        }
    }

    /** The connection is open now: batches written at least CONFIRM_AFTER ago were delivered. */
    private void confirmOlder(long now) {
        while (!unconfirmed.isEmpty() && now - unconfirmed.peekFirst().atNanos() >= CONFIRM_AFTER.toNanos()) {
            unconfirmed.removeFirst();
        }
    }

    /** The connection closed or failed: what it carried unconfirmed is queued again, then it is closed. */
    private void connectionLost() {
        try {
            if (!unconfirmed.isEmpty()) {
                List<String> again = new ArrayList<>();
                unconfirmed.forEach(w -> Utf8Lines.forEach(w.messages(), (start, end, next) ->
                        again.add(new String(w.messages(), start, end - start, StandardCharsets.UTF_8))));
                unconfirmed.clear();
                LOG.warn("syslog receiver {}:{} closed the connection within {} ms of {} messages: they are sent again",
                        host, port(), CONFIRM_AFTER.toMillis(), again.size());
                if (spool != null) {
                    try {
                        spool.requeue(again);
                    } catch (IOException e) {
                        leftOver.addAll(again);       // kept, and queued before the next send, which fails until then
                        LOG.error("syslog: cannot queue again {} messages the receiver may not have read ({}); "
                                + "the next batch is not sent until they are", again.size(), e.getMessage());
                    }
                }
            }
        } finally {
            disconnect();
        }
    }

    private void sendUdp(byte[] messages) throws IOException {
        if (udp == null) {
            udp = new DatagramSocket();
        }
        DatagramSocket socket = udp;
        InetSocketAddress target = new InetSocketAddress(host, port());
        IOException[] failed = {null};
        Utf8Lines.forEach(messages, (start, end, next) -> {
            if (failed[0] == null) {
                try {
                    socket.send(new DatagramPacket(messages, start, end - start, target));
                } catch (IOException e) {
                    failed[0] = e;
                }
            }
        });
        if (failed[0] != null) {
            throw failed[0];
        }
    }

    /** Writes {@code length} in decimal digits and a space into {@code out}; returns how many bytes that took. */
    static int octetCount(byte[] out, int length) {
        String digits = Integer.toString(length);
        for (int i = 0; i < digits.length(); i++) {
            out[i] = (byte) digits.charAt(i);
        }
        out[digits.length()] = ' ';
        return digits.length() + 1;
    }

    private void ensureOpen() throws IOException {
        if (socket != null && !socket.isClosed() && !peerClosed(socket)) {
            return;
        }
        connectionLost();
        Socket s = "tls".equals(protocol) ? tlsFactory().createSocket() : new Socket();
        s.connect(new InetSocketAddress(host, port()), (int) connectTimeout.toMillis());
        if (s instanceof javax.net.ssl.SSLSocket ssl) {
            // check that the certificate names trace.syslog.host, as HTTPS does
            javax.net.ssl.SSLParameters params = ssl.getSSLParameters();
            params.setEndpointIdentificationAlgorithm("HTTPS");
            ssl.setSSLParameters(params);
            ssl.setSoTimeout((int) connectTimeout.toMillis());
            ssl.startHandshake();
        }
        s.setSoTimeout(1);
        s.setTcpNoDelay(true);
        s.setKeepAlive(true);
        socket = s;
        out = new java.io.BufferedOutputStream(s.getOutputStream(), 64 * 1024);
    }

    /** The JVM's default trust, or the trust store of {@code trace.syslog.trustStore} (JKS or PKCS12). */
    private SSLSocketFactory tlsFactory() throws IOException {
        if (trustStore == null || trustStore.isBlank()) {
            return (SSLSocketFactory) SSLSocketFactory.getDefault();
        }
        try (InputStream in = java.nio.file.Files.newInputStream(java.nio.file.Path.of(trustStore))) {
            java.security.KeyStore ks = java.security.KeyStore.getInstance(java.security.KeyStore.getDefaultType());
            // as given (in a Camel context read here: bound, Camel would parse it for placeholders), or from its file
            String password = Secret.of("trace.syslog.trustStorePassword", camelContext == null ? trustStorePassword
                    : Secret.given(camelContext, "trace.syslog.trustStorePassword"), trustStorePasswordFile).value();
            ks.load(in, password == null || password.isEmpty() ? null : password.toCharArray());
            javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx.getSocketFactory();
        } catch (java.security.GeneralSecurityException e) {
            throw new IOException("cannot use trace.syslog.trustStore " + trustStore + ": " + e.getMessage(), e);
        }
    }

    /** True when the receiver has closed its side: a syslog receiver never sends, so a read returns EOF or times out. */
    private static boolean peerClosed(Socket socket) {
        try {
            InputStream in = socket.getInputStream();
            int b = in.read();
            return b < 0;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    /**
     * At shutdown (the bean's destroy method, once the delivery route has stopped): what was written in the last
     * {@link #CONFIRM_AFTER} is settled (see {@link #settle}), then the connection is closed.
     */
    @Override
    public void close() {
        stopping = true;
        if (sending) {
            disconnect();        // a write a stalled receiver blocks: ended first (its batch stays in the spool)
        }
        settle();
        disconnect();
    }

    /** Closes the connection; not synchronized, so that it also ends a write that is blocked (a stalled receiver). */
    private void disconnect() {
        Socket s = socket;
        socket = null;
        out = null;
        closeQuietly(s);
        DatagramSocket u = udp;
        udp = null;
        if (u != null) {
            u.close();
        }
    }

    private static void closeQuietly(Socket s) {
        if (s != null) {
            try {
                s.close();
            } catch (IOException ignored) {
                // already gone
            }
        }
    }

    public void setProtocol(String protocol) {
        String p = protocol == null ? "" : protocol.trim().toLowerCase(Locale.ROOT);
        if (!List.of("tcp", "udp", "tls").contains(p)) {
            throw new SettingException("trace.syslog.protocol", "tcp, udp or tls", protocol);
        }
        this.protocol = p;
    }

    public void setHost(String host) {
        this.host = host;
    }

    /** The configured port, or 514 (6514 for tls) when none is set. */
    int port() {
        return port != null ? port : "tls".equals(protocol) ? 6514 : 514;
    }

    public void setPort(String port) {
        String p = port == null ? "" : port.trim();
        if (p.isEmpty()) {
            this.port = null;
            return;
        }
        try {
            this.port = Integer.parseInt(p);
        } catch (NumberFormatException e) {
            throw new SettingException("trace.syslog.port", "a port number from 1 to 65535", port);
        }
        if (this.port < 1 || this.port > 65535) {
            throw new SettingException("trace.syslog.port", "a port number from 1 to 65535", port);
        }
    }

    /** The sink's spool, where messages written into a connection that then closed are queued again. */
    public void setSpool(Spool spool) {
        this.spool = spool;
    }

    public void setTrustStore(String trustStore) {
        this.trustStore = trustStore;
    }

    public void setTrustStorePassword(String trustStorePassword) {
        this.trustStorePassword = trustStorePassword;
    }

    public void setTrustStorePasswordFile(String trustStorePasswordFile) {
        this.trustStorePasswordFile = trustStorePasswordFile;
    }

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }

    public void setWriteTimeout(String writeTimeout) {
        this.writeTimeout = Durations.parse("trace.readTimeout", writeTimeout);
    }

    public void setConnectTimeout(String connectTimeout) {
        this.connectTimeout = Durations.parse("trace.connectTimeout", connectTimeout);
    }
}
