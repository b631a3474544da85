package org.m365trace.state;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real PostgreSQL 15 for tests: {@code initdb} into a temporary folder and {@code pg_ctl} on a free loopback port,
 * as the {@code postgres} user when the tests run as root (PostgreSQL refuses to run as root). Skips the test, saying
 * why, only when the binaries are absent ({@code apt-get install -y postgresql}; {@code .ci/run} installs them).
 * <p>
 * {@link #shared()} is one server for the whole test JVM (each test class takes a database of its own with
 * {@link #newDatabase}); a test that stops or restarts the server starts one of its own with {@link #start()}.
 * {@link Database} is the usual fixture of a state test: a new database per test and the state stores made on it.
 */
public final class PostgresServer implements AutoCloseable {

    static final Path BIN = Path.of(System.getProperty("trace.test.pgBin", "/usr/lib/postgresql/15/bin"));
    private static final boolean ROOT = "root".equals(System.getProperty("user.name"));
    private static final AtomicInteger DATABASES = new AtomicInteger();
    private static PostgresServer shared;

    private final Path dir;
    private final int port;

    private PostgresServer(Path dir, int port) {
        this.dir = dir;
        this.port = port;
    }

    /** The server of this test JVM, started at the first call and stopped when the JVM ends. */
    public static synchronized PostgresServer shared() throws Exception {
        if (shared == null) {
            shared = start();
            PostgresServer s = shared;
            Runtime.getRuntime().addShutdownHook(new Thread(s::close));
        }
        return shared;
    }

    /** A server of its own: initdb, then started. */
    public static PostgresServer start() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(BIN.resolve("initdb")) && Files.isExecutable(BIN.resolve("pg_ctl")),
                "PostgreSQL 15 is not installed (" + BIN + "/initdb): apt-get update && apt-get install -y postgresql;"
                        + " .ci/run installs it");
        Path dir = Files.createTempDirectory("trace-pg-");
        if (ROOT) {
            run(List.of("chown", "postgres:postgres", dir.toString()), false);
        }
        run(List.of(BIN.resolve("initdb").toString(), "-D", dir.resolve("data").toString(), "-U", "postgres", "-A", "trust",
                "-E", "UTF8", "--no-sync", "--no-instructions"), true);
        PostgresServer server = new PostgresServer(dir, freePort());
        server.startServer();
        return server;
    }

    /** Starts the server (again, after {@link #stop()}): on the same port, with its data. */
    public void startServer() throws IOException, InterruptedException {
        run(List.of(BIN.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-l", dir.resolve("log").toString(),
                "-w", "-t", "60", "-o", "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c fsync=off"
                        + " -c max_connections=200", "start"), true);
    }

    /** Stops the server: {@code fast} (clients cut off, a clean shutdown) or {@code immediate} (as a crash). */
    public void stop(String mode) throws IOException, InterruptedException {
        run(List.of(BIN.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m", mode, "-w", "stop"), true);
    }

    public void stop() throws IOException, InterruptedException {
        stop("fast");
    }

    public int port() {
        return port;
    }

    public String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    /** A new empty database; its JDBC URL (user postgres, no password). */
    public String newDatabase() throws SQLException {
        String name = "trace_test_" + ProcessHandle.current().pid() + "_" + DATABASES.incrementAndGet();
        try (Connection c = connect("postgres"); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        }
        return jdbcUrl(name);
    }

    public Connection connect(String database) throws SQLException {
        return DriverManager.getConnection(jdbcUrl(database), "postgres", "");
    }

    /** The first column of the first row of {@code sql} in the database of {@code jdbcUrl}. */
    public static long count(String jdbcUrl, String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(jdbcUrl, "postgres", ""); Statement s = c.createStatement();
                ResultSet r = s.executeQuery(sql)) {
            r.next();
            return r.getLong(1);
        }
    }

    /** The server's log, for a failed test's message. */
    public String log() throws IOException {
        Path log = dir.resolve("log");
        return Files.exists(log) ? Files.readString(log) : "";
    }

    @Override
    public void close() {
        try {
            if (Files.exists(dir.resolve("data/postmaster.pid"))) {
                stop("immediate");
            }
        } catch (Exception ignored) {
            // the folder goes anyway
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // a temporary folder
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Runs a PostgreSQL command, as user postgres when root; fails with its output. */
    private static void run(List<String> command, boolean asPostgres) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        if (asPostgres && ROOT) {
            cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        cmd.addAll(command);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + out);
        }
    }

    /**
     * The fixture of the PostgreSQL state tests ({@code @RegisterExtension}): before each test a new database of the
     * {@link #shared()} server ({@link #url()}), and the {@code trace.state.store=jdbc} stores a test makes with
     * {@link #state}, closed after it.
     */
    public static final class Database implements BeforeEachCallback, AfterEachCallback {

        private String url;
        private final List<TraceStateStore> states = new ArrayList<>();

        @Override
        public void beforeEach(ExtensionContext context) throws Exception {
            url = shared().newDatabase();
        }

        @Override
        public void afterEach(ExtensionContext context) {
            states.forEach(TraceStateStore::close);
            states.clear();
        }

        /** The JDBC URL of this test's database. */
        public String url() {
            return url;
        }

        /** The name of this test's database. */
        public String name() {
            return url.substring(url.lastIndexOf('/') + 1);
        }

        /** A new state store (a new process, as far as PostgreSQL can tell) of {@code tenant} on this test's database. */
        public TraceStateStore state(String tenant) {
            return state(url, tenant);
        }

        /** A new state store of {@code tenant} on the database of {@code jdbcUrl}, instance {@code test}, closed after the test. */
        public TraceStateStore state(String jdbcUrl, String tenant) {
            TraceStateStore s = new TraceStateStore();
            s.setStore("jdbc");
            s.setJdbcUrl(jdbcUrl);
            s.setUsername("postgres");
            s.setTenant(tenant);
            s.setInstance("test");
            s.validate();
            states.add(s);
            return s;
        }
    }
}
