package org.m365trace.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.m365trace.Secret;
import org.m365trace.SettingException;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/** The Kamelet's parameters are the source's trace.* keys, with the same defaults as application.properties. */
class TraceTenantsTest {

    @Test
    void a_parameter_is_its_key_in_camel_case() {
        assertEquals("graphBaseUrl", TraceTenants.parameter("graph.baseUrl"));
        assertEquals("filterStatuses", TraceTenants.parameter("filter.statuses"));
        assertEquals("dedupeCacheSize", TraceTenants.parameter("dedupe.cacheSize"));
        assertEquals("clientSecret", TraceTenants.parameter("clientSecret"));
    }

    @Test
    void tenant_names_are_checked() {
        assertEquals(List.of("contoso", "fabrikam"), TraceTenants.names(" contoso, fabrikam ,"));
        assertEquals(List.of(), TraceTenants.names(""));
        assertTrue(assertThrows(SettingException.class, () -> TraceTenants.names("a,a")).getMessage().startsWith("trace.tenants:"));
        assertTrue(assertThrows(SettingException.class, () -> TraceTenants.names("a/b")).getMessage().startsWith("trace.tenants:"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void the_kamelet_takes_every_source_key_with_the_packaged_default() throws Exception {
        Map<String, Object> kamelet;
        try (InputStream in = Files.newInputStream(Path.of("src/main/resources/kamelets/m365-message-trace-source.kamelet.yaml"))) {
            kamelet = (Map<String, Object>) new Load(LoadSettings.builder().build()).loadFromInputStream(in);
        }
        Map<String, Map<String, Object>> parameters = (Map<String, Map<String, Object>>)
                ((Map<String, Object>) ((Map<String, Object>) kamelet.get("spec")).get("definition")).get("properties");
        Set<String> expected = TraceTenants.SOURCE_KEYS.stream().map(TraceTenants::parameter).collect(Collectors.toCollection(TreeSet::new));
        expected.add("tenant");
        expected.add("rawRows");             // not a setting: true when a sink's schema is raw
        expected.add("batch");               // not a setting: the forwarder's routes take a page at a time
        assertEquals(expected, new TreeSet<>(parameters.keySet()));

        Properties packaged = new Properties();
        try (Reader r = Files.newBufferedReader(Path.of("application.properties"), StandardCharsets.UTF_8)) {
            packaged.load(r);
        }
        for (String key : TraceTenants.SOURCE_KEYS) {
            Map<String, Object> p = parameters.get(TraceTenants.parameter(key));
            assertTrue(p.containsKey("title") && p.containsKey("description") && p.containsKey("type"), key + ": " + p);
            if (!"stateDir".equals(key)) {   // required: where state lives is the user's choice
                assertEquals(packaged.getProperty("trace." + key), String.valueOf(p.get("default")), "default of " + key);
            }
        }
    }

    /** TraceTenants in a CamelContext holding the packaged settings and {@code extra}. */
    private static TraceTenants tenants(String... extra) throws Exception {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(Path.of("application.properties"), StandardCharsets.UTF_8)) {
            p.load(r);
        }
        for (int i = 0; i < extra.length; i += 2) {
            p.setProperty(extra[i], extra[i + 1]);
        }
        org.apache.camel.impl.DefaultCamelContext context = new org.apache.camel.impl.DefaultCamelContext();
        context.getPropertiesComponent().setInitialProperties(p);
        TraceTenants t = new TraceTenants();
        t.setCamelContext(context);
        t.setTenants(p.getProperty("trace.tenants"));
        return t;
    }

    /** A secret parameter: a reference to the value in the registry, never the value (Camel would parse it). */
    private static String secret(TraceTenants t, String route, String parameter) {
        String ref = kamelet(t, route, parameter);
        assertTrue(ref.startsWith("#bean:"), ref);
        return ((Secret) t.getCamelContext().getRegistry().lookupByName(ref.substring("#bean:".length()))).value();
    }

    @Test
    void secrets_are_taken_as_given_never_parsed_for_placeholders() throws Exception {
        String password = "p{{x}}w${y}d";
        TraceTenants t = tenants("trace.tenants", "a,b", "trace.api", "reporting", "trace.auth", "basic", "trace.username", "u",
                "trace.tenant.a.reporting.baseUrl", "https://a.example", "trace.tenant.a.password", password,
                "trace.password", password, "trace.tenant.b.reporting.baseUrl", "https://b.example",
                "trace.tenant.b.clientCertificatePassword", "{{nope");
        assertEquals(Set.of("trace-source-a", "trace-source-b"), t.routeIds());
        assertEquals(password, secret(t, "trace-poll-a", "password"));
        assertEquals(password, secret(t, "trace-poll-b", "password"));
        assertEquals("{{nope", secret(t, "trace-poll-b", "clientCertificatePassword"));
    }

    @Test
    void the_sign_in_keys_are_per_tenant_too() throws Exception {
        Path secretFile = Files.writeString(Files.createTempFile("gov", ".secret"), "gov-secret");
        TraceTenants t = tenants("trace.tenants", "gov,mi", "trace.clientId", "app", "trace.clientSecret", "s",
                "trace.tenant.gov.tenantId", "gov.example", "trace.tenant.gov.cloud", "usgov",
                "trace.tenant.gov.clientSecretFile", secretFile.toString(),
                "trace.tenant.mi.auth", "managed-identity", "trace.tenant.mi.managedIdentityClientId", "mi-client",
                "trace.tenant.mi.managedIdentityEndpoint", "http://127.0.0.1:1/metadata/identity/oauth2/token");
        t.routeIds();
        assertEquals("usgov", kamelet(t, "trace-poll-gov", "cloud"));
        assertEquals(secretFile.toString(), kamelet(t, "trace-poll-gov", "clientSecretFile"));
        Files.delete(secretFile);
        assertEquals("global", kamelet(t, "trace-poll-mi", "cloud"));
        assertEquals("managed-identity", kamelet(t, "trace-poll-mi", "auth"));
        assertEquals("mi-client", kamelet(t, "trace-poll-mi", "managedIdentityClientId"));
    }

    private static String kamelet(TraceTenants t, String route, String parameter) {
        return t.kameletParameter(route, parameter);
    }

    @Test
    void each_tenant_gets_its_own_settings_else_the_shared_ones() throws Exception {
        TraceTenants t = tenants("trace.tenants", "a,b", "trace.clientId", "app", "trace.clientSecret", "shared-secret",
                "trace.tenantId", "shared.onmicrosoft.com",
                "trace.tokenUrl", "https://login.example.us/{{trace.tenantId}}/oauth2/v2.0/token",
                "trace.tenant.a.tenantId", "a.onmicrosoft.com", "trace.tenant.a.clientSecret", "a-secret",
                "trace.tenant.b.tenantId", "b.onmicrosoft.com", "trace.tenant.b.graph.baseUrl", "https://graph.example/v1.0",
                "trace.tenant.b.pollInterval", "1m");
        assertEquals(Set.of("trace-source-a", "trace-source-b"), t.routeIds());
        assertEquals("trace-poll-b", t.parameters("trace-source-b").get("pollRouteId"));
        assertEquals("a-secret", secret(t, "trace-poll-a", "clientSecret"));
        assertEquals("shared-secret", secret(t, "trace-poll-b", "clientSecret"));
        // a shared value that names another setting takes the tenant's value of it
        assertEquals("https://login.example.us/b.onmicrosoft.com/oauth2/v2.0/token", kamelet(t, "trace-poll-b", "tokenUrl"));
        assertEquals("https://graph.example/v1.0", kamelet(t, "trace-poll-b", "graphBaseUrl"));
        assertEquals("", kamelet(t, "trace-poll-a", "graphBaseUrl"), "empty: the one of trace.cloud");
        assertEquals("1m", kamelet(t, "trace-poll-b", "pollInterval"));
        assertEquals(Path.of("data/state", "a").toString(), kamelet(t, "trace-poll-a", "stateDir"));
        assertEquals("b", kamelet(t, "trace-poll-b", "tenant"));
    }

    @Test
    void without_tenants_one_source_on_the_shared_settings() throws Exception {
        TraceTenants t = tenants("trace.clientId", "app", "trace.clientSecret", "s", "trace.tenantId", "contoso.onmicrosoft.com");
        assertEquals(Set.of("trace-source"), t.routeIds());
        assertEquals("data/state", kamelet(t, "trace-poll", "stateDir"));
        assertEquals("", kamelet(t, "trace-poll", "tenant"));
    }

    @Test
    void a_wrong_tenant_setting_is_named_with_its_tenant() throws Exception {
        String base = "trace.clientId|app|trace.clientSecret|s|trace.tenants|a,b|trace.tenant.a.tenantId|a.example|trace.tenant.b.tenantId|b.example|";
        assertTrue(refused(base + "trace.tenant.b.delay|soon").startsWith("tenant b: trace.delay: expected a duration"));
        assertTrue(refused(base + "trace.tenant.b.pollInterval|soon").startsWith("tenant b: trace.pollInterval"));
        assertTrue(refused(base + "trace.tenant.b.clientId|{{env:NO_SUCH_VARIABLE_HERE}}")
                .startsWith("trace.tenant.b.clientId: a placeholder in its value cannot be resolved"));
        assertTrue(refused(base + "trace.tenant.b.cloud|mars").startsWith("tenant b: trace.cloud: expected one of global, usgov"));
        // a setting of the process is refused per tenant, instead of the first tenant's value silently winning
        assertTrue(refused(base + "trace.tenant.b.pageConcurrency|4").startsWith("trace.tenant.b.pageConcurrency: trace.pageConcurrency is"
                + " one value for the whole process"));
        assertTrue(refused(base + "trace.tenant.a.instance|i1").startsWith("trace.tenant.a.instance: trace.instance is one value"));
        // two tenants reading as one identity would each forward the other's rows
        assertTrue(refused("trace.clientId|app|trace.clientSecret|s|trace.tenants|a,b|trace.tenantId|same.example")
                .startsWith("trace.tenants: tenants a and b read the same API as the same identity"));
    }

    private static String refused(String settings) {
        String[] kv = settings.split("\\|");
        return assertThrows(SettingException.class, () -> tenants(kv).routeIds()).getMessage();
    }
}
