package org.m365trace.state;

import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

/**
 * The connection pools of the PostgreSQL state store, one per database and user, shared by the tenants of a process
 * (each tenant's source has a {@link TraceStateStore} of its own; a pool each would be hundreds of connections) and
 * closed when the last of them closes. The schema is migrated once per pool, at its first use.
 */
final class StatePool {

    private static final Map<String, StatePool> POOLS = new HashMap<>();

    private final String key;
    private final HikariDataSource ds;
    /** The settings of a new connection (the password with them: Hikari keeps it in the pool's settings as well). */
    private final Supplier<HikariConfig> settings;
    private int users;
    private boolean migrated;

    private StatePool(String key, HikariDataSource ds, Supplier<HikariConfig> settings) {
        this.key = key;
        this.ds = ds;
        this.settings = settings;
    }

    static synchronized StatePool acquire(String url, String username, String password) {
        String key = url + "\n" + username;
        StatePool pool = POOLS.get(key);
        if (pool == null) {
            HikariConfig c = config(url, username, password);
            c.setPoolName("trace-state");
            c.setMaximumPoolSize(10);
            c.setMinimumIdle(1);
            pool = new StatePool(key, new HikariDataSource(c), () -> config(url, username, password));
            POOLS.put(key, pool);
        }
        pool.users++;
        return pool;
    }

    /** The settings of a connection to the state database, for the shared pool and for {@link #dedicated}. */
    private static HikariConfig config(String url, String username, String password) {
        HikariConfig c = new HikariConfig();
        c.setJdbcUrl(url);
        c.setUsername(username.isEmpty() ? null : username);
        c.setPassword(password.isEmpty() ? null : password);
        // an outage fails the poll within seconds (logged once, retried at the next poll), never hangs it
        c.setConnectionTimeout(5_000);
        c.setValidationTimeout(2_000);
        c.setInitializationFailTimeout(-1);     // PostgreSQL down at start: the first poll fails, the start does not
        c.addDataSourceProperty("connectTimeout", "5");
        c.addDataSourceProperty("socketTimeout", "60");
        c.addDataSourceProperty("tcpKeepAlive", "true");
        // a session left inside a transaction (its instance lost, or cut off, mid-write) is ended by the server
        // after 10 s, releasing its lock on the tenant's lease row, which every other instance's heartbeat waits on
        c.addDataSourceProperty("options", "-c idle_in_transaction_session_timeout=10000");
        c.addDataSourceProperty("ApplicationName", "m365-trace-forwarder");
        return c;
    }

    /**
     * A connection of its own to the same database (a pool of one, reconnecting after an outage), which the polls
     * cannot take: the cluster heartbeat's, so that a burst of polls holding every pooled connection cannot cost the
     * leases. The caller closes it. The schema is migrated through {@link #dataSource()}.
     */
    HikariDataSource dedicated(String name) {
        HikariConfig c = settings.get();
        c.setPoolName(name);
        c.setMaximumPoolSize(1);
        c.setMinimumIdle(1);
        return new HikariDataSource(c);
    }

    /** The pool's data source, the schema migrated. */
    DataSource dataSource() throws SQLException {
        synchronized (this) {
            if (!migrated) {
                StateSchema.migrate(ds);
                migrated = true;
            }
        }
        return ds;
    }

    void release() {
        synchronized (StatePool.class) {
            if (--users == 0) {
                POOLS.remove(key);
                ds.close();
            }
        }
    }
}
