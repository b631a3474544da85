package org.m365trace.source;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.m365trace.SettingException;

/**
 * The certificate of {@code trace.clientCertificate} and its private key: a PEM file holding both (the key unencrypted
 * PKCS#8, {@code BEGIN PRIVATE KEY}), or a PKCS#12 file opened with {@code trace.clientCertificatePassword}. Every
 * error is one line naming the setting; none shows the password.
 */
public record ClientCertificate(Path file, X509Certificate certificate, List<X509Certificate> chain, PrivateKey key) {

    private static final Pattern PEM = Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \\1-----");
    static final String SETTING = "trace.clientCertificate";

    /** Reads the file ({@code password} for PKCS#12; may be empty). */
    public static ClientCertificate load(String file, String password) {
        Path path = Path.of(file.strip());
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(path);
        } catch (IOException | RuntimeException e) {
            throw new SettingException(SETTING + ": cannot read the file " + path + " (" + e.getClass().getSimpleName()
                    + "); expected a PEM file with the certificate and its private key, or a PKCS#12 file");
        }
        String text = new String(bytes, StandardCharsets.US_ASCII);
        return text.contains("-----BEGIN ") ? pem(path, text) : pkcs12(path, bytes, password);
    }

    private static ClientCertificate pem(Path path, String text) {
        List<X509Certificate> certs = new ArrayList<>();
        PrivateKey key = null;
        Matcher m = PEM.matcher(text);
        try {
            while (m.find()) {
                byte[] der = Base64.getMimeDecoder().decode(m.group(2).strip());
                switch (m.group(1)) {
                    case "CERTIFICATE" -> certs.add((X509Certificate) CertificateFactory.getInstance("X.509")
                            .generateCertificate(new ByteArrayInputStream(der)));
                    case "PRIVATE KEY" -> key = privateKey(der);
                    case "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY" -> throw new SettingException(SETTING
                            + ": the key in " + path + " is " + m.group(1) + "; expected an unencrypted PKCS#8 key (BEGIN PRIVATE"
                            + " KEY; openssl pkcs8 -topk8 -nocrypt converts it), or a PKCS#12 file");
                    default -> { }
                }
            }
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            if (e instanceof SettingException s) {
                throw s;
            }
            throw new SettingException(SETTING + ": " + path + " is not a readable PEM certificate and key ("
                    + e.getClass().getSimpleName() + ")");
        }
        if (certs.isEmpty() || key == null) {
            throw new SettingException(SETTING + ": " + path + " holds " + (certs.isEmpty() ? "no certificate" : "no private key")
                    + "; expected a PEM file with the certificate (BEGIN CERTIFICATE) and its private key (BEGIN PRIVATE KEY)");
        }
        return new ClientCertificate(path, certs.get(0), List.copyOf(certs), key);
    }

    private static PrivateKey privateKey(byte[] pkcs8) throws GeneralSecurityException {
        GeneralSecurityException last = null;
        for (String algorithm : List.of("RSA", "EC")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
            } catch (GeneralSecurityException e) {
                last = e;
            }
        }
        throw last;
    }

    private static ClientCertificate pkcs12(Path path, byte[] bytes, String password) {
        char[] pw = password == null ? new char[0] : password.toCharArray();
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(new ByteArrayInputStream(bytes), pw);
            for (String alias : Collections.list(store.aliases())) {
                if (store.isKeyEntry(alias)) {
                    PrivateKey key = (PrivateKey) store.getKey(alias, pw);
                    List<X509Certificate> chain = new ArrayList<>();
                    for (var c : store.getCertificateChain(alias)) {
                        chain.add((X509Certificate) c);
                    }
                    return new ClientCertificate(path, chain.get(0), List.copyOf(chain), key);
                }
            }
        } catch (IOException e) {
            throw new SettingException(SETTING + ": cannot open " + path + " as PKCS#12 with trace.clientCertificatePassword"
                    + " (a wrong password, or not a PKCS#12 file); expected a PEM file or a PKCS#12 file and its password");
        } catch (GeneralSecurityException | RuntimeException e) {
            throw new SettingException(SETTING + ": " + path + " is not a usable PKCS#12 file (" + e.getClass().getSimpleName() + ")");
        }
        throw new SettingException(SETTING + ": " + path + " holds no private key; expected a PKCS#12 file with the"
                + " certificate and its private key");
    }

    /** The certificate's SHA-1 thumbprint in hex, as the Entra admin center shows it. */
    public String thumbprint() {
        return thumbprint("SHA-1");
    }

    /** The thumbprint of {@code digest} in hex: SHA-256 is the one MSAL4J sends (x5t#S256) and Entra's errors name. */
    public String thumbprint(String digest) {
        try {
            return HexFormat.of().withUpperCase().formatHex(MessageDigest.getInstance(digest).digest(certificate.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Fails with one line naming the setting and the expiry date when the certificate is not valid at {@code now}. */
    public ClientCertificate validAt(Instant now) {
        if (now.isAfter(certificate.getNotAfter().toInstant())) {
            throw new SettingException(SETTING + ": the certificate in " + file + " (thumbprint " + thumbprint() + ") expired on "
                    + certificate.getNotAfter().toInstant() + "; upload a new one to the app registration and point " + SETTING
                    + " at it");
        }
        if (now.isBefore(certificate.getNotBefore().toInstant())) {
            throw new SettingException(SETTING + ": the certificate in " + file + " (thumbprint " + thumbprint()
                    + ") is valid only from " + certificate.getNotBefore().toInstant());
        }
        return this;
    }

    /** Names the file and its thumbprints (the portal shows SHA-1, Entra's errors name SHA-256), never the key. */
    @Override
    public String toString() {
        return file + " (thumbprint " + thumbprint() + ", SHA-256 " + thumbprint("SHA-256") + ")";
    }
}
