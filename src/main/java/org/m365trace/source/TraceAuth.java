package org.m365trace.source;

import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;

import org.m365trace.Durations;
import org.m365trace.Secret;
import org.m365trace.SettingException;
import org.m365trace.TraceErrors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.microsoft.aad.msal4j.ClientCredentialFactory;
import com.microsoft.aad.msal4j.ClientCredentialParameters;
import com.microsoft.aad.msal4j.ConfidentialClientApplication;
import com.microsoft.aad.msal4j.IAuthenticationResult;
import com.microsoft.aad.msal4j.MsalServiceException;

/**
 * The {@code Authorization} header of every API request: basic auth, or an OAuth2 token cached until a minute before it
 * expires (one token request per token lifetime). The token comes from {@code trace.tokenUrl} (else the sign-in host of
 * {@code trace.cloud}) with a client secret, or with a client assertion signed with {@code trace.clientCertificate}'s
 * key (by MSAL4J, Microsoft's library), or, with {@code trace.auth=managed-identity}, from a federated token file
 * ({@code AZURE_FEDERATED_TOKEN_FILE}, Kubernetes workload identity) or the Azure instance metadata endpoint. After a 401
 * ({@link #invalidate()}) the next request asks for a new token and secret files are read again. Secrets never leave
 * this class except inside that header and the token request.
 */
public class TraceAuth {

    public static final String MANAGED_IDENTITY = "managed-identity";
    /** The Azure instance metadata endpoint's token URL (a VM's identity, and an AKS node's). */
    public static final String IMDS = "http://169.254.169.254/metadata/identity/oauth2/token";
    private static final String JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    private static final String TOKEN_PATH = "oauth2/v2.0/token";
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Duration MARGIN = Duration.ofSeconds(60);

    private String auth = "oauth2";
    private String username;
    private String passwordValue;
    private String passwordFile;
    private Secret password;
    private String tokenUrl;
    private String tenantId;
    private String clientId;
    private String clientSecretValue;
    private String clientSecretFile;
    private Secret clientSecret;
    private String clientCertificate;
    private String certificatePasswordValue;
    private String certificatePasswordFile;
    private Secret certificatePassword;
    private String managedIdentityClientId;
    private String managedIdentityEndpoint;
    private TraceCloud cloud = TraceCloud.GLOBAL;
    private String scope;
    private String api = TraceRecords.GRAPH;
    private Duration connectTimeout = Duration.ofSeconds(10);
    private Duration readTimeout = Duration.ofSeconds(60);
    private Clock clock = Clock.systemUTC();
    private Function<String, String> environment = System::getenv;
    private HttpClient client;

    private String token;
    private Instant refreshAt = Instant.MIN;
    private int tokenRequests;

    /** The header value for the next API request. */
    public synchronized String header() throws IOException, InterruptedException {
        if ("basic".equals(auth)) {
            return "Basic " + Base64.getEncoder().encodeToString((username + ":" + password().value()).getBytes(StandardCharsets.UTF_8));
        }
        ready();
        return "Bearer " + token;
    }

    /**
     * Asks for a token now if the next {@link #header()} would have to (none yet, or about to expire). The source calls
     * it before it books a request in its budget: a token request can take a while (the first one of a process above
     * all, the JDK's HTTP client being set up), and the request booked before it would reach the API that much later
     * than booked, closer to the requests after it than the budget allows.
     */
    public synchronized void ready() throws IOException, InterruptedException {
        if (!"basic".equals(auth) && (token == null || !clock.instant().isBefore(refreshAt))) {
            fetchToken();
        }
    }

    /** Forgets the cached token (after a 401), so the next request asks for a new one; secret files are read again. */
    public synchronized void invalidate() {
        token = null;
        password().reread();
        clientSecret().reread();
        certificatePassword().reread();
    }

    public synchronized int getTokenRequests() {
        return tokenRequests;
    }

    private void fetchToken() throws IOException, InterruptedException {
        tokenRequests++;
        if (MANAGED_IDENTITY.equals(auth)) {
            String federated = environment.apply("AZURE_FEDERATED_TOKEN_FILE");
            if (federated != null && !federated.isBlank()) {
                federatedToken(federated.strip());
            } else {
                managedIdentityToken();
            }
        } else if (clientCertificate != null && !clientCertificate.isBlank()) {
            certificateToken();
        } else {
            tokenReply(tokenUrl(), post(tokenUrl(), "grant_type=client_credentials&client_id=" + enc(clientId) + "&client_secret="
                    + enc(clientSecret().value()) + "&scope=" + enc(scope())), clientSecret().setting());
        }
    }

    /** Client credentials with a client assertion that MSAL4J signs with the certificate's key (x5t#S256 header). */
    private void certificateToken() throws InterruptedException, TokenRequestFailed {
        ClientCertificate cert = ClientCertificate.load(clientCertificate, certificatePassword().value()).validAt(clock.instant());
        String url = tokenUrl();
        String authority = authority(url);
        try {
            ConfidentialClientApplication app = ConfidentialClientApplication
                    .builder(clientId.strip(), ClientCredentialFactory.createFromCertificateChain(cert.key(), cert.chain()))
                    .authority(authority)
                    .instanceDiscovery(false)
                    .validateAuthority(false)
                    .connectTimeoutForDefaultHttpClient((int) connectTimeout.toMillis())
                    .readTimeoutForDefaultHttpClient((int) readTimeout.toMillis())
                    .build();
            IAuthenticationResult result = app.acquireToken(ClientCredentialParameters.builder(Set.of(scope()))
                    .skipCache(true).build()).get();
            accept(result.accessToken(), Duration.between(clock.instant(), result.expiresOnDate().toInstant()).getSeconds());
        } catch (ExecutionException | MalformedURLException | RuntimeException e) {
            Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            String why = firstLine(cause.getMessage());
            if (why.contains("AADSTS700027") || why.contains("AADSTS700024")) {
                String check = why.contains("AADSTS700027") ? "is it uploaded to app registration " + clientId.strip()
                        + ", and is the key its own?" : "is this host's clock right?";
                throw new TokenRequestFailed(ClientCertificate.SETTING + ": Entra ID refused the client assertion signed with the"
                        + " certificate " + cert + " (" + check + "): " + why, null);
            }
            if (cause instanceof MsalServiceException) {
                throw new TokenRequestFailed("token request to " + url + " with the certificate " + cert + " failed: " + why, null);
            }
            throw new TokenRequestFailed("token request to " + url + " with the certificate " + cert + " failed: "
                    + cause.getClass().getSimpleName() + ": " + why, null);
        }
    }

    /** MSAL's authority of a token endpoint: the URL up to the tenant ({@code https://host/<tenant>/}). */
    private static String authority(String url) {
        if (!url.startsWith("https://") || !url.endsWith("/" + TOKEN_PATH)) {
            throw new SettingException("trace.tokenUrl", "an https:// URL ending in /<tenant>/" + TOKEN_PATH
                    + " (sign-in with trace.clientCertificate needs https)", url);
        }
        return url.substring(0, url.length() - TOKEN_PATH.length());
    }

    /** Workload identity federation: the Kubernetes service account token of the file is the client assertion. */
    private void federatedToken(String file) throws IOException, InterruptedException {
        String assertion;
        try {
            assertion = Files.readString(Path.of(file), StandardCharsets.UTF_8).strip();
        } catch (IOException | RuntimeException e) {
            throw new TokenRequestFailed("trace.auth=managed-identity: cannot read AZURE_FEDERATED_TOKEN_FILE " + file + " ("
                    + e.getClass().getSimpleName() + ")", null);
        }
        String client = firstSet(environment.apply("AZURE_CLIENT_ID"), managedIdentityClientId, clientId);
        String tenant = firstSet(environment.apply("AZURE_TENANT_ID"), tenantId, "");
        String authorityHost = environment.apply("AZURE_AUTHORITY_HOST");
        String url = tokenUrl != null && !tokenUrl.isBlank() ? tokenUrl.strip()
                : authorityHost != null && !authorityHost.isBlank()
                        ? authorityHost.strip().replaceAll("/+$", "") + "/" + tenant + "/" + TOKEN_PATH
                        : cloud.tokenUrl(tenant);
        tokenReply(url, post(url, "grant_type=client_credentials&client_id=" + enc(client) + "&client_assertion_type="
                + enc(JWT_BEARER) + "&client_assertion=" + enc(assertion) + "&scope=" + enc(scope())), "AZURE_FEDERATED_TOKEN_FILE");
    }

    /** The identity of this Azure host: the instance metadata endpoint, or App Service's (IDENTITY_ENDPOINT). */
    private void managedIdentityToken() throws IOException, InterruptedException {
        String appService = environment.apply("IDENTITY_ENDPOINT");
        boolean metadata = managedIdentityEndpoint != null && !managedIdentityEndpoint.isBlank() || appService == null || appService.isBlank();
        String endpoint = metadata ? managedIdentityEndpoint() : appService.strip();
        String url = endpoint + (endpoint.contains("?") ? "&" : "?") + "api-version=" + (metadata ? "2018-02-01" : "2019-08-01")
                + "&resource=" + enc(resource())
                + (managedIdentityClientId == null || managedIdentityClientId.isBlank() ? "" : "&client_id=" + enc(managedIdentityClientId.strip()));
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(readTimeout).GET();
        if (metadata) {
            request.header("Metadata", "true");
        } else {
            request.header("X-IDENTITY-HEADER", String.valueOf(environment.apply("IDENTITY_HEADER")));
        }
        HttpResponse<String> reply;
        try {
            reply = client().send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new TokenRequestFailed("trace.auth=managed-identity: no managed identity on this host: " + endpoint
                    + " cannot be reached (" + TraceErrors.describe(e) + "); it works on an Azure VM, App Service or AKS pod"
                    + " with an identity (trace.managedIdentityEndpoint names another endpoint)", e);
        }
        JsonNode body = json(reply.body());
        if (reply.statusCode() != 200 || !body.hasNonNull("access_token")) {
            String why = firstLine(body.path("error_description").asText(body.path("error").asText("no access_token in the reply")));
            String setting = managedIdentityClientId == null || managedIdentityClientId.isBlank() ? "trace.auth=managed-identity"
                    : "trace.managedIdentityClientId";
            throw new TokenRequestFailed(setting + ": no managed identity on this host for it: " + endpoint + " answered HTTP "
                    + reply.statusCode() + ": " + why, null);
        }
        accept(body.get("access_token").asText(), body.path("expires_in").asLong(3599));
    }

    private String managedIdentityEndpoint() {
        return managedIdentityEndpoint == null || managedIdentityEndpoint.isBlank() ? IMDS : managedIdentityEndpoint.strip();
    }

    private HttpResponse<String> post(String url, String form) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(url))
                .timeout(readTimeout)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form))
                .build();
        try {
            return client().send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            // the JDK client's exceptions name neither the endpoint nor, often, the cause: say both
            throw new TokenRequestFailed("token request to " + url + " failed: " + TraceErrors.describe(e), e);
        }
    }

    /** The token of a token endpoint's reply, or a failure naming the endpoint, Entra's reason and the credential's setting. */
    private void tokenReply(String url, HttpResponse<String> reply, String credential) throws TokenRequestFailed {
        JsonNode body = json(reply.body());
        if (reply.statusCode() != 200 || !body.hasNonNull("access_token")) {
            // AADSTS error texts name the fault (wrong secret, unknown tenant) and carry no secret
            String why = body.path("error_description").asText(body.path("error").asText("no access_token in the reply"));
            throw new TokenRequestFailed("token request to " + url + " failed with HTTP " + reply.statusCode() + ": "
                    + firstLine(why) + (reply.statusCode() == 401 ? " (" + credential + ")" : ""), null);
        }
        accept(body.get("access_token").asText(), body.path("expires_in").asLong(3599));
    }

    private void accept(String accessToken, long seconds) {
        token = accessToken;
        Instant now = clock.instant();
        refreshAt = now.plusSeconds(seconds).minus(MARGIN);
        if (refreshAt.isBefore(now)) {
            refreshAt = now.plusSeconds(seconds / 2);
        }
    }

    private HttpClient client() {
        if (client == null) {
            client = HttpClient.newBuilder().connectTimeout(connectTimeout).build();
        }
        return client;
    }

    private static JsonNode json(String text) {
        try {
            return MAPPER.readTree(text == null || text.isBlank() ? "{}" : text);
        } catch (IOException e) {
            return MAPPER.createObjectNode();
        }
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("");
    }

    private static String firstSet(String... values) {
        for (String v : values) {
            if (v != null && !v.isBlank()) {
                return v.strip();
            }
        }
        return "";
    }

    private synchronized Secret password() {
        if (password == null) {
            password = Secret.of("trace.password", passwordValue, passwordFile);
        }
        return password;
    }

    private synchronized Secret clientSecret() {
        if (clientSecret == null) {
            clientSecret = Secret.of("trace.clientSecret", clientSecretValue, clientSecretFile);
        }
        return clientSecret;
    }

    private synchronized Secret certificatePassword() {
        if (certificatePassword == null) {
            certificatePassword = Secret.of("trace.clientCertificatePassword", certificatePasswordValue, certificatePasswordFile);
        }
        return certificatePassword;
    }

    /** The configured token endpoint, or the one of the tenant on its cloud's sign-in host. */
    String tokenUrl() {
        return tokenUrl == null || tokenUrl.isBlank() ? cloud.tokenUrl(tenantId) : tokenUrl.trim();
    }

    /** Microsoft Entra ID's token endpoint of a tenant (its id or a verified domain) in the global cloud. */
    public static String defaultTokenUrl(String tenantId) {
        return TraceCloud.GLOBAL.tokenUrl(tenantId);
    }

    /** The configured scope, or the API's own: Graph, or Exchange Online for the Reporting Web Service. */
    String scope() {
        if (scope != null && !scope.isBlank()) {
            return scope.trim();
        }
        return cloud.scope(api);
    }

    /** The resource a managed identity asks a token for: the configured scope without /.default, or the API's own. */
    String resource() {
        return scope == null || scope.isBlank() ? cloud.resource(api) : scope.strip().replaceAll("/\\.default$", "");
    }

    public void setApi(String api) {
        this.api = api;
    }

    private static String enc(String s) {
        return URLEncoder.encode(s == null ? "" : s, StandardCharsets.UTF_8);
    }

    public void setAuth(String auth) {
        this.auth = auth;
    }

    public void setUsername(String username) {
        this.username = username;
    }

    public synchronized void setPassword(Object password) {
        this.passwordValue = Secret.text(password);
        this.password = null;
    }

    public synchronized void setPasswordFile(String passwordFile) {
        this.passwordFile = passwordFile;
        this.password = null;
    }

    public void setTokenUrl(String tokenUrl) {
        this.tokenUrl = tokenUrl;
    }

    public void setTenantId(String tenantId) {
        this.tenantId = tenantId;
    }

    public void setClientId(String clientId) {
        this.clientId = clientId;
    }

    public synchronized void setClientSecret(Object clientSecret) {
        this.clientSecretValue = Secret.text(clientSecret);
        this.clientSecret = null;
    }

    public synchronized void setClientSecretFile(String clientSecretFile) {
        this.clientSecretFile = clientSecretFile;
        this.clientSecret = null;
    }

    public void setClientCertificate(String clientCertificate) {
        this.clientCertificate = clientCertificate;
    }

    public synchronized void setClientCertificatePassword(Object clientCertificatePassword) {
        this.certificatePasswordValue = Secret.text(clientCertificatePassword);
        this.certificatePassword = null;
    }

    public synchronized void setClientCertificatePasswordFile(String clientCertificatePasswordFile) {
        this.certificatePasswordFile = clientCertificatePasswordFile;
        this.certificatePassword = null;
    }

    public void setCloud(String cloud) {
        this.cloud = TraceCloud.of(cloud);
    }

    public void setManagedIdentityClientId(String managedIdentityClientId) {
        this.managedIdentityClientId = managedIdentityClientId;
    }

    public void setManagedIdentityEndpoint(String managedIdentityEndpoint) {
        this.managedIdentityEndpoint = managedIdentityEndpoint;
    }

    /** Where {@code AZURE_FEDERATED_TOKEN_FILE} and the other variables of workload identity are read (tests). */
    void setEnvironment(Function<String, String> environment) {
        this.environment = environment;
    }

    public void setScope(String scope) {
        this.scope = scope;
    }

    public void setConnectTimeout(String connectTimeout) {
        this.connectTimeout = Durations.parse("trace.connectTimeout", connectTimeout);
    }

    public void setReadTimeout(String readTimeout) {
        this.readTimeout = Durations.parse("trace.readTimeout", readTimeout);
    }

    public void setClock(Clock clock) {
        this.clock = clock;
    }

    @Override
    public String toString() {
        return "TraceAuth[" + auth + "]";
    }

    /** A failed token request; its message names the token endpoint and the cause, never a secret. */
    public static final class TokenRequestFailed extends IOException {
        TokenRequestFailed(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
