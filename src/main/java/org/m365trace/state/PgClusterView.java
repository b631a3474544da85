package org.m365trace.state;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.camel.cluster.CamelClusterMember;
import org.apache.camel.support.cluster.AbstractCamelClusterView;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One namespace (a tenant) of {@link PgClusterService}: this instance leads it while it holds the namespace's lease
 * row in {@code trace_lease}, with the epoch it took it with. Leadership changes are told to the view's listeners
 * (Camel's cluster events), and asked by the tenant's source before each poll ({@link TraceStateStore#skips}).
 */
public class PgClusterView extends AbstractCamelClusterView {

    private static final Logger LOG = LoggerFactory.getLogger(PgClusterView.class);

    private final PgClusterService service;
    private final CamelClusterMember local;
    private volatile long epoch;
    /** System.nanoTime() when the last successful renewal (or the taking) began. */
    private volatile long renewedAt;
    private volatile boolean releaseRequested;
    /**
     * The epoch of a lease this instance stopped leading without the database knowing (the watchdog stepped down while
     * PostgreSQL was away or slow, or a renewal landed after the step-down): expired at the next heartbeat, so that the
     * row does not say "this instance" for a lease time while it does not poll the tenant. 0: none.
     */
    private final AtomicLong steppedDown = new AtomicLong();

    PgClusterView(PgClusterService service, String namespace) {
        super(service, namespace);
        this.service = service;
        this.local = new CamelClusterMember() {
            @Override
            public boolean isLeader() {
                return PgClusterView.this.isLeader();
            }

            @Override
            public boolean isLocal() {
                return true;
            }

            @Override
            public String getId() {
                return service.owner();
            }
        };
    }

    public boolean isLeader() {
        return epoch != 0;
    }

    /** The epoch of the lease held; 0 when not the leader. */
    public long epoch() {
        return epoch;
    }

    @Override
    public Optional<CamelClusterMember> getLeader() {
        return isLeader() ? Optional.of(local) : Optional.empty();
    }

    @Override
    public CamelClusterMember getLocalMember() {
        return local;
    }

    @Override
    public List<CamelClusterMember> getMembers() {
        return List.of(local);
    }

    @Override
    protected void doStart() throws Exception {
        // leadership comes with the service's next heartbeat
    }

    @Override
    protected void doStop() throws Exception {
        giveBack();
    }

    boolean isReleaseRequested() {
        return releaseRequested;
    }

    /** This instance holds more than its share: the lease goes back at the tenant's next poll. */
    void requestRelease() {
        releaseRequested = true;
    }

    /** Extends the lease held; a lease found taken (or gone) is lost. */
    void renew(Connection c, long began) throws SQLException {
        long mine = epoch;
        if (mine == 0) {
            return;                 // stepped down meanwhile (the watchdog)
        }
        try (PreparedStatement p = c.prepareStatement("UPDATE trace_lease SET expires_at = now() + ?::interval"
                + " WHERE tenant = ? AND owner = ? AND epoch = ? AND expires_at > now()")) {
            p.setString(1, service.lease().toMillis() + " milliseconds");
            p.setString(2, getNamespace());
            p.setString(3, service.owner());
            p.setLong(4, mine);
            if (p.executeUpdate() == 1) {
                renewedAt = began;
                if (epoch != mine) {
                    // stepped down (or gave it back) while this renewal waited: the row must not outlive the leadership
                    expire(c, mine);
                }
            } else if (epoch == mine) {
                lost("its lease expired or was taken");
            }
        }
    }

    /** Expires the lease this instance stepped down from without the database knowing, if nobody took it since. */
    void expireSteppedDown(Connection c) throws SQLException {
        long stale = steppedDown.getAndSet(0);
        if (stale == 0) {
            return;
        }
        try {
            expire(c, stale);
        } catch (SQLException e) {
            steppedDown.compareAndSet(0, stale);      // the next heartbeat tries again
            throw e;
        }
    }

    /**
     * Ends the lease of epoch {@code stale} now, if it is still this instance's and unexpired: the tenant is free at
     * once, for this instance's next take (a new epoch: writes of the old one stay fenced) or another's.
     */
    private void expire(Connection c, long stale) throws SQLException {
        try (PreparedStatement p = c.prepareStatement("UPDATE trace_lease SET expires_at = now()"
                + " WHERE tenant = ? AND owner = ? AND epoch = ? AND expires_at > now()")) {
            p.setString(1, getNamespace());
            p.setString(2, service.owner());
            p.setLong(3, stale);
            if (p.executeUpdate() == 1) {
                LOG.info("cluster {}: freed tenant {} (lease epoch {}), which it had stopped polling", service.owner(),
                        getNamespace(), stale);
            }
        }
    }

    /** Takes the lease if it is free (never taken, expired or given back): a new epoch. */
    boolean tryAcquire(Connection c, long began) throws SQLException {
        try (PreparedStatement p = c.prepareStatement("INSERT INTO trace_lease (tenant, owner, epoch, expires_at)"
                + " VALUES (?, ?, 1, now() + ?::interval) ON CONFLICT (tenant) DO UPDATE SET owner = EXCLUDED.owner,"
                + " epoch = trace_lease.epoch + 1, expires_at = EXCLUDED.expires_at, acquired_at = now()"
                + " WHERE trace_lease.expires_at < now() RETURNING epoch")) {
            p.setString(1, getNamespace());
            p.setString(2, service.owner());
            p.setString(3, service.lease().toMillis() + " milliseconds");
            try (ResultSet r = p.executeQuery()) {
                if (!r.next()) {
                    return false;
                }
                renewedAt = began;
                releaseRequested = false;
                epoch = r.getLong(1);
            }
        }
        LOG.info("cluster {}: now polls tenant {} (lease epoch {})", service.owner(), getNamespace(), epoch);
        fireLeadershipChangedEvent(local);
        return true;
    }

    /** A leader that could not renew for a lease time minus a heartbeat steps down before its lease can expire. */
    void stepDownIfStale(Duration heartbeat) {
        if (isLeader() && System.nanoTime() - renewedAt > service.lease().minus(heartbeat).toNanos()) {
            lost("its lease could not be renewed for " + service.lease().minus(heartbeat).toSeconds() + " s");
        }
    }

    /** Gives the lease back (a clean stop, or more than this instance's share): another instance takes it at once. */
    synchronized void giveBack() {
        long mine = epoch;
        if (mine == 0) {
            return;
        }
        epoch = 0;
        releaseRequested = false;
        try (Connection c = service.dataSource().getConnection(); PreparedStatement p = c.prepareStatement(
                "UPDATE trace_lease SET expires_at = now() WHERE tenant = ? AND owner = ? AND epoch = ?")) {
            p.setString(1, getNamespace());
            p.setString(2, service.owner());
            p.setLong(3, mine);
            p.executeUpdate();
            LOG.info("cluster {}: gave tenant {} back (lease epoch {})", service.owner(), getNamespace(), mine);
        } catch (SQLException e) {
            LOG.info("cluster {}: could not give tenant {} back ({}); its lease expires by itself", service.owner(),
                    getNamespace(), e.getMessage());
        }
        fireLeadershipChangedEvent((CamelClusterMember) null);
    }

    private void lost(String why) {
        long mine = epoch;
        epoch = 0;
        if (mine != 0) {
            steppedDown.set(mine);
        }
        releaseRequested = false;
        LOG.warn("cluster {}: no longer polls tenant {}: {}", service.owner(), getNamespace(), why);
        fireLeadershipChangedEvent((CamelClusterMember) null);
    }
}
