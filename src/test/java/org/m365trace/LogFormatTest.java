package org.m365trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * trace.log.format is found before Camel starts, where and in the order Camel finds a setting: environment, system
 * property, camel.main.fileConfigurations, the profile's file, application.properties; text unless said otherwise.
 */
class LogFormatTest {

    @TempDir
    Path tmp;

    final Map<String, String> env = new HashMap<>();
    final Map<String, String> sys = new HashMap<>();
    int jars;

    /** The format with {@code env}, {@code sys} and a class path holding {@code files} (name, content, ...). */
    private String format(String... files) throws IOException {
        Path jar = Files.createDirectories(tmp.resolve("jar" + ++jars));
        for (int i = 0; i < files.length; i += 2) {
            Files.writeString(jar.resolve(files[i]), files[i + 1], StandardCharsets.UTF_8);
        }
        try (URLClassLoader classpath = new URLClassLoader(new URL[] {jar.toUri().toURL()}, null)) {
            return new LogFormat(env::get, sys::get, classpath).resolve();
        }
    }

    private Path file(String name, String content) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("etc"));
        return Files.writeString(dir.resolve(name), content, StandardCharsets.UTF_8);
    }

    @Test
    void text_unless_set() throws Exception {
        assertEquals("text", format());
        assertEquals("text", format("application.properties", "trace.api = graph\n"));
    }

    @Test
    void the_packaged_default_is_text() throws Exception {
        assertEquals("text", new LogFormat(env::get, sys::get, getClass().getClassLoader()).resolve());
    }

    @Test
    void application_properties_then_the_profile_file() throws Exception {
        assertEquals("json", format("application.properties", "trace.log.format = json\n"));
        sys.put("camel.main.profile", "demo");
        assertEquals("text", format("application.properties", "trace.log.format = json\n",
                "application-demo.properties", "trace.log.format = text\n"));
    }

    @Test
    void the_profile_from_the_environment_or_application_properties() throws Exception {
        env.put("camel.main.profile", "demo");
        assertEquals("json", format("application-demo.properties", "trace.log.format = json\n"));
        env.clear();
        assertEquals("json", format("application.properties", "camel.main.profile = demo\n",
                "application-demo.properties", "trace.log.format = json\n"));
    }

    @Test
    void file_configurations_beat_the_packaged_files_and_the_last_file_wins() throws Exception {
        Path a = file("a.properties", "trace.log.format = json\n");
        sys.put("camel.main.fileConfigurations", a.toString());
        assertEquals("json", format("application.properties", "trace.log.format = text\n"));

        Path b = file("b.properties", "trace.log.format = text\n");
        sys.put("camel.main.fileConfigurations", a + "," + b);
        assertEquals("text", format());
        sys.remove("camel.main.fileConfigurations");

        env.put("camel.main.fileConfigurations", a.getParent() + "/a.*");
        assertEquals("json", format());
    }

    @Test
    void file_configurations_named_in_application_properties() throws Exception {
        Path a = file("a.properties", "trace.log.format = json\n");
        assertEquals("json", format("application.properties", "camel.main.fileConfigurations = " + a + "\n"));
    }

    @Test
    void a_system_property_beats_the_files_and_the_environment_beats_it_as_in_camel() throws Exception {
        sys.put("camel.main.fileConfigurations", file("a.properties", "trace.log.format = text\n").toString());
        sys.put("trace.log.format", "json");
        assertEquals("json", format("application.properties", "trace.log.format = text\n"));
        env.put("trace.log.format", "text");
        assertEquals("text", format());
    }

    @Test
    void anything_else_stops_the_start_naming_the_setting() {
        sys.put("trace.log.format", "JSON ");
        assertEquals("trace.log.format: expected text or json, got 'JSON'",
                assertThrows(SettingException.class, this::format).getMessage());
        sys.put("trace.log.format", "");
        assertEquals("trace.log.format: expected text or json, got nothing",
                assertThrows(SettingException.class, this::format).getMessage());
    }
}
