package org.m365trace.it.entra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.UUID;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.ObjectMapper;

/** The fake token endpoint refuses what Entra ID refuses: a wrong key, an expired assertion, a jti used twice. */
class FakeEntraTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String APP = "11111111-2222-3333-4444-555555555555";

    @TempDir
    static Path dir;
    static TestCertificates.Pkcs12 uploaded;
    static TestCertificates.Pkcs12 other;
    FakeEntra entra;

    @BeforeAll
    static void certificates() throws Exception {
        uploaded = TestCertificates.create(dir, "uploaded", "changeit");
        other = TestCertificates.create(dir, "other", "changeit");
    }

    private FakeEntra entra() throws Exception {
        entra = FakeEntra.start(null, APP, () -> "tok", Duration.ofHours(1));
        entra.upload(uploaded.certificate());
        return entra;
    }

    @AfterEach
    void stop() {
        if (entra != null) {
            entra.close();
        }
    }

    /** An assertion as Microsoft's identity platform specifies it, signed RS256 with {@code key}. */
    private String assertion(X509Certificate headerCert, PrivateKey key, String aud, Instant exp, String jti) throws Exception {
        String header = MAPPER.createObjectNode().put("alg", "RS256").put("typ", "JWT")
                .put("x5t#S256", FakeEntra.thumbprint(headerCert, "SHA-256")).toString();
        String claims = MAPPER.createObjectNode().put("aud", aud).put("iss", APP).put("sub", APP).put("jti", jti)
                .put("nbf", Instant.now().getEpochSecond()).put("exp", exp.getEpochSecond()).toString();
        String signed = b64(header.getBytes(StandardCharsets.UTF_8)) + "." + b64(claims.getBytes(StandardCharsets.UTF_8));
        Signature s = Signature.getInstance("SHA256withRSA");
        s.initSign(key);
        s.update(signed.getBytes(StandardCharsets.US_ASCII));
        return signed + "." + b64(s.sign());
    }

    private static String b64(byte[] b) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    @Test
    void a_correctly_signed_assertion_is_accepted_once() throws Exception {
        FakeEntra e = entra();
        String jwt = assertion(uploaded.certificate(), uploaded.key(), e.tokenUrl(), Instant.now().plusSeconds(600), UUID.randomUUID().toString());
        assertNull(e.assertion(jwt));
        assertTrue(e.assertion(jwt).startsWith("AADSTS700231"), "the same jti again is a replay");
        assertNull(e.assertion(assertion(uploaded.certificate(), uploaded.key(), e.tokenUrl(), Instant.now().plusSeconds(600),
                UUID.randomUUID().toString())), "a new jti is fine");
    }

    @Test
    void a_wrong_key_is_refused() throws Exception {
        FakeEntra e = entra();
        // the uploaded certificate's thumbprint, signed with another key
        assertEquals("AADSTS700027: Client assertion failed signature validation.", e.assertion(assertion(uploaded.certificate(),
                other.key(), e.tokenUrl(), Instant.now().plusSeconds(600), UUID.randomUUID().toString())));
        // a certificate that was never uploaded: Entra names its thumbprint
        String refused = e.assertion(assertion(other.certificate(), other.key(), e.tokenUrl(), Instant.now().plusSeconds(600),
                UUID.randomUUID().toString()));
        assertTrue(refused.startsWith("AADSTS700027: The certificate with identifier used to sign the client assertion is not"
                + " registered"), refused);
    }

    @Test
    void an_expired_assertion_or_another_audience_is_refused() throws Exception {
        FakeEntra e = entra();
        assertTrue(e.assertion(assertion(uploaded.certificate(), uploaded.key(), e.tokenUrl(), Instant.now().minusSeconds(3600),
                UUID.randomUUID().toString())).startsWith("AADSTS700024"));
        assertTrue(e.assertion(assertion(uploaded.certificate(), uploaded.key(), "https://elsewhere/token",
                Instant.now().plusSeconds(600), UUID.randomUUID().toString())).startsWith("AADSTS700212"));
    }
}
