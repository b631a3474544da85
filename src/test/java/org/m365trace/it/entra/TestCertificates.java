package org.m365trace.it.entra;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * Certificates made at test time with the JDK's keytool (nothing secret is committed): an app registration's
 * certificate as PKCS#12 or PEM, and a server certificate for 127.0.0.1 with a trust store holding it.
 */
public final class TestCertificates {

    /** A PKCS#12 file with an RSA key and its self-signed certificate, and what keytool made. */
    public record Pkcs12(Path file, String password, X509Certificate certificate, PrivateKey key) {

        /** The same certificate and key as one PEM file: the certificate, then the unencrypted PKCS#8 key. */
        public Path pem(Path file) throws IOException {
            String pem = block("CERTIFICATE", unchecked(certificate::getEncoded)) + block("PRIVATE KEY", key.getEncoded());
            Files.writeString(file, pem, StandardCharsets.US_ASCII);
            return file;
        }

        /** A trust store (PKCS#12, password "changeit") holding this certificate. */
        public Path trustStore(Path file) throws IOException, GeneralSecurityException {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setCertificateEntry("trusted", certificate);
            try (OutputStream out = Files.newOutputStream(file)) {
                store.store(out, "changeit".toCharArray());
            }
            return file;
        }

        /** A TLS server context presenting this certificate. */
        public SSLContext serverContext() throws IOException, GeneralSecurityException {
            KeyStore store = load(file, password);
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(store, password.toCharArray());
            SSLContext ssl = SSLContext.getInstance("TLS");
            ssl.init(kmf.getKeyManagers(), null, null);
            return ssl;
        }
    }

    private TestCertificates() {
    }

    /** A new key and certificate (CN={@code name}) valid for {@code days} days from now. */
    public static Pkcs12 create(Path dir, String name, String password) throws Exception {
        return create(dir, name, password, null, 30);
    }

    /**
     * A new key and certificate; {@code startDate} as keytool takes it ({@code -3d}: three days ago; null: now), valid for
     * {@code days} days from then; with a subject alternative name 127.0.0.1, so that it can serve TLS on loopback.
     */
    public static Pkcs12 create(Path dir, String name, String password, String startDate, int days) throws Exception {
        Path file = dir.resolve(name + ".p12");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", name, "-keyalg", "RSA", "-keysize", "2048", "-dname", "CN=" + name,
                "-ext", "san=ip:127.0.0.1", "-validity", String.valueOf(days), "-storetype", "PKCS12",
                "-keystore", file.toString(), "-storepass", password, "-keypass", password));
        if (startDate != null) {
            cmd.addAll(List.of("-startdate", startDate));
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("keytool failed: " + output);
        }
        KeyStore store = load(file, password);
        return new Pkcs12(file, password, (X509Certificate) store.getCertificate(name),
                (PrivateKey) store.getKey(name, password.toCharArray()));
    }

    private static KeyStore load(Path file, String password) throws IOException, GeneralSecurityException {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(file)) {
            store.load(in, password.toCharArray());
        }
        return store;
    }

    private static String block(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(der) + "\n-----END " + type + "-----\n";
    }

    private interface Bytes {
        byte[] get() throws GeneralSecurityException;
    }

    private static byte[] unchecked(Bytes b) {
        try {
            return b.get();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
