package org.m365trace.it.entra;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

import javax.net.ssl.SSLContext;

import org.m365trace.it.siem.Loopback;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

/**
 * A fake Microsoft Entra ID on loopback: the token endpoint of one tenant and app ({@code POST /<tenant>/oauth2/v2.0/token},
 * client credentials), and an Azure instance metadata endpoint ({@code GET /metadata/identity/oauth2/token}).
 * <p>
 * A client assertion is checked as Entra checks it: its header names a certificate uploaded to the app (x5t#S256 or x5t)
 * and its signature (RS256 or PS256) verifies with that certificate's key; {@code aud} is this token endpoint,
 * {@code iss} and {@code sub} the client id, {@code exp} not passed, {@code nbf} not ahead, and its {@code jti} never
 * seen before. A federated token (workload identity) is accepted when it is the one the cluster issued now. Each token
 * handed out comes from {@code issue} (the API simulator's, so that the API takes it). The error texts follow
 * Entra's (AADSTS codes) but are this fake's wording.
 */
public final class FakeEntra implements AutoCloseable {

    public static final String TENANT = "contoso.onmicrosoft.com";
    private static final String JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final long SKEW_SECONDS = 300;

    private final HttpServer server;
    private final String scheme;
    private final String clientId;
    private final Supplier<String> issue;
    private final Duration lifetime;
    private final List<X509Certificate> certificates = new CopyOnWriteArrayList<>();
    private final Set<String> jtis = ConcurrentHashMap.newKeySet();
    private final List<String> refusals = new CopyOnWriteArrayList<>();
    private final List<String> requests = new CopyOnWriteArrayList<>();
    private volatile String secret;
    private volatile String federatedToken;
    private volatile String managedIdentity;
    private Clock clock = Clock.systemUTC();

    private FakeEntra(SSLContext ssl, String clientId, Supplier<String> issue, Duration lifetime) throws IOException {
        InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        if (ssl == null) {
            server = HttpServer.create(loopback, 0);
            scheme = "http";
        } else {
            HttpsServer https = HttpsServer.create(loopback, 0);
            https.setHttpsConfigurator(new HttpsConfigurator(ssl));
            server = https;
            scheme = "https";
        }
        this.clientId = clientId;
        this.issue = issue;
        this.lifetime = lifetime;
        server.createContext("/" + TENANT + "/oauth2/v2.0/token", this::token);
        server.createContext("/metadata/identity/oauth2/token", this::metadata);
        server.start();
    }

    /** Over https with {@code ssl}'s certificate (MSAL4J speaks only https), or over plain http when it is null. */
    public static FakeEntra start(SSLContext ssl, String clientId, Supplier<String> issue, Duration lifetime) throws IOException {
        return new FakeEntra(ssl, clientId, issue, lifetime);
    }

    /** Uploads a certificate to the app registration: assertions signed with its key are accepted. */
    public void upload(X509Certificate certificate) {
        certificates.add(certificate);
    }

    /** The app's client secret (null: none). */
    public void secret(String secret) {
        this.secret = secret;
    }

    /** The service account token the cluster issued now (workload identity); any other is refused. */
    public void federatedToken(String token) {
        this.federatedToken = token;
    }

    /** The host's managed identity: its client id ("" for a system-assigned one only; null: no identity at all). */
    public void managedIdentity(String clientId) {
        this.managedIdentity = clientId;
    }

    public void setClock(Clock clock) {
        this.clock = clock;
    }

    public String tokenUrl() {
        return scheme + "://127.0.0.1:" + server.getAddress().getPort() + "/" + TENANT + "/oauth2/v2.0/token";
    }

    /** The root of the sign-in host, as AZURE_AUTHORITY_HOST names it. */
    public String authorityHost() {
        return scheme + "://127.0.0.1:" + server.getAddress().getPort();
    }

    public String metadataUrl() {
        return scheme + "://127.0.0.1:" + server.getAddress().getPort() + "/metadata/identity/oauth2/token";
    }

    /** The reasons of every refusal so far. */
    public List<String> refusals() {
        return List.copyOf(refusals);
    }

    /** Every request so far, as method and path. */
    public List<String> requests() {
        return List.copyOf(requests);
    }

    /** Tokens handed out so far. */
    public int issued() {
        return (int) requests.stream().filter(r -> r.startsWith("issued")).count();
    }

    private void token(HttpExchange ex) throws IOException {
        try (ex) {
            requests.add(ex.getRequestMethod() + " " + ex.getRequestURI().getPath());
            Map<String, String> form = Loopback.form(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            String refused;
            if (!"POST".equals(ex.getRequestMethod()) || !"client_credentials".equals(form.get("grant_type"))) {
                refused = "AADSTS70003: unsupported grant type " + form.get("grant_type");
            } else if (!clientId.equals(form.get("client_id"))) {
                refused = "AADSTS700016: Application with identifier '" + form.get("client_id") + "' was not found in the directory";
            } else if (form.getOrDefault("scope", "").isBlank()) {
                refused = "AADSTS90014: The required field 'scope' is missing";
            } else if (form.containsKey("client_assertion")) {
                refused = JWT_BEARER.equals(form.get("client_assertion_type")) ? assertion(form.get("client_assertion"))
                        : "AADSTS700025: client_assertion_type must be " + JWT_BEARER;
            } else if (form.containsKey("client_secret")) {
                refused = secret != null && secret.equals(form.get("client_secret")) ? null
                        : "AADSTS7000215: Invalid client secret provided.";
            } else {
                refused = "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is required";
            }
            answer(ex, refused, 401, "invalid_client");
        }
    }

    private void metadata(HttpExchange ex) throws IOException {
        try (ex) {
            requests.add(ex.getRequestMethod() + " " + ex.getRequestURI().getPath());
            Map<String, String> query = Loopback.form(ex.getRequestURI().getRawQuery());
            String asked = query.getOrDefault("client_id", "");
            String identity = managedIdentity;
            String refused;
            if (!"true".equals(ex.getRequestHeaders().getFirst("Metadata"))) {
                refused = "Required metadata header not specified";
            } else if (query.getOrDefault("resource", "").isBlank() || !query.containsKey("api-version")) {
                refused = "Required query variable 'resource' or 'api-version' is missing";
            } else if (identity == null || !asked.equals(identity)) {
                refused = "Identity not found";
            } else {
                refused = null;
            }
            answer(ex, refused, 400, "invalid_request");
        }
    }

    /** A token, or, when {@code refused} says why not, the error reply (Entra's: 401 for a client, IMDS's: 400). */
    private void answer(HttpExchange ex, String refused, int status, String error) throws IOException {
        if (refused != null) {
            refusals.add(refused);
            Loopback.reply(ex, status, MAPPER.createObjectNode().put("error", error).put("error_description", refused));
            return;
        }
        requests.add("issued");
        Loopback.reply(ex, 200, MAPPER.createObjectNode().put("token_type", "Bearer").put("expires_in", lifetime.toSeconds())
                .put("access_token", issue.get()));
    }

    /** Why a client assertion is refused, or null when it is good. */
    String assertion(String jwt) {
        if (federatedToken != null && federatedToken.equals(jwt)) {
            return null;
        }
        String[] parts = jwt.split("\\.");
        if (parts.length != 3) {
            return "AADSTS50027: Invalid JWT token. Token format not valid.";
        }
        JsonNode header;
        JsonNode claims;
        try {
            header = MAPPER.readTree(Base64.getUrlDecoder().decode(parts[0]));
            claims = MAPPER.readTree(Base64.getUrlDecoder().decode(parts[1]));
        } catch (IOException | IllegalArgumentException e) {
            return "AADSTS50027: Invalid JWT token. " + e.getMessage();
        }
        // base64url as RFC 7515 says; MSAL4J pads it, which Entra accepts too
        String presented = thumbprint(header.hasNonNull("x5t#S256") ? header.get("x5t#S256").asText() : header.path("x5t").asText(""));
        X509Certificate cert = certificates.stream()
                .filter(c -> presented.equals(thumbprint(c, "SHA-256")) || presented.equals(thumbprint(c, "SHA-1")))
                .findFirst().orElse(null);
        if (cert == null) {
            return "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on"
                    + " application. [Reason - The key was not found., Thumbprint of key used by client: '" + hex(presented) + "']";
        }
        if (!verifies(header.path("alg").asText(), cert, (parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII),
                Base64.getUrlDecoder().decode(parts[2]))) {
            return "AADSTS700027: Client assertion failed signature validation.";
        }
        long now = clock.instant().getEpochSecond();
        if (!tokenUrl().equals(claims.path("aud").asText())) {
            return "AADSTS700212: The audience claim of the client assertion is not the token endpoint: " + claims.path("aud").asText();
        }
        if (!clientId.equals(claims.path("iss").asText()) || !clientId.equals(claims.path("sub").asText())) {
            return "AADSTS700211: The iss and sub claims of the client assertion must be the client id";
        }
        if (!claims.has("exp") || claims.get("exp").asLong() < now - SKEW_SECONDS
                || claims.path("nbf").asLong(0) > now + SKEW_SECONDS) {
            return "AADSTS700024: Client assertion is not within its valid time range.";
        }
        String jti = claims.path("jti").asText("");
        if (jti.isEmpty() || !jtis.add(jti)) {
            return "AADSTS700231: The client assertion's jti was used before (a replayed assertion).";
        }
        return null;
    }

    private static boolean verifies(String alg, X509Certificate cert, byte[] signed, byte[] signature) {
        try {
            Signature s;
            if ("RS256".equals(alg)) {
                s = Signature.getInstance("SHA256withRSA");
            } else if ("PS256".equals(alg)) {
                s = Signature.getInstance("RSASSA-PSS");
                s.setParameter(new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, 32, 1));
            } else {
                return false;
            }
            s.initVerify(cert.getPublicKey());
            s.update(signed);
            return s.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    /** A certificate's thumbprint as a JWT header carries it: base64url of the digest of its DER encoding. */
    public static String thumbprint(X509Certificate cert, String digest) {
        try {
            return Base64.getUrlEncoder().withoutPadding().encodeToString(MessageDigest.getInstance(digest).digest(cert.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A thumbprint as presented, in unpadded base64url. */
    private static String thumbprint(String presented) {
        return presented.replace('+', '-').replace('/', '_').replaceAll("=+$", "");
    }

    private static String hex(String base64url) {
        try {
            return HexFormat.of().withUpperCase().formatHex(Base64.getUrlDecoder().decode(base64url));
        } catch (IllegalArgumentException e) {
            return base64url;
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
