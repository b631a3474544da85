package org.m365trace.karaf;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The feature in a real Karaf 4.4 (target/apache-karaf-*, unpacked by the build), against {@link FakeGraph} on
 * loopback: {@code feature:repo-add} and {@code feature:install}, then etc/org.m365trace.cfg brings every row once into
 * the NDJSON files; a changed cfg restarts the routes with the new settings; {@code feature:uninstall} stops them (no
 * request after it, the state directory's lock released).
 */
class KarafIT {

    private static final String FEATURE = "m365-trace-forwarder";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration CLIENT_TIMEOUT = Duration.ofMinutes(2);

    private static Path home;
    private static Path work;
    private static int sshPort;
    private static Process karaf;
    private static FakeGraph api;

    @BeforeAll
    static void startKarafAndApi() throws Exception {
        home = Path.of(System.getProperty("karaf.home"));
        work = Path.of(System.getProperty("it.work"));
        deleteTree(work);
        Files.createDirectories(work);
        api = new FakeGraph();
        // rows received minutes ago: inside the first window (initial look-back 1 h, delay 1 s)
        Instant now = Instant.now();
        for (int i = 0; i < 3; i++) {
            String id = UUID.randomUUID().toString();
            Instant received = now.minus(Duration.ofMinutes(5 + 7L * i));
            api.add(new FakeGraph.Row(id, "alice@contoso.com", received, "delivered"));
            if (i != 1) {
                api.add(new FakeGraph.Row(id, "bob@contoso.com", received, i == 0 ? "failed" : "pending"));
            }
        }
        prepareKaraf();
        ProcessBuilder pb = new ProcessBuilder(home.resolve("bin/karaf").toString(), "server").directory(home.toFile())
                .redirectErrorStream(true).redirectOutput(work.resolve("karaf-console.log").toFile());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        karaf = pb.start();
        // the shell answers once the ssh feature is up; the boot features are installed by then
        await("Karaf's shell on 127.0.0.1:" + sshPort).atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofSeconds(1))
                .until(() -> {
                    assertTrue(karaf.isAlive(), "Karaf ended: " + tail(work.resolve("karaf-console.log"), 30));
                    return client("feature:list -i").contains("| Started |");
                });
    }

    @AfterAll
    static void stopKarafAndApi() throws Exception {
        if (karaf != null) {
            ProcessBuilder pb = new ProcessBuilder(home.resolve("bin/stop").toString()).directory(home.toFile())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
            pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
            pb.start().waitFor(30, TimeUnit.SECONDS);
            if (!karaf.waitFor(45, TimeUnit.SECONDS)) {
                // bin/karaf runs java as its child: end both
                karaf.descendants().forEach(ProcessHandle::destroyForcibly);
                karaf.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        if (api != null) {
            api.close();
        }
    }

    @Test
    void install_configure_reconfigure_uninstall() throws Exception {
        try {
            Set<String> expected = api.rows().stream().map(FakeGraph.Row::key).collect(Collectors.toSet());
            String version = System.getProperty("it.version");

            String out = client("feature:repo-add mvn:org.m365trace/m365-trace-karaf/" + version + "/xml/features",
                    "feature:install " + FEATURE, "feature:list -i | grep " + FEATURE);
            assertFalse(out.contains("Error"), out);
            assertTrue(out.contains(FEATURE), out);
            // installed before there is any configuration: waits for one
            await("the bundle says it has no configuration").atMost(Duration.ofSeconds(30))
                    .until(() -> log().contains("no configuration org.m365trace"));

            // a wrong setting: one line naming it, nothing started, nothing held (the same state folder works next)
            Path out1 = work.resolve("out1");
            writeCfg(out1, "state1", "exchange");
            await("the wrong setting named in karaf.log").atMost(Duration.ofSeconds(30))
                    .until(() -> log().contains("m365-trace-forwarder not started: ") && log().contains("trace.api"));

            // 1. the setting corrected: every row once in the files
            writeCfg(out1, "state1", "graph");
            expected = awaitRecords(out1, expected);

            // 2. another file folder and state folder: the routes restart with them; the old folder gets nothing more
            long before = lines(out1).size();
            Path out2 = work.resolve("out2");
            writeCfg(out2, "state2", "graph");
            awaitRecords(out2, expected);
            assertEquals(before, lines(out1).size(), "nothing more in the old folder");
            assertTrue(locksFree(stateDir("state1")), "the first routes released their locks in state1 when they stopped");

            // 3. feature:uninstall: the routes stop before it returns; no request after it
            out = client("feature:uninstall " + FEATURE, "bundle:list -s");
            assertFalse(out.contains("Error"), out);
            assertFalse(out.contains("org.m365trace.karaf"), out);
            int requests = api.requests();
            await("no request after feature:uninstall").during(Duration.ofSeconds(6)).atMost(Duration.ofSeconds(10))
                    .until(() -> api.requests() == requests);
            assertTrue(locksFree(stateDir("state2")), "the locks in state2 released");
            assertTrue(log().contains("m365-trace-forwarder stopped"), "the routes stopped");

            assertEquals(List.of(), api.unexpected(), "requests the fake did not expect");
            // the wrong setting's line is the only error of the product
            List<String> errors = log().lines().filter(l -> l.contains("| ERROR |") && l.contains("m365"))
                    .filter(l -> !l.contains("m365-trace-forwarder not started: ")).toList();
            assertEquals(List.of(), errors, "errors in karaf.log");
        } catch (Throwable t) {
            System.err.println("---- karaf.log (tail)\n" + tail(home.resolve("data/log/karaf.log"), 150));
            throw t;
        }
    }

    /**
     * Waits until {@code dir} holds every expected row; then adds a row older than all others and waits for it. The
     * poll that reads it reads every other row again first (each poll reads the last hour again, newest first), and the
     * file sink writes in order: once it is there, a duplicate would be there too. Returns the rows expected now.
     */
    private static Set<String> awaitRecords(Path dir, Set<String> expected) throws IOException {
        await("every row in " + dir).atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                .until(() -> Set.copyOf(keys(dir)).equals(expected));
        FakeGraph.Row last = new FakeGraph.Row(UUID.randomUUID().toString(), "carol@contoso.com",
                Instant.now().minus(Duration.ofMinutes(40 + 3L * expected.size())), "delivered");
        api.add(last);
        await("a row added later in " + dir).atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500))
                .until(() -> keys(dir).contains(last.key()));
        Set<String> now = new HashSet<>(expected);
        now.add(last.key());
        List<String> keys = keys(dir);
        assertEquals(now, Set.copyOf(keys), "rows in " + dir);
        assertEquals(now.size(), keys.size(), "each row exactly once in " + dir + ": " + keys);
        return now;
    }

    /** The cfg, written whole and then renamed, so that Karaf never reads half a file. */
    private static void writeCfg(Path fileDir, String stateDir, String traceApi) throws IOException {
        String cfg = String.join("\n",
                "trace.api = " + traceApi,
                "trace.auth = oauth2",
                "trace.tenantId = " + FakeGraph.TENANT,
                "trace.clientId = " + FakeGraph.CLIENT_ID,
                "trace.clientSecret = " + FakeGraph.CLIENT_SECRET,
                // a Camel placeholder in a value: resolved by Camel, as in application.properties
                "trace.tokenUrl = " + api.root() + "/{{trace.tenantId}}/oauth2/v2.0/token",
                "trace.graph.baseUrl = " + api.root() + "/v1.0",
                "trace.graph.budget = 1000",
                "trace.pageSize = 2",
                "trace.pollInterval = 2s",
                "trace.delay = 1s",
                "trace.initialLookback = 1h",
                "trace.maxWindow = 1h",
                // Karaf's own placeholder: the state below Karaf's data folder, as docs/karaf.md suggests
                "trace.stateDir = ${karaf.data}/m365-trace/" + stateDir,
                "trace.file.dir = " + fileDir.toAbsolutePath(),
                "");
        Path tmp = home.resolve("etc/org.m365trace.cfg.tmp");
        Files.writeString(tmp, cfg, StandardCharsets.UTF_8);
        Files.move(tmp, home.resolve("etc/org.m365trace.cfg"), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
    }

    private static Path stateDir(String name) {
        return home.resolve("data/m365-trace").resolve(name);
    }

    /**
     * True when this process can take every lock file of a state folder ({@code lock}, {@code *.lock}): the product
     * holds them while it runs on that folder.
     */
    private static boolean locksFree(Path stateDir) throws IOException {
        List<Path> locks;
        try (Stream<Path> files = Files.list(stateDir)) {
            locks = files.filter(f -> f.getFileName().toString().matches("lock|.*\\.lock")).toList();
        }
        assertFalse(locks.isEmpty(), "lock files in " + stateDir);
        for (Path file : locks) {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE); FileLock lock = ch.tryLock()) {
                if (lock == null) {
                    return false;
                }
            }
        }
        return true;
    }

    /** messageTraceId|recipientAddress of every complete line of the trace-*.ndjson files in {@code dir}. */
    private static List<String> keys(Path dir) throws IOException {
        List<String> keys = new ArrayList<>();
        for (String line : lines(dir)) {
            JsonNode rec = JSON.readTree(line);
            keys.add(rec.get("messageTraceId").asText() + "|" + rec.get("recipientAddress").asText());
        }
        return keys;
    }

    private static List<String> lines(Path dir) throws IOException {
        List<String> lines = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return lines;
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().matches("trace-\\d{4}-\\d{2}-\\d{2}\\.ndjson")).sorted().toList()) {
                String content = Files.readString(f, StandardCharsets.UTF_8);
                content.substring(0, content.lastIndexOf('\n') + 1).lines().filter(l -> !l.isBlank()).forEach(lines::add);
            }
        }
        return lines;
    }

    /**
     * A clean Karaf on free loopback ports, with the user karaf/karaf for bin/client, and the bundle and features
     * repository just built in its system/ repository (the build installs them into ~/.m2 only after this test).
     */
    private static void prepareKaraf() throws IOException {
        deleteTree(home.resolve("data"));
        Files.deleteIfExists(home.resolve("etc/org.m365trace.cfg"));
        home.resolve("bin/karaf").toFile().setExecutable(true);
        home.resolve("bin/client").toFile().setExecutable(true);
        home.resolve("bin/stop").toFile().setExecutable(true);
        sshPort = freePort();
        edit("etc/org.apache.karaf.shell.cfg", "(?m)^sshPort\\s*=.*$", "sshPort = " + sshPort);
        edit("etc/org.apache.karaf.shell.cfg", "(?m)^sshHost\\s*=.*$", "sshHost = 127.0.0.1");
        edit("etc/org.apache.karaf.management.cfg", "(?m)^rmiRegistryPort\\s*=.*$", "rmiRegistryPort = " + freePort());
        edit("etc/org.apache.karaf.management.cfg", "(?m)^rmiServerPort\\s*=.*$", "rmiServerPort = " + freePort());
        edit("etc/users.properties", "(?m)^#karaf = karaf,_g_:admingroup$", "karaf = karaf,_g_:admingroup");
        edit("etc/users.properties", "(?m)^#_g_\\\\:admingroup = ", "_g_\\\\:admingroup = ");

        String version = System.getProperty("it.version");
        Path repo = home.resolve("system/org/m365trace/m365-trace-karaf").resolve(version);
        deleteTree(repo);
        Files.createDirectories(repo);
        Files.copy(Path.of(System.getProperty("it.bundle")), repo.resolve("m365-trace-karaf-" + version + ".jar"));
        Files.copy(Path.of(System.getProperty("it.features")), repo.resolve("m365-trace-karaf-" + version + "-features.xml"));
    }

    private static void edit(String file, String regex, String replacement) throws IOException {
        Path p = home.resolve(file);
        Files.writeString(p, Files.readString(p).replaceAll(regex, replacement));
    }

    /** {@code bin/client -b} with the commands on its standard input (closed after them), and what it printed. */
    static String client(String... commands) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(home.resolve("bin/client").toString(), "-b", "-r", "1",
                "-h", "127.0.0.1", "-a", String.valueOf(sshPort), "-u", "karaf", "-p", "karaf")
                .directory(home.toFile()).redirectErrorStream(true);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Path output = Files.createTempFile(work, "client", ".out");
        pb.redirectOutput(output.toFile());
        Process p = pb.start();
        try (OutputStream in = p.getOutputStream()) {
            in.write((String.join("\n", commands) + "\n").getBytes(StandardCharsets.UTF_8));
        }
        if (!p.waitFor(CLIENT_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        String out = Files.readString(output);
        Files.delete(output);
        return out;
    }

    private static String log() throws IOException {
        Path log = home.resolve("data/log/karaf.log");
        return Files.exists(log) ? Files.readString(log) : "";
    }

    private static String tail(Path file, int lines) {
        try {
            List<String> all = Files.readAllLines(file);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(" + file + ": " + e + ")";
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
