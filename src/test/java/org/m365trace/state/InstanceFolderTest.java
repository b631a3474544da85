package org.m365trace.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Properties;

import org.apache.camel.CamelContext;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.Test;
import org.m365trace.SettingException;

/** {@code {{instance:<key>}}} as the routes resolve it: found by Camel through its service file. */
class InstanceFolderTest {

    @Test
    void the_file_store_keeps_the_folder_as_set() throws Exception {
        assertEquals("data/state", resolve("{{instance:trace.stateDir}}", "file", "forwarder-1"));
    }

    @Test
    void the_jdbc_store_names_the_instance_subfolder() throws Exception {
        assertEquals(Path.of("data/state", "forwarder-1").toString(), resolve("{{instance:trace.stateDir}}/spool/file", "jdbc", "forwarder-1")
                .replace("/spool/file", ""));
        assertEquals(Path.of("/srv/out", "forwarder-1").toString(), resolve("{{instance:trace.file.dir}}", "jdbc", "forwarder-1"));
    }

    @Test
    void without_a_name_the_jdbc_store_uses_the_host_name() throws Exception {
        String folder = resolve("{{instance:trace.stateDir}}", "jdbc", "");
        assertEquals(Path.of("data/state", TraceStateStore.instanceName("")).toString(), folder);
        assertTrue(!TraceStateStore.instanceName("").isBlank());
    }

    @Test
    void an_empty_folder_stays_empty_for_the_settings_check_to_name() throws Exception {
        assertEquals("", resolve("{{instance:trace.replay.deadLetters}}", "jdbc", "forwarder-1"));
    }

    @Test
    void a_name_that_cannot_be_a_folder_is_refused_naming_the_setting() {
        for (String bad : new String[] {"../other", "a/b", "two words"}) {
            Exception e = assertThrows(Exception.class, () -> resolve("{{instance:trace.stateDir}}", "jdbc", bad));
            Throwable cause = e;
            while (!(cause instanceof SettingException) && cause.getCause() != null) {
                cause = cause.getCause();
            }
            assertTrue(cause instanceof SettingException && cause.getMessage().startsWith("trace.instance: "), bad + ": " + e);
        }
    }

    private static String resolve(String text, String store, String instance) throws Exception {
        Properties p = new Properties();
        p.put("trace.stateDir", "data/state");
        p.put("trace.file.dir", "/srv/out");
        p.put("trace.replay.deadLetters", "");
        p.put("trace.state.store", store);
        p.put("trace.instance", instance);
        try (CamelContext context = new DefaultCamelContext()) {
            context.getPropertiesComponent().setInitialProperties(p);
            return context.resolvePropertyPlaceholders(text);
        }
    }
}
