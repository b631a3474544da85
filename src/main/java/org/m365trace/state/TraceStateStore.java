package org.m365trace.state;

import java.net.InetAddress;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Locale;
import java.util.UUID;

import javax.sql.DataSource;

import org.m365trace.Durations;
import org.m365trace.Secret;
import org.m365trace.SettingException;
import org.m365trace.source.TraceTenants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a tenant's state lives ({@code trace.state.store}): {@code file}, in {@code trace.stateDir} (the checkpoint,
 * dedupe store and request budget keep their own files and memory; this bean then does nothing), or {@code jdbc}, in
 * PostgreSQL ({@code trace.state.jdbcUrl}), shared by every instance that has the same settings.
 * <p>
 * With {@code jdbc}, a tenant's state is written only by its holder: the instance whose row in {@code trace_lease}
 * names it, with its epoch, unexpired. Each write runs in a transaction that first checks that row ({@code FOR SHARE},
 * so a takeover waits for the write to commit): a write by an instance that lost the tenant fails
 * ({@link Fenced}) and nothing of it is stored. Without a cluster ({@code trace.cluster.enabled=false}) an instance
 * claims its tenants at their first poll, newest claim wins, and the lease does not expire; in a cluster the
 * cluster service (PgClusterService) holds the leases, renewed by heartbeat, and a tenant's poll runs only where its lease is.
 */
public class TraceStateStore {

    public static final String FILE = "file";
    public static final String JDBC = "jdbc";

    private static final Logger LOG = LoggerFactory.getLogger(TraceStateStore.class);

    private String store = FILE;
    private String jdbcUrl = "";
    private String username = "";
    private Object password = "";
    private String passwordFile = "";
    private String tenant = "";
    private String instance = "";
    private boolean cluster;
    private boolean replay;
    /** This process: two processes named alike (a restart, a copied setting) are still two holders. */
    private static final String TOKEN = UUID.randomUUID().toString().substring(0, 8);
    private Duration failoverWithin = Duration.ofSeconds(30);
    private PgClusterService clusterService;
    private PgClusterView view;

    private StatePool pool;
    private volatile long epoch;

    /** A unit of work on a connection. */
    @FunctionalInterface
    public interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    /** A failure of the state store: the poll fails, is logged once, and is retried; nothing is stored. */
    public static class StateStoreException extends RuntimeException {
        public StateStoreException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** A write by an instance that no longer holds the tenant: refused, nothing of it stored. */
    public static class Fenced extends StateStoreException {
        public Fenced(String message) {
            super(message, null);
        }
    }

    public boolean isJdbc() {
        return JDBC.equals(store);
    }

    /** The tenant's key in the tables: its name, {@code default} without tenants. */
    public String key() {
        return tenant.isEmpty() ? "default" : tenant;
    }

    public String tenant() {
        return tenant;
    }

    /** This instance as lease owner: {@code trace.instance} (or the host name) and a token of this process. */
    public String owner() {
        return instanceName() + "/" + TOKEN;
    }

    /** {@code trace.instance}, else the host name. */
    public String instanceName() {
        return instanceName(instance);
    }

    /** {@code instance}, else the host name ({@code localhost} when it cannot be read). */
    public static String instanceName(String instance) {
        if (instance != null && !instance.isBlank()) {
            return instance.strip();
        }
        return HOST_NAME == null ? "localhost" : HOST_NAME;
    }

    /**
     * This host's name, read once per process (so every folder and lease of the process has the same name, even if name
     * resolution fails later): the environment's HOSTNAME (a container's, a pod's), else what the resolver answers; null
     * when neither is there.
     */
    static final String HOST_NAME = hostName();

    private static String hostName() {
        String env = System.getenv("HOSTNAME");
        if (env != null && !env.isBlank()) {
            return env.strip();
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            return null;
        }
    }

    /** {@code store} as a value of {@code trace.state.store}: blank is file, case does not matter. */
    public static String storeOf(String store) {
        return store == null || store.isBlank() ? FILE : store.strip().toLowerCase(Locale.ROOT);
    }

    /** The epoch this instance holds the tenant with; 0 before it claimed it. */
    public long epoch() {
        return epoch;
    }

    /**
     * Before a poll: makes sure this instance holds the tenant and returns its epoch (0 with the file store). Without a
     * cluster the first call claims it (the epoch goes up by one, so a former holder's writes fail from now on), later
     * calls check that nobody claimed it since. In a cluster it is the lease the cluster service holds. Fails, and the
     * poll with it, when another instance holds the tenant.
     */
    public synchronized long claim() {
        if (!isJdbc()) {
            return 0;
        }
        long held = read(c -> {
            try (PreparedStatement p = c.prepareStatement(
                    "SELECT epoch FROM trace_lease WHERE tenant = ? AND owner = ? AND expires_at > now()")) {
                p.setString(1, key());
                p.setString(2, owner());
                try (ResultSet r = p.executeQuery()) {
                    return r.next() ? r.getLong(1) : 0L;
                }
            }
        });
        if (cluster) {
            if (held == 0) {
                epoch = 0;
                throw new Fenced("the tenant's lease is not this instance's (" + holder()
                        + "); this one does not poll or write it");
            }
            epoch = held;
            return epoch;
        }
        if (epoch != 0) {
            if (held == epoch) {
                return epoch;
            }
            // stays fenced until a restart: claiming back would take turns with the other forwarder
            throw new Fenced("the state was claimed by another forwarder (" + holder()
                    + "); this one no longer polls or writes it. Two forwarders on the same tenant without a cluster:"
                    + " give each its own tenants, or set trace.cluster.enabled=true on all (docs/scaling.md)");
        }
        epoch = write0(c -> {
            try (PreparedStatement p = c.prepareStatement("INSERT INTO trace_lease (tenant, owner, epoch, expires_at)"
                    + " VALUES (?, ?, 1, 'infinity') ON CONFLICT (tenant) DO UPDATE SET owner = EXCLUDED.owner,"
                    + " epoch = trace_lease.epoch + 1, expires_at = 'infinity', acquired_at = now() RETURNING epoch")) {
                p.setString(1, key());
                p.setString(2, owner());
                try (ResultSet r = p.executeQuery()) {
                    r.next();
                    return r.getLong(1);
                }
            }
        });
        LOG.info("{}state store: PostgreSQL, tenant claimed by {} (epoch {})", TraceTenants.label(tenant), owner(), epoch);
        return epoch;
    }

    /**
     * Before each poll, in a cluster: true when this instance does not hold the tenant's lease, and the poll is skipped
     * (quietly: another instance polls the tenant). A lease this instance was asked to give back (more than its share)
     * goes back here, between two polls. Always false without a cluster.
     */
    public boolean skips() {
        if (!isJdbc() || !cluster) {
            return false;
        }
        PgClusterView v = view();
        if (v.isReleaseRequested()) {
            v.giveBack();
            epoch = 0;
            return true;
        }
        return !v.isLeader();
    }

    /** This tenant's view of the cluster service, taken part in from the first call on. */
    synchronized PgClusterView view() {
        if (view == null) {
            clusterService = PgClusterService.shared(jdbcUrl, username, password(), owner(), failoverWithin);
            try {
                view = (PgClusterView) clusterService.getView(key());
            } catch (Exception e) {
                throw new IllegalStateException("cluster view of " + key() + ": " + e.getMessage(), e);
            }
        }
        return view;
    }

    private String password() {
        return Secret.of("trace.state.password", Secret.text(password), passwordFile).value();
    }

    /** Who holds the tenant now, for a message. */
    private String holder() {
        try {
            return read(c -> {
                try (PreparedStatement p = c.prepareStatement("SELECT owner, epoch, expires_at FROM trace_lease WHERE tenant = ?")) {
                    p.setString(1, key());
                    try (ResultSet r = p.executeQuery()) {
                        return r.next() ? r.getString(1) + ", epoch " + r.getLong(2) : "nobody";
                    }
                }
            });
        } catch (StateStoreException e) {
            return "unknown";
        }
    }

    /** Runs {@code work} on a connection of its own, committing each statement. */
    public <T> T read(Work<T> work) {
        try (Connection c = dataSource().getConnection()) {
            return work.run(c);
        } catch (SQLException e) {
            throw failed(e);
        }
    }

    /**
     * Runs {@code work} in one transaction, only if this instance still holds the tenant with its epoch: the lease row
     * is read {@code FOR SHARE} first, so a takeover (which updates it) waits until this transaction ends, and a write
     * after a takeover fails with {@link Fenced} and stores nothing.
     */
    public <T> T write(Work<T> work) {
        long mine = epoch;
        if (mine == 0) {
            throw new Fenced("the state store was not claimed by this instance");
        }
        return write0(c -> {
            try (PreparedStatement p = c.prepareStatement("SELECT 1 FROM trace_lease WHERE tenant = ? AND owner = ? AND epoch = ?"
                    + " AND expires_at > now() FOR SHARE")) {
                p.setString(1, key());
                p.setString(2, owner());
                p.setLong(3, mine);
                try (ResultSet r = p.executeQuery()) {
                    if (!r.next()) {
                        throw new Fenced("this instance no longer holds the tenant (epoch " + mine
                                + "); the write was refused, nothing of it stored");
                    }
                }
            }
            return work.run(c);
        });
    }

    private <T> T write0(Work<T> work) {
        try (Connection c = dataSource().getConnection()) {
            c.setAutoCommit(false);
            try {
                T result = work.run(c);
                c.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                try {
                    c.rollback();
                } catch (SQLException alsoBroken) {
                    e.addSuppressed(alsoBroken);
                }
                throw e;
            }
        } catch (SQLException e) {
            throw failed(e);
        }
    }

    private StateStoreException failed(SQLException e) {
        // the message of the driver names the host, never the password; the URL is not repeated (it may hold one)
        return new StateStoreException("state store (PostgreSQL) failed: " + e.getMessage(), e);
    }

    /** The pool, created at the first use: PostgreSQL down at the start fails the first poll, not the start. */
    DataSource dataSource() throws SQLException {
        StatePool p;
        synchronized (this) {
            if (pool == null) {
                pool = StatePool.acquire(jdbcUrl, username, password());
            }
            p = pool;
        }
        return p.dataSource();
    }

    /** Lets go of the pool (closed with its last user). */
    public synchronized void close() {
        if (view != null) {
            try {
                clusterService.releaseView(view);
            } catch (Exception e) {
                LOG.debug("cluster view of {}: {}", key(), e.getMessage());
            }
            clusterService.release();
            view = null;
            clusterService = null;
        }
        if (pool != null) {
            pool.release();
            pool = null;
        }
    }

    public void setStore(String store) {
        String s = storeOf(store);
        if (!FILE.equals(s) && !JDBC.equals(s)) {
            throw new SettingException("trace.state.store", "file or jdbc", store);
        }
        this.store = s;
    }

    /**
     * Checks the settings of the jdbc store (the Kamelet's init method): one line naming the setting. In a cluster,
     * takes part in the tenant's view, so that the heartbeat may take its lease before the first poll.
     */
    public void validate() {
        if (cluster && !isJdbc()) {
            throw new SettingException("trace.cluster.enabled: a cluster shares its state in PostgreSQL; set trace.state.store=jdbc"
                    + " (and trace.state.jdbcUrl) too");
        }
        if (isJdbc()) {
            SettingException.require("trace.state.jdbcUrl", jdbcUrl, "a PostgreSQL JDBC URL (jdbc:postgresql://host:5432/db)"
                    + " with trace.state.store=jdbc");
            if (!jdbcUrl.startsWith("jdbc:postgresql:")) {
                throw new SettingException("trace.state.jdbcUrl: expected a PostgreSQL JDBC URL (jdbc:postgresql://host:5432/db),"
                        + " got another kind");
            }
            if (cluster) {
                view();
            }
        }
    }

    /** trace.cluster.failoverWithin: a dead instance's tenants are taken over within this. */
    public void setFailoverWithin(String failoverWithin) {
        this.failoverWithin = Durations.parse("trace.cluster.failoverWithin", failoverWithin);
        if (this.failoverWithin.toSeconds() < 3) {
            throw new SettingException("trace.cluster.failoverWithin", "3s or more", failoverWithin);
        }
    }

    public void setJdbcUrl(String jdbcUrl) {
        this.jdbcUrl = jdbcUrl == null ? "" : jdbcUrl.strip();
    }

    public void setUsername(String username) {
        this.username = username == null ? "" : username.strip();
    }

    /** A secret: a {@link Secret} bound in the registry, or the text given. Never logged. */
    public void setPassword(Object password) {
        this.password = password == null ? "" : password;
    }

    public void setPasswordFile(String passwordFile) {
        this.passwordFile = passwordFile == null ? "" : passwordFile;
    }

    public void setTenant(String tenant) {
        this.tenant = tenant == null ? "" : tenant;
    }

    public void setInstance(String instance) {
        this.instance = instance == null ? "" : instance;
    }

    /** In a cluster the leases are the cluster service's; this store only checks them. */
    public void setCluster(boolean cluster) {
        this.cluster = cluster && !replay;
    }

    /**
     * A replay run ({@code trace.replay.from}) reads a time range once and writes no state: it takes part in no
     * cluster, so it runs beside a running cluster instead of waiting for a tenant's lease.
     */
    public void setReplayFrom(String replayFrom) {
        this.replay = replayFrom != null && !replayFrom.isBlank();
        this.cluster = cluster && !replay;
    }

    public boolean isCluster() {
        return cluster;
    }

    @Override
    public String toString() {
        return "TraceStateStore[" + store + (tenant.isEmpty() ? "" : ", " + tenant) + "]";
    }
}
