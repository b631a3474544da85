package org.m365trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Collectors;

import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The settings block of the start: every setting once, with its value in force and its source, no secret in clear. */
class SettingsSummaryTest {

    static final List<String> SECRETS = List.of("env-s3cret", "sys-s3cret", "file-s3cret", "b-p4ss", "Bearer abc123",
            "url-p4ss", "url-t0ken", "tls-p4ss", "raw-v4lue");

    @TempDir
    Path tmp;

    final DefaultCamelContext context = new DefaultCamelContext();

    @AfterEach
    void close() throws Exception {
        context.close();
    }

    /** The block for the packaged application.properties, a file configuration, and {@code env} and {@code sys}. */
    private List<String> block(Map<String, String> env, Map<String, String> sys) throws Exception {
        Path file = Files.writeString(tmp.resolve("site.properties"), """
                trace.tenant.a.clientSecret = file-s3cret
                trace.pollInterval = 2m
                trace.syslog.trustStorePassword = tls-p4ss
                trace.scope = RAW(raw-v4lue)
                """, StandardCharsets.UTF_8);
        Properties override = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            override.load(r);
        }
        context.getCamelContextExtension().setAdditionalSensitiveKeywords("authorization");
        context.getPropertiesComponent().setLocation("classpath:application.properties");
        context.getPropertiesComponent().setOverrideProperties(override);
        context.build();
        Properties system = new Properties();
        system.putAll(sys);
        List<String> lines = new SettingsSummary(env, system).lines(context, file.toString());
        String all = String.join("\n", lines);
        for (String secret : SECRETS) {
            assertFalse(all.contains(secret), secret + " in the block:\n" + all);
        }
        return lines;
    }

    private static String line(List<String> lines, String name) {
        List<String> found = lines.stream().filter(l -> l.startsWith("  " + name + " ")).toList();
        assertEquals(1, found.size(), name + " once: " + String.join("\n", lines));
        return found.get(0).replaceAll(" +", " ").trim();
    }

    @Test
    void every_setting_once_with_its_value_in_force_and_where_it_comes_from() throws Exception {
        Path site = tmp.resolve("site.properties");
        List<String> lines = block(
                Map.of("TRACE_CLIENTSECRET", "env-s3cret", "TRACE_POLL_INTERVAL", "7m", "TRACE_TENANT_B_PASSWORD", "b-p4ss",
                        "PATH", "/usr/bin"),
                Map.of("trace.http.authorization", "Bearer abc123", "trace.http.url", "https://svc:url-p4ss@siem.example/in?token=url-t0ken",
                        "trace.api", "reporting", "user.home", "/root"));
        assertEquals("settings (secrets shown as xxxxxx; from application.properties unless [marked]):", lines.get(0));
        assertEquals("trace.log.format = text", line(lines, "trace.log.format"));
        assertEquals("camel.main.name = m365-trace-forwarder", line(lines, "camel.main.name"));
        assertEquals("trace.tenants =", line(lines, "trace.tenants"), "empty: nothing after =");
        assertEquals("trace.api = reporting [-D]", line(lines, "trace.api"));
        assertEquals("trace.pollInterval = 7m [env TRACE_POLL_INTERVAL]", line(lines, "trace.pollInterval"), "the environment beats the file");
        assertEquals("trace.clientSecret = xxxxxx [env TRACE_CLIENTSECRET]", line(lines, "trace.clientSecret"));
        assertEquals("trace.tenant.a.clientSecret = xxxxxx [" + site + "]", line(lines, "trace.tenant.a.clientSecret"));
        assertEquals("trace.syslog.trustStorePassword = xxxxxx [" + site + "]", line(lines, "trace.syslog.trustStorePassword"));
        assertEquals("trace.scope = xxxxxx [" + site + "]", line(lines, "trace.scope"), "RAW(...) values are masked");
        assertEquals("trace.http.authorization = xxxxxx [-D]", line(lines, "trace.http.authorization"));
        assertEquals("trace.http.url = https://svc:xxxxxx@siem.example/in?token=xxxxxx [-D]", line(lines, "trace.http.url"));
        assertEquals("trace.password =", line(lines, "trace.password"), "an empty secret shows that it is empty");
        assertEquals("TRACE_TENANT_B_PASSWORD = xxxxxx [env]", line(lines, "TRACE_TENANT_B_PASSWORD"), "only in the environment");
        assertTrue(lines.stream().noneMatch(l -> l.contains("PATH") || l.contains("user.home")), "only trace.* and camel.*");
    }

    @Test
    void every_packaged_setting_is_in_the_block_in_the_files_order() throws Exception {
        Properties packaged = new Properties();
        try (Reader r = Files.newBufferedReader(Path.of("application.properties"), StandardCharsets.UTF_8)) {
            packaged.load(r);
        }
        List<String> lines = block(Map.of(), Map.of());
        List<String> names = lines.subList(1, lines.size()).stream().map(l -> l.trim().split(" ")[0]).toList();
        assertTrue(names.containsAll(packaged.stringPropertyNames()), names.toString());
        assertEquals(names.size(), names.stream().collect(Collectors.toSet()).size(), "each once: " + names);
        assertTrue(names.indexOf("camel.main.name") < names.indexOf("trace.api") && names.indexOf("trace.api") < names.indexOf("trace.log.format"),
                "as in application.properties: " + names);
    }

    @Test
    void placeholders_are_resolved_unless_they_name_a_secret() throws Exception {
        List<String> lines = block(Map.of(), Map.of("trace.tokenUrl", "https://login.example/{{trace.api}}/token",
                "trace.scope", "x-{{trace.clientSecret}}", "trace.clientSecret", "sys-s3cret"));
        assertEquals("trace.tokenUrl = https://login.example/graph/token [-D]", line(lines, "trace.tokenUrl"));
        assertEquals("trace.scope = xxxxxx [-D]", line(lines, "trace.scope"));
    }

    @Test
    void a_value_read_from_the_environment_or_a_system_property_is_shown_as_written() throws Exception {
        System.setProperty("m365trace.test.signature", "s1gn4ture-in-a-url");
        try {
            List<String> lines = block(Map.of(), Map.of("trace.http.url", "https://siem.example/in?sig={{sys:m365trace.test.signature}}"));
            assertEquals("trace.http.url = https://siem.example/in?sig={{sys:m365trace.test.signature}} [-D]", line(lines, "trace.http.url"));
            assertFalse(String.join("\n", lines).contains("s1gn4ture"), "what the property holds is not shown");
        } finally {
            System.clearProperty("m365trace.test.signature");
        }
    }

    @Test
    void what_camel_deems_sensitive_is_masked() {
        context.getCamelContextExtension().setAdditionalSensitiveKeywords("authorization");
        for (String name : List.of("trace.password", "trace.clientSecret", "trace.tenant.x.client-secret", "trace.http.authorization",
                "trace.syslog.trustStorePassword", "trace.token", "trace.username", "trace.clientId", "camel.vault.aws.secretKey",
                "trace.tenant.x.password", "trace.tenant.x.apiKey", "trace.proxy.credentials", "trace.kafka.saslJaasConfig",
                "trace.kafka.sslKeystorePassword", "trace.kafka.sslKeyPassword")) {
            assertTrue(SettingsSummary.secret(context, name, "v"), name);
        }
        for (String name : List.of("trace.api", "trace.tokenUrl", "trace.tenantId", "trace.http.url", "trace.log.format",
                "trace.kafka.bootstrapServers", "trace.kafka.topic")) {
            assertFalse(SettingsSummary.secret(context, name, "v"), name);
        }
    }
}
