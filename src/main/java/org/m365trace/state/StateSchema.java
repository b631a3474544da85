package org.m365trace.state;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

import javax.sql.DataSource;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates and migrates the state schema in PostgreSQL: the files {@code db/trace-state/V<n>__<what>.sql} of
 * {@link #VERSIONS}, each applied once, in order, in one transaction with its row in {@code trace_schema}. Instances
 * starting together take turns on a transaction-scoped advisory lock, so each version is applied exactly once.
 * <p>
 * A dozen lines instead of Flyway: Flyway 10+ needs a database module and Jackson's TOML besides its core, and finds
 * its scripts by scanning the class path, which a Karaf bundle's embedded jars do not allow; the versions here are
 * named, not scanned.
 */
public final class StateSchema {

    private static final Logger LOG = LoggerFactory.getLogger(StateSchema.class);

    /** The migrations, oldest first; the position + 1 is the version. Add, never edit or remove. */
    static final List<String> VERSIONS = List.of("V1__state.sql", "V2__cluster.sql");

    /** Any number the other users of the database are unlikely to take for their advisory locks. */
    private static final long LOCK = 0x6d333635_74726163L;   // "m365trac"

    private StateSchema() {
    }

    /** Brings the schema to the newest version; returns it. */
    public static int migrate(DataSource ds) throws SQLException {
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.execute("SELECT pg_advisory_xact_lock(" + LOCK + ")");
                s.execute("CREATE TABLE IF NOT EXISTS trace_schema (version int PRIMARY KEY, script text NOT NULL,"
                        + " applied_at timestamptz NOT NULL DEFAULT now())");
                int current;
                try (ResultSet r = s.executeQuery("SELECT coalesce(max(version), 0) FROM trace_schema")) {
                    r.next();
                    current = r.getInt(1);
                }
                if (current > VERSIONS.size()) {
                    throw new SQLException("the state schema is at version " + current + ", newer than this forwarder knows ("
                            + VERSIONS.size() + "): run the newer forwarder, or a database of this one's own");
                }
                for (int v = current + 1; v <= VERSIONS.size(); v++) {
                    String script = VERSIONS.get(v - 1);
                    s.execute(read(script));
                    try (PreparedStatement p = c.prepareStatement("INSERT INTO trace_schema (version, script) VALUES (?, ?)")) {
                        p.setInt(1, v);
                        p.setString(2, script);
                        p.executeUpdate();
                    }
                    LOG.info("state store: schema migrated to version {} ({})", v, script);
                }
                c.commit();
                return VERSIONS.size();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        }
    }

    private static String read(String script) {
        try (InputStream in = StateSchema.class.getResourceAsStream("/db/trace-state/" + script)) {
            if (in == null) {
                throw new IllegalStateException("db/trace-state/" + script + " is missing from the library");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
