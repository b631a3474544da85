package org.m365trace;

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
}
