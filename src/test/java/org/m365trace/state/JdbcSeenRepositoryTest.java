package org.m365trace.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The dedupe store's rules ({@link TraceSeenRepositoryTest}, whose cases run here too) with its keys in PostgreSQL
 * ({@code trace.state.store=jdbc}); a restart is a new store and state bean (a new process) that claims the tenant.
 * Plus what only a shared store has: an instance that lost the tenant stores nothing, and no key is stored twice.
 */
class JdbcSeenRepositoryTest extends TraceSeenRepositoryTest {

    @RegisterExtension
    final PostgresServer.Database db = new PostgresServer.Database();

    TraceStateStore state(String tenant) {
        return db.state(tenant);
    }

    @Override
    protected TraceSeenRepository open(int cacheSize) {
        return open(cacheSize, state("t"));
    }

    private TraceSeenRepository open(int cacheSize, TraceStateStore state) {
        TraceSeenRepository repo = new TraceSeenRepository();
        repo.setFileStore(dir.resolve("seen.dat").toString());
        repo.setCacheSize(cacheSize);
        repo.setState(state);
        repo.start();
        repo.sync();                  // the poll's first step
        return repo;
    }

    @Override
    protected long storedKeys() throws Exception {
        return PostgresServer.count(db.url(), "SELECT count(*) FROM trace_seen WHERE tenant = 't'");
    }

    // the file's own crash cases: a database has no cut lines or half-done compactions
    @Override
    void aKeyLineCutShortByACrashIsDroppedAndTheFileStaysWhole() {
    }

    @Override
    void aCompactionThatACrashInterruptedLeavesTheOldStore() {
    }

    @Override                                   // the file's writer: a database write that fails is JdbcStateTest's
    void aCommitWhoseWriteFailsForgetsNoneOfItsKeys() {
    }

    @Test
    void nothingIsWrittenToTheStateFolder() {
        TraceSeenRepository repo = open(100);
        repo.add("k1");
        repo.commit("k1");
        repo.carryBound();
        assertFalse(java.nio.file.Files.exists(dir.resolve("seen.dat")));
    }

    @Test
    void anInstanceThatLostTheTenantStoresNothingAndTheNewHolderForwardsItsUncommittedKeys() throws Exception {
        TraceSeenRepository a = open(100);
        assertTrue(a.add("k1"));
        a.commit("k1");
        assertTrue(a.add("k2"));                        // a's page with k2 is in flight ...

        TraceSeenRepository b = open(100);              // ... when b takes the tenant over (a newer claim)
        assertTrue(b.contains("k1"), "stored by a before the takeover");
        assertThrows(TraceStateStore.Fenced.class, () -> a.commit("k2"), "a no longer holds the tenant");
        assertThrows(TraceStateStore.Fenced.class, a::sync, "a's next poll does not run");
        assertTrue(b.add("k2"), "k2 was never stored: b forwards it (the batch in flight at a takeover)");
        b.commit("k2");
        assertEquals(2, storedKeys());
        assertEquals(1, PostgresServer.count(db.url(), "SELECT count(*) FROM trace_seen WHERE tenant = 't' AND epoch = 2"));
    }

    @Test
    void aKeyIsStoredOnceWhoeverStoresIt() throws Exception {
        TraceSeenRepository a = open(100, state("t"));
        TraceSeenRepository other = open(100, state("u"));   // another tenant: keys of its own
        a.add("k1");
        a.commit("k1");
        other.add("k1");
        other.commit("k1");
        // the primary key (tenant, digest): a second insert of the same key does nothing
        try (var c = PostgresServer.shared().connect(db.name()); var s = c.createStatement()) {
            assertThrows(java.sql.SQLException.class, () -> s.executeUpdate(
                    "INSERT INTO trace_seen (tenant, digest, epoch) SELECT tenant, digest, epoch FROM trace_seen WHERE tenant = 't'"));
        }
        assertEquals(1, storedKeys());
        assertEquals(2, PostgresServer.count(db.url(), "SELECT count(*) FROM trace_seen"));
    }

    @Test
    void aPageStoredInOneInsert() throws Exception {
        TraceSeenRepository repo = open(200_000);
        List<String> page = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            page.add("id" + i + "|a@x|Delivered");
        }
        // warm-up, then a measured round: 100 pages of 1000 new keys
        long started = 0;
        for (int round = 0; round < 101; round++) {
            if (round == 1) {
                started = System.nanoTime();
            }
            List<String> keys = new ArrayList<>();
            for (String k : page) {
                String key = round + "-" + k;
                assertTrue(repo.add(key));
                keys.add(key);
            }
            repo.commit(keys);
        }
        double perKeyMicros = (System.nanoTime() - started) / 1000.0 / 100_000;
        System.out.printf("jdbc dedupe store: %.1f us a key, pages of 1000 (add + commit)%n", perKeyMicros);
        assertEquals(101_000, storedKeys());
        assertTrue(perKeyMicros < 200, perKeyMicros + " us a key");
    }
}
