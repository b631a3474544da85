package org.m365trace.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.m365trace.SettingException;
import org.m365trace.it.entra.FakeEntra;
import org.m365trace.it.entra.TestCertificates;

/**
 * Sign-in with a certificate (MSAL4J) against a fake Entra ID over https that verifies each client assertion: PEM and
 * PKCS#12, one token per lifetime, a new assertion (new jti) after a 401, and one line naming the setting when the
 * certificate is wrong or expired.
 */
class TraceAuthCertificateTest {

    private static final String APP = "11111111-2222-3333-4444-555555555555";

    @TempDir
    static Path dir;
    static TestCertificates.Pkcs12 server;
    static TestCertificates.Pkcs12 app;
    static SSLSocketFactory previous;
    private final AtomicInteger tokens = new AtomicInteger();
    FakeEntra entra;

    @BeforeAll
    static void certificates() throws Exception {
        server = TestCertificates.create(dir, "server", "changeit");
        app = TestCertificates.create(dir, "app", "p{{x}}w${y}d");
        // MSAL4J connects with HttpsURLConnection: trust the fake's certificate as -Djavax.net.ssl.trustStore would
        KeyStore trust = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(server.trustStore(dir.resolve("trust.p12")))) {
            trust.load(in, "changeit".toCharArray());
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(null, tmf.getTrustManagers(), null);
        previous = HttpsURLConnection.getDefaultSSLSocketFactory();
        HttpsURLConnection.setDefaultSSLSocketFactory(ssl.getSocketFactory());
    }

    @AfterAll
    static void restore() {
        HttpsURLConnection.setDefaultSSLSocketFactory(previous);
    }

    @AfterEach
    void stop() {
        if (entra != null) {
            entra.close();
        }
    }

    private TraceAuth auth(String certificate, String password) throws Exception {
        entra = FakeEntra.start(server.serverContext(), APP, () -> "tok-" + tokens.incrementAndGet(), Duration.ofHours(1));
        entra.upload(app.certificate());
        TraceAuth auth = new TraceAuth();
        auth.setApi("graph");
        auth.setClientId(APP);
        auth.setClientCertificate(certificate);
        auth.setClientCertificatePassword(password);
        auth.setTokenUrl(entra.tokenUrl());
        return auth;
    }

    @Test
    void a_pem_file_signs_in_once_per_token_lifetime_and_again_after_a_401() throws Exception {
        TraceAuth auth = auth(app.pem(dir.resolve("app.pem")).toString(), "");
        assertEquals("Bearer tok-1", auth.header());
        assertEquals("Bearer tok-1", auth.header(), "the token is cached for its lifetime");
        auth.invalidate();
        assertEquals("Bearer tok-2", auth.header(), "a new assertion after a 401 (a jti used once)");
        assertEquals(List.of(), entra.refusals());
        assertEquals(2, auth.getTokenRequests());
    }

    @Test
    void a_pkcs12_file_opens_with_a_password_that_looks_like_placeholders() throws Exception {
        TraceAuth auth = auth(app.file().toString(), "p{{x}}w${y}d");
        assertEquals("Bearer tok-1", auth.header());
        assertEquals(List.of(), entra.refusals());
    }

    @Test
    void a_certificate_not_uploaded_is_named_with_the_thumbprint_entra_reports() throws Exception {
        TestCertificates.Pkcs12 other = TestCertificates.create(dir, "other", "changeit");
        TraceAuth auth = auth(other.pem(dir.resolve("other.pem")).toString(), "");
        TraceAuth.TokenRequestFailed e = assertThrows(TraceAuth.TokenRequestFailed.class, auth::header);
        ClientCertificate cert = new ClientCertificate(null, other.certificate(), List.of(), null);
        assertTrue(e.getMessage().startsWith("trace.clientCertificate: Entra ID refused the client assertion signed with the"
                + " certificate " + dir.resolve("other.pem") + " (thumbprint " + cert.thumbprint() + ", SHA-256 "
                + cert.thumbprint("SHA-256") + ")"), e.getMessage());
        // the thumbprint Entra reports is the one the product names
        assertTrue(e.getMessage().contains("AADSTS700027") && e.getMessage().contains("used by client: '" + cert.thumbprint("SHA-256")),
                e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
    }

    @Test
    void an_expired_certificate_is_refused_before_any_request() throws Exception {
        TestCertificates.Pkcs12 expired = TestCertificates.create(dir, "expired", "changeit", "-3d", 1);
        TraceAuth auth = auth(expired.pem(dir.resolve("expired.pem")).toString(), "");
        SettingException e = assertThrows(SettingException.class, auth::header);
        assertTrue(e.getMessage().startsWith("trace.clientCertificate: the certificate in " + dir.resolve("expired.pem")),
                e.getMessage());
        assertTrue(e.getMessage().contains("expired on " + expired.certificate().getNotAfter().toInstant()), e.getMessage());
        assertEquals(List.of(), entra.requests(), "no request was made");
    }

    @Test
    void a_wrong_pkcs12_password_names_the_setting_not_the_password() throws Exception {
        TraceAuth auth = auth(app.file().toString(), "not-it{{");
        SettingException e = assertThrows(SettingException.class, auth::header);
        assertTrue(e.getMessage().startsWith("trace.clientCertificate: cannot open"), e.getMessage());
        assertFalse(e.getMessage().contains("not-it"), e.getMessage());
    }
}
