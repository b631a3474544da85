package org.m365trace.sinks;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The syslog sender against real loopback receivers: octet-counting frames, a receiver that goes away, TLS. */
class SyslogSenderTest {

    @TempDir
    Path tmp;

    /** Accepts connections; reads frames; after {@code closeAfter} frames on a connection, closes it. */
    static final class Receiver implements AutoCloseable {
        final ServerSocket server;
        final List<String> frames = Collections.synchronizedList(new ArrayList<>());
        final int closeAfter;

        Receiver(ServerSocket server, int closeAfter) {
            this.server = server;
            this.closeAfter = closeAfter;
            Thread t = new Thread(this::run);
            t.setDaemon(true);
            t.start();
        }

        private void run() {
            while (!server.isClosed()) {
                try (Socket s = server.accept(); InputStream in = s.getInputStream()) {
                    for (int n = 0; n < closeAfter; n++) {
                        StringBuilder len = new StringBuilder();
                        int c;
                        while ((c = in.read()) != ' ') {
                            if (c < 0) {
                                throw new IOException("closed");
                            }
                            len.append((char) c);
                        }
                        frames.add(new String(in.readNBytes(Integer.parseInt(len.toString())), StandardCharsets.UTF_8));
                    }
                } catch (IOException e) {
                    // next connection
                }
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    private SyslogSender sender(String protocol, int port) {
        SyslogSender s = new SyslogSender();
        s.setProtocol(protocol);
        s.setHost("127.0.0.1");
        s.setPort(String.valueOf(port));
        s.setConnectTimeout("2s");
        return s;
    }

    @Test
    void octet_counted_frames_keep_unicode_and_length_in_bytes() throws Exception {
        try (Receiver r = new Receiver(new ServerSocket(0, 5, InetAddress.getLoopbackAddress()), 100);
             SyslogSender s = sender("tcp", r.server.getLocalPort())) {
            s.sendLines(utf8("<134>1 - h app - - - {\"subject\":\"日本語 ✓\"}\n<132>1 - h app - - - {\"b\":2}\n"));
            await().atMost(Duration.ofSeconds(5)).until(() -> r.frames.size() == 2);
            assertEquals("<134>1 - h app - - - {\"subject\":\"日本語 ✓\"}", r.frames.get(0));
        }
    }

    @Test
    void a_receiver_that_closed_the_connection_fails_the_batch_so_it_is_sent_again() throws Exception {
        try (Receiver r = new Receiver(new ServerSocket(0, 5, InetAddress.getLoopbackAddress()), 1);
             SyslogSender s = sender("tcp", r.server.getLocalPort())) {
            try {
                s.sendLines(utf8("first\n"));
            } catch (IOException closedRightAfter) {
                // the receiver may close before the check that follows the write: at least once, then
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> r.frames.size() == 1);
            // the receiver has closed that connection: writing into it would be lost, so the send must fail...
            // (this receiver closes after every frame, so a send may also fail after its frame arrived: at least once)
            await().atMost(Duration.ofSeconds(5)).until(() -> {
                try {
                    s.sendLines(utf8("second\n"));
                } catch (IOException closed) {
                    // sent again on the next attempt, over a new connection
                }
                return r.frames.contains("second");
            });
            // ...and a retry goes over a new connection and arrives
            assertTrue(r.frames.contains("second"));
        }
    }

    @Test
    void what_a_receiver_closed_on_unread_is_queued_again_in_the_spool() throws Exception {
        Spool spool = spool("unread");
        try (ServerSocket server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
             SyslogSender s = sender("tcp", server.getLocalPort())) {
            s.setSpool(spool);
            // the connection waits in the backlog: the write lands in the receiver's buffer and "succeeds"
            s.sendLines(utf8("<134>1 - h app - - - {\"unread\":1}\n<134>1 - h app - - - {\"unread\":2}\n"));
            try (Socket c = server.accept()) {
                assertTrue(c.isConnected());          // the receiver goes away without reading
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> spool.pendingRecords() == 2);
            assertEquals("<134>1 - h app - - - {\"unread\":1}\n<134>1 - h app - - - {\"unread\":2}\n", sealedBatches("unread"));
        }
    }

    @Test
    void at_shutdown_what_a_receiver_closed_on_unread_is_queued_for_the_next_start() throws Exception {
        Spool spool = spool("shutdown");
        try (ServerSocket server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            SyslogSender s = sender("tcp", server.getLocalPort());
            s.setSpool(spool);
            s.sendLines(utf8("<134>1 - h app - - - {\"unread\":3}\n"));
            try (Socket c = server.accept()) {
                assertTrue(c.isConnected());          // the receiver goes away without reading...
            }
            s.close();                                // ...and the forwarder stops, within the confirmation time
            assertEquals(1, spool.pendingRecords());
            assertEquals("<134>1 - h app - - - {\"unread\":3}\n", sealedBatches("shutdown"));
        }
    }

    @Test
    void what_a_receiver_read_while_the_connection_stayed_open_is_not_sent_again() throws Exception {
        Spool spool = spool("read");
        try (Receiver r = new Receiver(new ServerSocket(0, 5, InetAddress.getLoopbackAddress()), 2);
             SyslogSender s = sender("tcp", r.server.getLocalPort())) {
            s.setSpool(spool);
            s.sendLines(utf8("one\n"));
            await().atMost(Duration.ofSeconds(5)).until(() -> r.frames.size() == 1);
            // open for longer than the confirmation time: delivered
            await().during(SyslogSender.CONFIRM_AFTER.multipliedBy(2)).atMost(Duration.ofSeconds(5)).until(() -> spool.pendingRecords() == 0);
            try {
                s.sendLines(utf8("two\n"));               // the receiver closes after this second frame...
            } catch (IOException closedRightAfter) {
                // ...maybe before the check that follows the write
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> r.frames.size() == 2);
            s.confirm();
            // "two" went into a connection that closed at once: it may be sent again, "one" never
            assertTrue(sealedBatches("read").isEmpty() || sealedBatches("read").equals("two\n"), sealedBatches("read"));
        }
    }

    private Spool spool(String name) {
        Spool spool = new Spool();
        spool.setSink("syslog");
        spool.setDir(tmp.resolve(name).toString());
        spool.setMaxSize("10");
        return spool;
    }

    private String sealedBatches(String name) throws IOException {
        Path dir = tmp.resolve(name);
        if (!Files.isDirectory(dir)) {
            return "";
        }
        StringBuilder all = new StringBuilder();
        try (var files = Files.list(dir)) {
            for (Path f : files.filter(f -> f.getFileName().toString().matches("\\d.*\\.ndjson")).sorted().toList()) {
                all.append(Files.readString(f));
            }
        }
        return all.toString();
    }

    @Test
    void a_receiver_that_is_down_is_an_error_not_a_silent_loss() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        try (SyslogSender s = sender("tcp", port)) {
            assertThrows(IOException.class, () -> s.sendLines(utf8("lost?\n")));
        }
    }

    @Test
    void tls_with_the_configured_trust_store_and_its_password_file() throws Exception {
        Path keys = tmp.resolve("receiver.p12");
        Path trust = tmp.resolve("trust.p12");
        keytool("-genkeypair", "-alias", "syslog", "-keyalg", "EC", "-dname", "CN=127.0.0.1", "-ext", "SAN=ip:127.0.0.1",
                "-validity", "2", "-storetype", "PKCS12", "-keystore", keys.toString(), "-storepass", "changeit");
        keytool("-exportcert", "-alias", "syslog", "-keystore", keys.toString(), "-storepass", "changeit", "-rfc",
                "-file", tmp.resolve("receiver.pem").toString());
        // its password from a file (trace.syslog.trustStorePasswordFile), as given: "{{" and "${" are no placeholders
        String password = "t{{x}}s${y}p";
        Path passwordFile = Files.writeString(tmp.resolve("trust-password"), password + "\n");
        keytool("-importcert", "-noprompt", "-alias", "syslog", "-file", tmp.resolve("receiver.pem").toString(),
                "-storetype", "PKCS12", "-keystore", trust.toString(), "-storepass", password);
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keys)) {
            ks.load(in, "changeit".toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "changeit".toCharArray());
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        SSLServerSocket server = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket(0, 5, InetAddress.getLoopbackAddress());
        try (Receiver r = new Receiver(server, 100); SyslogSender s = sender("tls", server.getLocalPort())) {
            s.setTrustStore(trust.toString());
            s.setTrustStorePasswordFile(passwordFile.toString());
            s.sendLines(utf8("<134>1 - h app - - - {\"tls\":true}\n"));
            await().atMost(Duration.ofSeconds(10)).until(() -> r.frames.size() == 1);
            assertEquals("<134>1 - h app - - - {\"tls\":true}", r.frames.get(0));
        }
    }

    private static void keytool(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, out);
    }

    private static byte[] utf8(String text) {
        return text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
}
