package org.m365trace.state;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import org.apache.camel.support.cluster.AbstractCamelClusterService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.zaxxer.hikari.HikariDataSource;

/**
 * A Camel cluster service whose views are leases in PostgreSQL ({@code trace_lease}, one row per namespace: a tenant):
 * the leader of a view is the owner of its unexpired lease. A heartbeat every quarter of the lease time renews the
 * leases this instance holds and its row in {@code trace_member}, and takes free ones
 * ({@code UPDATE ... WHERE expires_at < now()}, the epoch up by one) while this instance holds fewer than its share
 * (the views divided by the live members, rounded up); above its share it gives leases back, each at its tenant's next
 * poll (so never in the middle of one). The lease lasts two thirds of {@code trace.cluster.failoverWithin}: a dead
 * instance's tenants are taken within a lease time and a heartbeat.
 * <p>
 * A leader that cannot renew (PostgreSQL away, a partition) steps down on its own once a lease time minus a
 * heartbeat has passed since its last renewal began, before the lease can expire in the database, so two instances
 * never both think they lead; and its state writes are fenced by the lease's epoch in any case.
 * <p>
 * The heartbeat has a connection of its own ({@link StatePool#dedicated}): the polls share the pool's ten, and a burst
 * of them (an instance taking many tenants over loads each one's state) must not keep the heartbeat waiting for a
 * connection until its leases are lost. A leader that stepped down without the database knowing (the watchdog, while
 * PostgreSQL was slow or away, or a renewal that landed after the step-down) frees its lease rows at the next
 * heartbeat, so the tenant is not left without a leader for a lease time.
 * <p>
 * One service per database, user and instance name in a process ({@link #shared}), shared by the tenants' sources.
 */
public class PgClusterService extends AbstractCamelClusterService<PgClusterView> {

    private static final Logger LOG = LoggerFactory.getLogger(PgClusterService.class);
    private static final Map<String, PgClusterService> SHARED = new HashMap<>();

    private final String key;
    private final StatePool pool;
    private final String owner;
    private final Duration lease;
    private final Duration heartbeat;
    private ScheduledExecutorService scheduler;
    /** The heartbeat's own connection: the polls, however many, cannot hold it up. */
    private HikariDataSource heartbeatConnection;
    private int users;
    private volatile boolean databaseAway;
    private final List<PgClusterView> views = new CopyOnWriteArrayList<>();

    PgClusterService(String key, StatePool pool, String owner, Duration failoverWithin) {
        super("trace-pg-" + owner);
        this.key = key;
        this.pool = pool;
        this.owner = owner;
        this.lease = failoverWithin.multipliedBy(2).dividedBy(3);
        this.heartbeat = lease.dividedBy(4);
    }

    /** The service of this process for the database and instance, started; {@link #release()} it when done. */
    static synchronized PgClusterService shared(String jdbcUrl, String username, String password, String owner,
            Duration failoverWithin) {
        String key = jdbcUrl + "\n" + username + "\n" + owner;
        PgClusterService service = SHARED.get(key);
        if (service == null) {
            service = new PgClusterService(key, StatePool.acquire(jdbcUrl, username, password), owner, failoverWithin);
            service.start();
            SHARED.put(key, service);
        }
        service.users++;
        return service;
    }

    void release() {
        synchronized (PgClusterService.class) {
            if (--users == 0) {
                SHARED.remove(key);
                stop();
                pool.release();
            }
        }
    }

    @Override
    protected PgClusterView createView(String namespace) {
        PgClusterView view = new PgClusterView(this, namespace);
        views.add(view);
        return view;
    }

    DataSource dataSource() throws SQLException {
        return pool.dataSource();
    }

    String owner() {
        return owner;
    }

    Duration lease() {
        return lease;
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        heartbeatConnection = pool.dedicated("trace-cluster-heartbeat");
        // two threads: a heartbeat stuck on an unreachable database (connect and socket time-outs are seconds) must not
        // hold up the watchdog that steps down from leases that could not be renewed
        scheduler = Executors.newScheduledThreadPool(2, r -> {
            Thread t = new Thread(r, "trace-cluster-heartbeat");
            t.setDaemon(true);
            return t;
        });
        scheduler.scheduleWithFixedDelay(this::beat, 0, heartbeat.toMillis(), TimeUnit.MILLISECONDS);
        scheduler.scheduleWithFixedDelay(this::watch, heartbeat.toMillis() / 4, heartbeat.toMillis() / 4, TimeUnit.MILLISECONDS);
    }

    @Override
    protected void doStop() throws Exception {
        if (scheduler != null) {
            scheduler.shutdownNow();
            scheduler.awaitTermination(5, TimeUnit.SECONDS);
            scheduler = null;
        }
        if (heartbeatConnection != null) {
            heartbeatConnection.close();
            heartbeatConnection = null;
        }
        // a clean stop gives the leases back at once: the others take the tenants at their next heartbeat
        for (PgClusterView view : views()) {
            view.giveBack();
        }
        super.doStop();
        try (Connection c = pool.dataSource().getConnection(); PreparedStatement p = c.prepareStatement(
                "DELETE FROM trace_member WHERE owner = ?")) {
            p.setString(1, owner);
            p.executeUpdate();
        } catch (SQLException e) {
            LOG.debug("cluster: leaving the members failed: {}", e.getMessage());
        }
    }

    /** Stops the heartbeat and nothing else, as a kill -9 would (tests): the leases expire by themselves. */
    void halt() {
        scheduler.shutdownNow();
    }

    /** The views this instance takes part in (started: a tenant's source uses it). */
    List<PgClusterView> views() {
        List<PgClusterView> started = new ArrayList<>();
        for (PgClusterView v : views) {
            if (v.isRunAllowed()) {
                started.add(v);
            }
        }
        return started;
    }

    /** One heartbeat: the member row, the leases held renewed, free ones taken up to the share, surplus marked. */
    void beat() {
        long began = System.nanoTime();
        List<PgClusterView> views = views();
        try {
            pool.dataSource();              // the schema migrated
            int members;
            try (Connection c = heartbeatConnection.getConnection()) {
                try (PreparedStatement p = c.prepareStatement("INSERT INTO trace_member (owner, expires_at) VALUES (?, now() + ?::interval)"
                        + " ON CONFLICT (owner) DO UPDATE SET expires_at = EXCLUDED.expires_at")) {
                    p.setString(1, owner);
                    p.setString(2, lease.toMillis() + " milliseconds");
                    p.executeUpdate();
                }
                try (PreparedStatement p = c.prepareStatement("SELECT count(*) FROM trace_member WHERE expires_at > now()");
                        ResultSet r = p.executeQuery()) {
                    r.next();
                    members = Math.max(1, r.getInt(1));
                }
                for (PgClusterView v : views) {
                    if (v.isLeader()) {
                        v.renew(c, began);
                    }
                }
                for (PgClusterView v : views) {
                    v.expireSteppedDown(c);
                }
                int share = (views.size() + members - 1) / members;
                int held = (int) views.stream().filter(PgClusterView::isLeader).count();
                for (PgClusterView v : views) {
                    if (held >= share) {
                        break;
                    }
                    if (!v.isLeader() && v.tryAcquire(c, began)) {
                        held++;
                    }
                }
                for (PgClusterView v : views) {
                    if (held <= share) {
                        break;
                    }
                    if (v.isLeader() && !v.isReleaseRequested()) {
                        v.requestRelease();
                        held--;
                    }
                }
            }
            if (databaseAway) {
                LOG.info("cluster {}: PostgreSQL answers again", owner);
                databaseAway = false;
            }
        } catch (SQLException | RuntimeException e) {
            if (!databaseAway) {
                LOG.warn("cluster {}: heartbeat failed, leases not renewed ({}); a lease not renewed for {} s is given up",
                        owner, e.getMessage(), lease.minus(heartbeat).toSeconds());
                databaseAway = true;
            }
        }
    }

    /** Steps down from every lease not renewed for a lease time minus a heartbeat, whatever the heartbeat is doing. */
    void watch() {
        for (PgClusterView v : views()) {
            v.stepDownIfStale(heartbeat);
        }
    }
}
