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

/**
 * Sends RFC 5424 messages over TCP with octet-counting framing (RFC 6587), over TLS (RFC 5425, same framing), or
 * one message a UDP datagram. Before each batch over TCP/TLS it checks that the receiver has not closed the
 * connection, because bytes written into a connection the peer already closed are silently lost; a closed or
 * failed connection is reopened and the batch fails, so it is sent again from the spool.
 */
public class SyslogSender implements AutoCloseable, CamelContextAware {

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

    private volatile Socket socket;
    private volatile OutputStream out;
    private volatile DatagramSocket udp;

    /** Sends every line of {@code messages} (one message a line, as the spool keeps them). */
    public synchronized void sendLines(String messages) throws IOException {
        send(messages.lines().filter(l -> !l.isEmpty()).toList());
    }

    public synchronized void send(List<String> messages) throws IOException {
        if ("udp".equals(protocol)) {
            sendUdp(messages);
            return;
        }
        ensureOpenOrFail();
        Socket s = socket;
        OutputStream o = out;
        AtomicBoolean late = new AtomicBoolean();
        ScheduledFuture<?> deadline = DEADLINES.schedule(() -> {
            late.set(true);
            closeQuietly(s);
        }, writeTimeout.toMillis(), TimeUnit.MILLISECONDS);
        try {
            for (String m : messages) {
                byte[] msg = m.getBytes(StandardCharsets.UTF_8);
                o.write((msg.length + " ").getBytes(StandardCharsets.US_ASCII));
                o.write(msg);
            }
            o.flush();
            // a receiver that closed meanwhile shows up as EOF: then what we wrote may be gone
            if (peerClosed(s)) {
                throw new IOException("syslog receiver " + host + ":" + port() + " closed the connection");
            }
        } catch (IOException e) {
            close();
            if (late.get()) {
                throw new IOException("syslog receiver " + host + ":" + port() + " took no data for " + writeTimeout.toSeconds()
                        + " s (trace.readTimeout): connection closed, the batch is sent again", e);
            }
            throw e;
        } finally {
            deadline.cancel(false);
        }
    }

    private void ensureOpenOrFail() throws IOException {
        try {
            ensureOpen();
        } catch (IOException e) {
            close();
            throw e;
        }
    }

    private void sendUdp(List<String> messages) throws IOException {
        if (udp == null) {
            udp = new DatagramSocket();
        }
        InetSocketAddress target = new InetSocketAddress(host, port());
        for (String m : messages) {
            byte[] msg = m.getBytes(StandardCharsets.UTF_8);
            udp.send(new DatagramPacket(msg, msg.length, target));
        }
    }

    private void ensureOpen() throws IOException {
        if (socket != null && !socket.isClosed() && !peerClosed(socket)) {
            return;
        }
        close();
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

    /** Closes the connection; not synchronized, so that it also ends a write that is blocked (a stalled receiver). */
    @Override
    public void close() {
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
