package org.m365trace;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * The packaged settings name every route file one by one ({@code camel.main.routesIncludePattern}) instead of a
 * {@code classpath:routes/*.camel.yaml} wildcard, which costs a read through the whole jar at every start: the list must
 * stay the files of {@code routes/}, each once, and the demo profile's the same plus its simulator.
 */
class PackagedRoutesTest {

    @Test
    void application_properties_names_every_route_file() throws IOException {
        assertEquals(routeFiles(), new TreeSet<>(included("application.properties")));
        assertEquals(included("application.properties").size(), routeFiles().size(), "each file once");
    }

    @Test
    void the_demo_profile_names_the_same_files_and_its_simulator() throws IOException {
        List<String> demo = included("application-demo.properties");
        List<String> expected = new ArrayList<>(included("application.properties"));
        expected.add("classpath:demo/simulator.camel.yaml");
        assertEquals(expected, demo);
    }

    private static TreeSet<String> routeFiles() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("routes"))) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".camel.yaml"))
                    .map(n -> "classpath:routes/" + n).collect(TreeSet::new, TreeSet::add, TreeSet::addAll);
        }
    }

    private static List<String> included(String file) throws IOException {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(Path.of(file))) {
            p.load(in);
        }
        return Arrays.asList(p.getProperty("camel.main.routesIncludePattern").split(","));
    }
}
