package org.m365trace.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.IntSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.m365trace.demo.SimulatedReportingService;
import org.m365trace.it.entra.FakeEntra;
import org.m365trace.it.entra.TestCertificates;

/**
 * Enterprise sign-in, the packaged jar against a fake Entra ID and the API simulator: a certificate (PEM, PKCS#12) for
 * Graph and Reporting, a wrong and an expired certificate, a client secret file rotated while running, a password
 * that looks like placeholders, a managed identity (instance metadata endpoint) and workload identity federation.
 */
class SignInIT {

    static final String APP = "11111111-2222-3333-4444-555555555555";
    static final String PASSWORD = "p{{x}}w${y}d";
    static final int MESSAGES = 30;

    @TempDir
    static Path certs;
    static TestCertificates.Pkcs12 server;
    static TestCertificates.Pkcs12 app;
    static Map<String, String> trust;

    @TempDir
    Path tmp;
    SimulatedReportingService api;
    FakeEntra entra;

    @BeforeAll
    static void certificates() throws Exception {
        server = TestCertificates.create(certs, "entra", "changeit");
        app = TestCertificates.create(certs, "app", PASSWORD);
        // the fake signs in over https (MSAL4J speaks nothing else): the jar trusts its certificate, as a user's would
        trust = Map.of("javax.net.ssl.trustStore", server.trustStore(certs.resolve("trust.p12")).toString(),
                "javax.net.ssl.trustStorePassword", "changeit");
    }

    @AfterEach
    void stop() {
        if (entra != null) {
            entra.close();
        }
        if (api != null) {
            api.stop();
        }
    }

    /** The API simulator with seeded rows, the fake Entra ID (the app's certificate uploaded), and settings without any secret. */
    private Properties oauth2(String apiName) throws Exception {
        api = Fixtures.seededSimulator(MESSAGES);
        entra = FakeEntra.start(server.serverContext(), APP, api::issueToken, api.tokenLifetime());
        entra.upload(app.certificate());
        Properties p = Fixtures.oneWindow(Fixtures.pipelineProperties(api, tmp), api, 3);
        p.remove("trace.username");
        p.remove("trace.password");
        p.put("trace.api", apiName);
        p.put("trace.auth", "oauth2");
        p.put("trace.graph.baseUrl", api.graphBaseUrl());
        p.put("trace.clientId", APP);
        p.put("trace.tokenUrl", entra.tokenUrl());
        return p;
    }

    /** Every row of the simulator reaches the file sink once and the checkpoint moves. */
    private void forwardsEveryRow(ForwarderJar jar) {
        List<String> expected = api.currentKeys().stream().sorted().toList();
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            assertEquals(expected, Sinks.keys(Sinks.files(tmp.resolve("out"))).stream().sorted().toList(), jar.output());
            assertTrue(Files.exists(tmp.resolve("state/checkpoint")), "the checkpoint moved");
        });
    }

    interface Rotation {
        void run() throws Exception;
    }

    /**
     * Rotates a credential while records flow, and revokes the API's tokens: the forwarder must sign in again with the
     * new credential (one more token) and records keep arriving.
     */
    private void keepsFlowingAcross(IntSupplier tokens, Rotation rotation) throws Exception {
        int before = tokens.getAsInt();
        rotation.run();
        api.revokeTokens();
        await().atMost(Duration.ofSeconds(30)).until(() -> tokens.getAsInt() > before);
        int atRotation = Sinks.files(tmp.resolve("out")).size();
        await().atMost(Duration.ofSeconds(30)).until(() -> Sinks.files(tmp.resolve("out")).size() > atRotation + 3);
    }

    private static long lines(String output, String text) {
        return output.lines().filter(l -> l.contains(text)).count();
    }

    @Test
    void a_pem_certificate_alone_signs_in_to_graph() throws Exception {
        Properties p = oauth2("graph");
        p.put("trace.clientCertificate", app.pem(tmp.resolve("app.pem")).toString());
        try (ForwarderJar jar = ForwarderJar.start(tmp, "pem-graph", p, trust)) {
            forwardsEveryRow(jar);
            assertEquals(List.of(), entra.refusals(), jar.output());
            assertEquals(1, entra.issued(), "one token for its lifetime");
            assertEquals(0, lines(jar.output(), " ERROR "), jar.output());
            assertFalse(jar.output().contains("PRIVATE KEY"), jar.output());
        }
    }

    @Test
    void a_pkcs12_certificate_with_a_password_like_placeholders_signs_in_to_reporting() throws Exception {
        Properties p = oauth2("reporting");
        p.put("trace.clientCertificate", app.file().toString());
        p.put("trace.clientCertificatePassword", PASSWORD);
        try (ForwarderJar jar = ForwarderJar.start(tmp, "p12-reporting", p, trust)) {
            forwardsEveryRow(jar);
            assertEquals(List.of(), entra.refusals(), jar.output());
            assertFalse(jar.output().contains("p{{x}}") || jar.output().contains("w${y}d"), "the password reached the log");
        }
    }

    @Test
    void a_certificate_entra_does_not_know_is_named_once_and_nothing_moves() throws Exception {
        TestCertificates.Pkcs12 other = TestCertificates.create(tmp, "other", "changeit");
        Properties p = oauth2("graph");
        p.put("trace.clientCertificate", other.pem(tmp.resolve("other.pem")).toString());
        try (ForwarderJar jar = ForwarderJar.start(tmp, "wrong-certificate", p, trust)) {
            // several polls, each refused
            await().atMost(Duration.ofSeconds(60)).until(() -> entra.refusals().size() >= 3);
            String output = jar.output();
            assertEquals(1, lines(output, "trace.clientCertificate: Entra ID refused the client assertion signed with the certificate "
                    + tmp.resolve("other.pem")), output);
            assertEquals(1, lines(output, "AADSTS700027"), "logged once per episode: " + output);
            assertEquals(0, api.requests().size(), "no API request without a token");
            assertFalse(Files.exists(tmp.resolve("state/checkpoint")), "the checkpoint did not move");
            assertEquals(List.of(), Sinks.files(tmp.resolve("out")), "nothing forwarded");
        }
    }

    @Test
    void the_right_certificate_with_the_wrong_key_is_refused_by_its_signature() throws Exception {
        TestCertificates.Pkcs12 other = TestCertificates.create(tmp, "other", "changeit");
        Properties p = oauth2("reporting");
        // the uploaded certificate, but another key: the assertion's signature does not verify
        Path pem = tmp.resolve("mixed.pem");
        Files.writeString(pem, Files.readString(app.pem(tmp.resolve("app.pem"))).split("-----BEGIN PRIVATE KEY-----")[0]
                + "-----BEGIN PRIVATE KEY-----" + Files.readString(other.pem(tmp.resolve("other.pem")))
                .split("-----BEGIN PRIVATE KEY-----")[1], StandardCharsets.US_ASCII);
        p.put("trace.clientCertificate", pem.toString());
        try (ForwarderJar jar = ForwarderJar.start(tmp, "wrong-key", p, trust)) {
            await().atMost(Duration.ofSeconds(60)).until(() -> entra.refusals().size() >= 2);
            assertEquals(List.of("AADSTS700027: Client assertion failed signature validation."), entra.refusals().stream().distinct().toList());
            assertEquals(1, lines(jar.output(), "trace.clientCertificate: Entra ID refused"), jar.output());
            assertFalse(Files.exists(tmp.resolve("state/checkpoint")), "the checkpoint did not move");
        }
    }

    @Test
    void an_expired_certificate_stops_the_start_before_any_request() throws Exception {
        TestCertificates.Pkcs12 expired = TestCertificates.create(tmp, "expired", "changeit", "-10d", 2);
        Properties p = oauth2("graph");
        p.put("trace.clientCertificate", expired.file().toString());
        p.put("trace.clientCertificatePassword", "changeit");
        try (ForwarderJar jar = ForwarderJar.start(tmp, "expired", p, trust)) {
            assertEquals(2, jar.waitFor(60), jar.output());
            String last = jar.output().strip().lines().reduce((a, b) -> b).orElse("");
            assertTrue(last.startsWith("m365-trace-forwarder: trace.clientCertificate: the certificate in " + expired.file()
                    + " (thumbprint "), last);
            assertTrue(last.contains("expired on " + expired.certificate().getNotAfter().toInstant()), last);
            assertEquals(List.of(), entra.requests(), "no token request");
            assertFalse(jar.output().contains("changeit"), jar.output());
        }
    }

    @Test
    void a_client_secret_file_rotated_while_running_keeps_records_flowing() throws Exception {
        api = Fixtures.simulator(3);
        Path secret = tmp.resolve("client-secret");
        Files.writeString(secret, "first-secret\n");
        Properties p = Fixtures.graphProperties(api, tmp);
        api.setClientSecret("first-secret");
        p.remove("trace.clientSecret");
        p.put("trace.clientSecretFile", secret.toString());
        try (ForwarderJar jar = ForwarderJar.start(tmp, "secret-file", p, Map.of())) {
            await().atMost(Duration.ofSeconds(60)).until(() -> Sinks.files(tmp.resolve("out")).size() >= 10);
            Instant up = Instant.now();
            assertEquals(1, api.tokenRequests());
            // the secret is rotated: the new one in the file, the old one refused and its tokens revoked
            keepsFlowingAcross(api::tokenRequests, () -> {
                Files.writeString(secret, "second-secret\n");
                api.setClientSecret("second-secret");
            });
            api.stopTraffic();
            Instant last = Instant.now();
            await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(tmp.resolve("state/checkpoint"))
                    && Instant.parse(Files.readString(tmp.resolve("state/checkpoint")).strip()).isAfter(last.plusSeconds(2)));
            List<String> keys = Sinks.keys(Sinks.files(tmp.resolve("out")));
            // a row settled just before the traffic stopped is read at a later poll: on a loaded machine, seconds later
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                    assertEquals(reachable(api, up), java.util.Set.copyOf(Sinks.keys(Sinks.files(tmp.resolve("out"))))));
            assertEquals(keys.size(), java.util.Set.copyOf(keys).size(), "no record twice");
            assertFalse(jar.output().contains("first-secret") || jar.output().contains("second-secret"), jar.output());
            assertEquals(0, lines(jar.output(), " ERROR "), jar.output());
        }
    }

    @Test
    void a_basic_password_like_placeholders_works_and_is_never_logged() throws Exception {
        api = Fixtures.seededSimulator(MESSAGES);
        api.setPassword(PASSWORD);
        Properties p = Fixtures.oneWindow(Fixtures.pipelineProperties(api, tmp), api, 3);
        p.put("trace.password", PASSWORD);
        try (ForwarderJar jar = ForwarderJar.start(tmp, "basic", p, Map.of())) {
            forwardsEveryRow(jar);
            assertFalse(jar.output().contains("p{{x}}") || jar.output().contains("w${y}d"), "the password reached the log");
        }
    }

    @Test
    void a_managed_identity_gets_its_token_from_the_metadata_endpoint() throws Exception {
        api = Fixtures.seededSimulator(MESSAGES);
        entra = FakeEntra.start(null, APP, api::issueToken, api.tokenLifetime());
        entra.managedIdentity("user-assigned-id");
        Properties p = Fixtures.oneWindow(Fixtures.graphProperties(api, tmp), api, 3);
        p.remove("trace.clientSecret");
        p.remove("trace.tokenUrl");
        p.put("trace.auth", "managed-identity");
        p.put("trace.managedIdentityClientId", "user-assigned-id");
        p.put("trace.managedIdentityEndpoint", entra.metadataUrl());
        try (ForwarderJar jar = ForwarderJar.start(tmp, "managed-identity", p, Map.of())) {
            forwardsEveryRow(jar);
            assertEquals(List.of(), entra.refusals(), jar.output());
            assertEquals(1, entra.issued());
        }
    }

    @Test
    void without_a_managed_identity_one_line_says_so() throws Exception {
        api = Fixtures.seededSimulator(MESSAGES);
        entra = FakeEntra.start(null, APP, api::issueToken, api.tokenLifetime());
        entra.managedIdentity(null);       // this host has none
        Properties p = Fixtures.oneWindow(Fixtures.graphProperties(api, tmp), api, 3);
        p.remove("trace.clientSecret");
        p.put("trace.auth", "managed-identity");
        p.put("trace.managedIdentityEndpoint", entra.metadataUrl());
        try (ForwarderJar jar = ForwarderJar.start(tmp, "no-managed-identity", p, Map.of())) {
            await().atMost(Duration.ofSeconds(60)).until(() -> entra.refusals().size() >= 3);
            assertEquals(1, lines(jar.output(), "trace.auth=managed-identity: no managed identity on this host"), jar.output());
            assertFalse(Files.exists(tmp.resolve("state/checkpoint")), "the checkpoint did not move");
        }
    }

    @Test
    void workload_identity_reads_the_federated_token_file_at_each_token_request() throws Exception {
        api = Fixtures.simulator(3);
        entra = FakeEntra.start(server.serverContext(), "workload-app", api::issueToken, api.tokenLifetime());
        Path token = tmp.resolve("azure-identity-token");
        Files.writeString(token, "service-account-token-1");
        entra.federatedToken("service-account-token-1");
        Properties p = Fixtures.graphProperties(api, tmp);
        p.remove("trace.clientSecret");
        p.remove("trace.clientId");
        p.remove("trace.tokenUrl");
        p.put("trace.auth", "managed-identity");
        Map<String, String> environment = Map.of("AZURE_FEDERATED_TOKEN_FILE", token.toString(), "AZURE_CLIENT_ID", "workload-app",
                "AZURE_TENANT_ID", FakeEntra.TENANT, "AZURE_AUTHORITY_HOST", entra.authorityHost());
        try (ForwarderJar jar = ForwarderJar.start(tmp, "workload-identity", p, trust, environment)) {
            await().atMost(Duration.ofSeconds(60)).until(() -> Sinks.files(tmp.resolve("out")).size() >= 5);
            // Kubernetes rotates the service account token; the old one is refused from now on
            keepsFlowingAcross(entra::issued, () -> {
                Files.writeString(token, "service-account-token-2");
                entra.federatedToken("service-account-token-2");
            });
            assertEquals(List.of(), entra.refusals(), jar.output());
        }
    }

    /**
     * Every row state the API showed, but those it had replaced already before the forwarder was up ({@code up}): a
     * Pending row of the first seconds, settled (5 s) while the jar was still starting on a loaded machine, was never
     * in any reply, and no poll could forward it. A state the API served, the current ones, and every state of the
     * time the forwarder ran (the rotation) stay expected.
     */
    private static java.util.Set<String> reachable(SimulatedReportingService api, Instant up) {
        java.util.Set<String> current = api.currentKeys();
        java.util.Set<String> served = api.servedKeys();
        java.util.Set<String> expected = new java.util.LinkedHashSet<>(api.expectedKeys(Instant.MAX));
        api.rowsByKey().forEach((key, row) -> {
            if (!current.contains(key) && !served.contains(key) && row.visibleFrom().plusSeconds(5).isBefore(up)) {
                expected.remove(key);
            }
        });
        return expected;
    }
}
