package org.m365trace;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/** The Karaf packaging (karaf/pom.xml, a build of its own) carries the library's version: a release bumps both. */
class KarafVersionTest {

    private static String version(Path pom, String artifactId) throws Exception {
        Matcher m = Pattern.compile("<artifactId>" + artifactId + "</artifactId>\\s*<version>([^<]+)</version>")
                .matcher(Files.readString(pom));
        return m.find() ? m.group(1) : null;
    }

    @Test
    void the_karaf_packaging_has_the_library_version() throws Exception {
        assertEquals(version(Path.of("pom.xml"), "m365-message-trace"), version(Path.of("karaf/pom.xml"), "m365-trace-karaf"));
    }
}
