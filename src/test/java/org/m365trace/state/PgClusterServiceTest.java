package org.m365trace.state;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import javax.sql.DataSource;

import org.apache.camel.cluster.CamelClusterEventListener;
import org.junit.jupiter.api.Test;

/**
 * The PostgreSQL cluster service: instances divide the namespaces, a halted instance's leases are taken over within a
 * lease and a heartbeat, and a leader cut off from PostgreSQL steps down before its lease can expire.
 */
class PgClusterServiceTest {

    private static final List<String> TENANTS = List.of("a", "b", "c", "d");

    private static List<PgClusterView> join(PgClusterService service) throws Exception {
        List<PgClusterView> views = new ArrayList<>();
        for (String t : TENANTS) {
            views.add((PgClusterView) service.getView(t));
        }
        return views;
    }

    /** The views of the tenants, once the service leads them all (the only instance). */
    private static List<PgClusterView> leadingAll(PgClusterService service) throws Exception {
        List<PgClusterView> views = join(service);
        await().atMost(Duration.ofSeconds(10)).until(() -> led(views) == 4);
        return views;
    }

    private static long led(List<PgClusterView> views) {
        return views.stream().filter(PgClusterView::isLeader).count();
    }

    @Test
    void instancesDivideTheTenantsAndTakeOverFromAHaltedOne() throws Exception {
        String url = PostgresServer.shared().newDatabase();
        PgClusterService one = PgClusterService.shared(url, "postgres", "", "one/x", Duration.ofSeconds(3));
        PgClusterService two = PgClusterService.shared(url, "postgres", "", "two/x", Duration.ofSeconds(3));
        try {
            List<PgClusterView> a = join(one);
            List<CamelClusterEventListener.Leadership> heard = new CopyOnWriteArrayList<>();
            List<String> events = new CopyOnWriteArrayList<>();
            a.get(0).addEventListener((CamelClusterEventListener.Leadership) (view, leader) ->
                    events.add(view.getNamespace() + ":" + (leader != null)));
            List<PgClusterView> b = join(two);
            await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
                assertEquals(2, led(a), "one holds its share");
                assertEquals(2, led(b), "two holds its share");
            });
            for (int i = 0; i < TENANTS.size(); i++) {
                assertTrue(a.get(i).isLeader() != b.get(i).isLeader(), "one leader of " + TENANTS.get(i));
            }
            // surplus leases go back only when asked between two polls (TraceStateStore.skips): do it here
            // one halts as at a kill -9: its leases expire (2 s) and two takes them within a heartbeat (0.5 s)
            one.halt();
            long halted = System.nanoTime();
            await().atMost(Duration.ofSeconds(5)).until(() -> led(b) == 4);
            assertTrue(Duration.ofNanos(System.nanoTime() - halted).compareTo(Duration.ofSeconds(3)) <= 0, "within failoverWithin");
            assertFalse(events.isEmpty(), "leadership events told");
        } finally {
            one.release();
            two.release();
        }
    }

    @Test
    void aLeaderCutOffFromPostgresStepsDownBeforeItsLeaseExpires() throws Exception {
        try (PostgresServer pg = PostgresServer.start()) {
            String url = pg.newDatabase();
            PgClusterService one = PgClusterService.shared(url, "postgres", "", "one/y", Duration.ofSeconds(3));
            try {
                List<PgClusterView> a = leadingAll(one);
                pg.stop("immediate");
                long cut = System.nanoTime();
                // lease 2 s, heartbeat 0.5 s: given up 1.5 s after the last renewal began, before the database frees it
                await().atMost(Duration.ofSeconds(10)).until(() -> led(a) == 0);
                assertTrue(Duration.ofNanos(System.nanoTime() - cut).compareTo(Duration.ofSeconds(2)) < 0,
                        "stepped down before the lease could expire");
                pg.startServer();
                await().atMost(Duration.ofSeconds(15)).until(() -> led(a) == 4);
            } finally {
                one.release();
            }
        }
    }

    /**
     * A renewal held up (here by a lock on the lease rows) lands after the watchdog stepped the leader down: the rows
     * must not go on saying "this instance" for a lease time while nobody polls the tenants. They are freed, and taken
     * again, at once.
     */
    @Test
    void aRenewalThatLandsAfterTheStepDownDoesNotLeaveTheTenantsWithoutALeader() throws Exception {
        String url = PostgresServer.shared().newDatabase();
        // lease 20 s, heartbeat 5 s: the watchdog steps down 15 s after the last renewal began
        PgClusterService one = PgClusterService.shared(url, "postgres", "", "one/r", Duration.ofSeconds(30));
        try (Connection locker = DriverManager.getConnection(url, "postgres", "")) {
            List<PgClusterView> a = leadingAll(one);
            long before = PostgresServer.count(url, "SELECT max(epoch) FROM trace_lease");
            locker.setAutoCommit(false);
            try (Statement s = locker.createStatement()) {
                s.execute("SELECT * FROM trace_lease FOR UPDATE");         // the next renewal waits on these rows
            }
            await().atMost(Duration.ofSeconds(25)).until(() -> led(a) == 0);
            locker.commit();                                                 // the renewal goes through, too late
            // without freeing the rows: nobody could take the tenants for about 10 s more
            await().atMost(Duration.ofSeconds(4)).until(() -> led(a) == 4);
            assertTrue(PostgresServer.count(url, "SELECT min(epoch) FROM trace_lease") > before,
                    "taken anew: writes under the old epoch stay fenced");
        } finally {
            one.release();
        }
    }

    /**
     * The polls hold every connection of the shared pool (a takeover burst of loads) for longer than a lease: the
     * heartbeat, on a connection of its own, still renews, and no tenant is given up.
     */
    @Test
    void theHeartbeatRenewsWhileThePollsHoldEveryPooledConnection() throws Exception {
        String url = PostgresServer.shared().newDatabase();
        PgClusterService one = PgClusterService.shared(url, "postgres", "", "one/p", Duration.ofSeconds(3));
        List<Connection> held = new ArrayList<>();
        try {
            List<PgClusterView> a = leadingAll(one);
            DataSource polls = one.dataSource();
            for (int i = 0; i < 10; i++) {
                held.add(polls.getConnection());
            }
            // lease 2 s, heartbeat 0.5 s: a heartbeat without a connection would step down within 1.5 s
            await().during(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(6)).until(() -> led(a) == 4);
        } finally {
            for (Connection c : held) {
                c.close();
            }
            one.release();
        }
    }
}
