package org.m365trace.state;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.m365trace.SettingException;
import org.m365trace.source.RequestBudget;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The checkpoint, request budget and schema with {@code trace.state.store=jdbc}, against a real PostgreSQL; and what
 * an outage of PostgreSQL does: the writes fail (the poll with them), nothing is lost, nothing stored twice.
 */
class JdbcStateTest {

    @TempDir
    Path dir;

    @RegisterExtension
    final PostgresServer.Database db = new PostgresServer.Database();

    private TraceStateStore state(String jdbcUrl) {
        return db.state(jdbcUrl, "contoso");
    }

    private TraceCheckpoint checkpoint(TraceStateStore state) throws Exception {
        TraceCheckpoint c = new TraceCheckpoint();
        c.setStateDir(dir.resolve("state").toString());
        c.setState(state);
        c.lock();
        return c;
    }

    @Test
    void aSessionLeftInsideATransactionIsEndedByTheServer() throws Exception {
        // an instance lost mid-write must not hold the lock on a lease row, which every heartbeat waits on, for long
        StatePool pool = StatePool.acquire(db.url(), "postgres", "");
        try (var c = pool.dataSource().getConnection(); var s = c.createStatement();
                var r = s.executeQuery("SHOW idle_in_transaction_session_timeout")) {
            assertTrue(r.next());
            assertEquals("10s", r.getString(1));
        } finally {
            pool.release();
        }
    }

    @Test
    void theCheckpointMovesForwardOnlyAndANewInstanceReadsIt() throws Exception {
        TraceStateStore state = state(db.url());
        TraceCheckpoint c = checkpoint(state);
        state.claim();
        assertNull(c.read());
        Instant t1 = Instant.parse("2026-03-02T10:00:00Z");
        Instant t2 = Instant.parse("2026-03-02T11:00:00.123Z");
        c.commit(t1);
        assertEquals(t1, c.read());
        c.commit(t2);
        c.commit(t1);
        assertEquals(t2, c.read(), "never backwards");
        assertEquals(t2, checkpoint(state(db.url())).read(), "a new instance reads the saved value");
        assertFalse(Files.exists(dir.resolve("state/checkpoint")), "nothing in the state folder");
        assertFalse(Files.exists(dir.resolve("state/lock")), "no file lock: the lease is the lock");
    }

    @Test
    void aCheckpointWriteOfAnInstanceThatLostTheTenantIsRefused() throws Exception {
        TraceStateStore a = state(db.url());
        TraceCheckpoint ca = checkpoint(a);
        assertEquals(1, a.claim());
        ca.commit(Instant.parse("2026-03-02T10:00:00Z"));

        TraceStateStore b = state(db.url());
        TraceCheckpoint cb = checkpoint(b);
        assertEquals(2, b.claim(), "a new claim, a new epoch");
        assertThrows(TraceStateStore.Fenced.class, () -> ca.commit(Instant.parse("2026-03-02T12:00:00Z")));
        assertThrows(TraceStateStore.Fenced.class, a::claim, "a stays fenced: it does not claim the tenant back");
        assertEquals(Instant.parse("2026-03-02T10:00:00Z"), cb.read());
        cb.commit(Instant.parse("2026-03-02T11:00:00Z"));
        assertEquals(Instant.parse("2026-03-02T11:00:00Z"), ca.read());
    }

    @Test
    void aNewHolderPacesItsRequestsWithThoseOfTheOneBefore() {
        TraceStateStore a = state(db.url());
        a.claim();
        RequestBudget ba = budget(a);
        for (int i = 0; i < 3; i++) {
            assertEquals(0, ba.reserve());
            ba.answered();
        }
        TraceStateStore b = state(db.url());
        b.claim();
        assertTrue(budget(b).reserve() > 50_000, "the fourth request in the period waits for the first to leave it");
    }

    /**
     * The budget counts on PostgreSQL's clock: the instance before ran 3 minutes behind (its requests would look old to
     * the new holder, which would send more than the quota) or 3 minutes ahead (they would look to come, and the new
     * holder would wait minutes for nothing); either way the fourth request waits for the first to leave the period.
     */
    @Test
    void theBudgetCountsOnTheDatabasesClockNotOnTheInstancesSkewedClocks() {
        for (Duration skew : List.of(Duration.ofMinutes(-3), Duration.ofMinutes(3))) {
            String tenant = "skewed" + skew.toMinutes();
            TraceStateStore a = db.state(tenant);
            a.claim();
            RequestBudget ba = budget(a);
            ba.setClock(Clock.offset(Clock.systemUTC(), skew));
            for (int i = 0; i < 3; i++) {
                assertEquals(0, ba.reserve());
                ba.answered();
            }
            TraceStateStore b = db.state(tenant);
            b.claim();
            RequestBudget bb = budget(b);
            bb.setClock(Clock.offset(Clock.systemUTC(), skew.negated()));
            long wait = bb.reserve();
            assertTrue(wait > 50_000 && wait <= 61_000, "clocks " + skew + " apart: waits " + wait + " ms, not 0 nor minutes");
        }
    }

    private static RequestBudget budget(TraceStateStore state) {
        RequestBudget b = new RequestBudget();
        b.setRequests(3);
        b.setPeriod("1m");
        b.setState(state);
        return b;
    }

    @Test
    void instancesStartingTogetherMigrateTheSchemaOnce() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Integer>> done = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                PGSimpleDataSource ds = new PGSimpleDataSource();
                ds.setUrl(db.url());
                ds.setUser("postgres");
                done.add(pool.submit((Callable<Integer>) () -> StateSchema.migrate(ds)));
            }
            for (Future<Integer> f : done) {
                assertEquals(StateSchema.VERSIONS.size(), f.get());
            }
        } finally {
            pool.shutdown();
        }
        assertEquals(StateSchema.VERSIONS.size(), PostgresServer.count(db.url(), "SELECT count(*) FROM trace_schema"));
    }

    @Test
    void theSettingsOfTheJdbcStoreAreChecked() {
        TraceStateStore s = new TraceStateStore();
        assertThrows(SettingException.class, () -> s.setStore("redis"));
        s.setStore("jdbc");
        assertTrue(assertThrows(SettingException.class, s::validate).getMessage().startsWith("trace.state.jdbcUrl:"));
        s.setJdbcUrl("jdbc:mysql://x/y");
        assertThrows(SettingException.class, s::validate);
        TraceStateStore file = new TraceStateStore();
        file.validate();
        assertEquals(0, file.claim(), "the file store claims nothing");
        file.setCluster(true);
        assertTrue(assertThrows(SettingException.class, file::validate).getMessage().startsWith("trace.cluster.enabled:"),
                "a cluster needs the jdbc store");
        TraceStateStore replay = new TraceStateStore();
        replay.setStore("jdbc");
        replay.setJdbcUrl(db.url());
        replay.setCluster(true);
        replay.setReplayFrom("2026-03-02T10:00:00Z");
        replay.validate();
        assertFalse(replay.skips(), "a replay takes part in no cluster: it never waits for a lease");
    }

    /**
     * PostgreSQL stops in the middle of a poll: the sinks took a page, its keys cannot be stored, the window cannot be
     * committed. The poll fails; the keys stay known (their records are not forwarded again), and are stored once
     * PostgreSQL is back; the checkpoint stays, so the window is read again. Nothing lost, nothing doubled.
     */
    @Test
    void aRestartOfPostgresLosesNothingAndDoublesNothing() throws Exception {
        try (PostgresServer pg = PostgresServer.start()) {
            String own = pg.newDatabase();
            TraceStateStore state = state(own);
            TraceCheckpoint checkpoint = checkpoint(state);
            TraceSeenRepository seen = new TraceSeenRepository();
            seen.setFileStore(dir.resolve("seen.dat").toString());
            seen.setState(state);
            seen.start();
            seen.sync();
            seen.add("k1");
            seen.commit("k1");
            checkpoint.commit(Instant.parse("2026-03-02T10:00:00Z"));

            pg.stop("immediate");                                    // as a crash of the database
            assertThrows(TraceStateStore.StateStoreException.class, seen::sync, "the next poll fails");
            assertTrue(seen.add("k2"));                              // a poll already under way: the sinks take k2 ...
            assertThrows(TraceStateStore.StateStoreException.class, () -> seen.commit("k2"));   // ... not stored
            seen.rollback();                                         // the poll's failure handling
            assertThrows(TraceStateStore.StateStoreException.class,
                    () -> checkpoint.commit(Instant.parse("2026-03-02T11:00:00Z")));
            assertFalse(seen.add("k2"), "k2 went to the sinks: not forwarded again while PostgreSQL is away");

            pg.startServer();
            // the next poll that finds PostgreSQL taking connections again (a poll in between fails, as any poll
            // during the outage: the pool reconnects in the background): k2 is stored now
            await().atMost(Duration.ofSeconds(60)).ignoreExceptionsInstanceOf(TraceStateStore.StateStoreException.class)
                    .untilAsserted(seen::sync);
            assertEquals(2, PostgresServer.count(own, "SELECT count(*) FROM trace_seen"));
            assertEquals(Instant.parse("2026-03-02T10:00:00Z"), checkpoint.read(), "the window is read again");
            assertFalse(seen.add("k2"));
            assertTrue(seen.add("k3"));
            seen.commit("k3");

            TraceSeenRepository restarted = new TraceSeenRepository();   // and after a restart of the forwarder
            restarted.setState(state(own));
            restarted.start();
            restarted.sync();
            for (String k : List.of("k1", "k2", "k3")) {
                assertTrue(restarted.contains(k), k);
            }
        }
    }
}
