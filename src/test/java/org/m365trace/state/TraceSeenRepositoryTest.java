package org.m365trace.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TraceSeenRepositoryTest {

    @TempDir
    Path dir;

    /** A dedupe store, as a forwarder's start opens it; the same store again after a stop (a restart). */
    protected TraceSeenRepository open(int cacheSize) {
        TraceSeenRepository repo = new TraceSeenRepository();
        repo.setFileStore(dir.resolve("seen.dat").toString());
        repo.setCacheSize(cacheSize);
        repo.start();
        return repo;
    }

    @Test
    void keysSurviveARestart() {
        TraceSeenRepository repo = open(1000);
        assertTrue(repo.add("id1|a@x|Delivered"));
        assertFalse(repo.add("id1|a@x|Delivered"));
        assertTrue(repo.add("id1|a@x|Failed"));
        repo.commit(List.of("id1|a@x|Delivered", "id1|a@x|Failed"));
        repo.stop();

        TraceSeenRepository again = open(1000);
        assertTrue(again.contains("id1|a@x|Delivered"));
        assertTrue(again.contains("id1|a@x|Failed"));
        assertFalse(again.contains("id1|b@x|Delivered"));
        assertEquals(2, again.size());
    }

    /**
     * A catch-up of windows larger than the store: the rows on the bound of windows A and B are read first in A and
     * last in B, with more than cacheSize other keys in between, B alone holding more. Carried at A's commit, they are
     * still known at the end of B, also after a restart between the two windows.
     */
    @Test
    void keysOnAWindowsEndBoundAreStillKnownAtTheEndOfTheNextWindow() {
        for (boolean restart : new boolean[] {false, true}) {
            TraceSeenRepository repo = open(10);
            repo.clear();
            List<String> bound = List.of("b1|a@x|Delivered", "b2|a@x|Delivered");
            // window A, newest first: its two rows on the end bound, then 9 older rows
            for (String key : bound) {
                assertTrue(repo.add(key));
                repo.readAgainLater(key, true);
            }
            for (int i = 0; i < 9; i++) {
                assertTrue(repo.add("a" + i + "|a@x|Delivered"));
            }
            repo.commit(List.of("b1|a@x|Delivered", "b2|a@x|Delivered", "a0|a@x|Delivered", "a1|a@x|Delivered",
                    "a2|a@x|Delivered", "a3|a@x|Delivered", "a4|a@x|Delivered", "a5|a@x|Delivered", "a6|a@x|Delivered",
                    "a7|a@x|Delivered", "a8|a@x|Delivered"));
            repo.carryBound();
            if (restart) {
                repo.stop();
                repo = open(10);
            }
            // window B, newest first: 12 newer rows (more than the store holds), then the rows on its start bound again
            for (int i = 0; i < 12; i++) {
                assertTrue(repo.add("n" + i + "|a@x|Delivered"));
            }
            for (String key : bound) {
                assertFalse(repo.add(key), key + " forwarded twice (restart " + restart + ")");
            }
            repo.stop();
        }
    }

    /**
     * The next poll starts an overlap before the checkpoint: the rows of a window's last overlap, stored first in the
     * window (newest first), are read again after more keys than the store holds.
     */
    @Test
    void keysOfAWindowsLastOverlapAreStillKnownInTheNextPoll() {
        TraceSeenRepository repo = open(10);
        List<String> overlap = List.of("o1|a@x|Delivered", "o2|a@x|Delivered", "o3|a@x|Delivered");
        for (String key : overlap) {
            assertTrue(repo.add(key));
            repo.readAgainLater(key, false);
        }
        for (int i = 0; i < 12; i++) {
            assertTrue(repo.add("a" + i + "|a@x|Delivered"));
        }
        repo.commit(overlap);
        repo.carryBound();
        for (String key : overlap) {
            assertFalse(repo.add(key), key + " forwarded twice");
        }
    }

    @Test
    void aCommitWhoseWriteFailsForgetsNoneOfItsKeys() {
        TraceSeenRepository repo = open(10_000);
        List<String> keys = new java.util.ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            keys.add("w" + i + "|a@x|Delivered");
            assertTrue(repo.add(keys.get(i)));
        }
        repo.log(new java.io.Writer() {         // the disk fills up after a few bytes of the page's keys
            private int written;

            @Override
            public void write(char[] c, int off, int len) throws java.io.IOException {
                written += len;
                if (written > 10) {
                    throw new java.io.IOException("No space left on device");
                }
            }

            @Override
            public void flush() throws java.io.IOException {
                throw new java.io.IOException("No space left on device");
            }

            @Override
            public void close() {
            }
        });
        assertThrows(java.io.UncheckedIOException.class, () -> repo.commit(keys));
        repo.rollback();                         // what the source does when its page fails
        for (String key : keys) {
            assertTrue(repo.contains(key), key + ": the sinks took it; forgotten, it would be forwarded again");
        }
    }

    @Test
    void aWindowThatFailedCarriesNoKeys() {
        TraceSeenRepository repo = open(10);
        assertTrue(repo.add("b1|a@x|Delivered"));
        repo.readAgainLater("b1|a@x|Delivered", true);
        repo.rollback();            // the page failed before the sinks took it: its record must still be forwarded
        repo.carryBound();          // (a later window's commit)
        assertTrue(repo.add("b1|a@x|Delivered"));
    }

    @Test
    void aKeyLineCutShortByACrashIsDroppedAndTheFileStaysWhole() throws Exception {
        Files.writeString(dir.resolve("seen.dat"), "k1\nk2\nk3-cut", StandardCharsets.UTF_8);

        TraceSeenRepository repo = open(1000);
        assertTrue(repo.contains("k1"));
        assertTrue(repo.contains("k2"));
        assertFalse(repo.contains("k3-cut"));
        assertTrue(repo.add("k3"));
        repo.commit("k3");
        repo.stop();

        assertEquals(List.of("k1", "k2", "k3"), Files.readAllLines(dir.resolve("seen.dat")));
    }

    @Test
    void aCompactionThatACrashInterruptedLeavesTheOldStore() throws Exception {
        Files.writeString(dir.resolve("seen.dat"), "k1\nk2\n", StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("seen.dat.tmp"), "k2\n", StandardCharsets.UTF_8);

        TraceSeenRepository repo = open(1000);
        assertTrue(repo.contains("k1"));
        assertTrue(repo.contains("k2"));
        assertFalse(Files.exists(dir.resolve("seen.dat.tmp")));
    }

    @Test
    void keepsTheNewestCacheSizeKeysInMemoryAndOnDisk() throws Exception {
        TraceSeenRepository repo = open(10);
        for (int i = 0; i < 25; i++) {
            repo.add("k" + i);
            repo.commit("k" + i);
        }
        for (int i = 0; i < 15; i++) {
            assertFalse(repo.contains("k" + i), "k" + i + " is past the bound");
        }
        for (int i = 15; i < 25; i++) {
            assertTrue(repo.contains("k" + i), "k" + i + " is among the newest");
        }
        // compacted (pruned) at 20 keys to the newest 10, then 5 more stored
        assertEquals(15, storedKeys());
        repo.stop();

        TraceSeenRepository again = open(10);
        assertEquals(10, again.size());
        assertTrue(again.contains("k24"));
        assertFalse(again.contains("k14"));
    }

    /** Keys in the store's persistent form: lines of seen.dat. */
    protected long storedKeys() throws Exception {
        return Files.readAllLines(dir.resolve("seen.dat")).size();
    }

    @Test
    void aKeyIsReservedByAddAndStoredOnlyOnceItsRecordWasTaken() {
        TraceSeenRepository repo = open(1000);
        assertTrue(repo.add("k1|a@x|Delivered"));
        assertTrue(repo.add("k2"));
        assertFalse(repo.add("k2"), "reserved: a duplicate later in the page");
        // a record taken: its key (messageTraceId|recipientAddress|status) is stored
        repo.commit(List.of(Map.of("messageTraceId", "k1", "recipientAddress", "a@x", "status", "Delivered")));
        repo.rollback();                          // the page failed after that record was taken
        assertTrue(repo.contains("k1|a@x|Delivered"));
        assertFalse(repo.contains("k2"), "forgotten: the window read again forwards it");
        assertTrue(repo.add("k2"));
        repo.stop();                              // a crash before k2 was taken

        TraceSeenRepository again = open(1000);
        assertTrue(again.contains("k1|a@x|Delivered"));
        assertFalse(again.contains("k2"), "never stored: its record is forwarded again");
    }

    @Test
    void aRemovedKeyStaysRemovedAfterARestart() {
        TraceSeenRepository repo = open(1000);
        repo.add("k1");
        repo.add("k2");
        repo.commit(List.of("k1", "k2"));
        assertTrue(repo.remove("k1"));
        assertFalse(repo.remove("k1"));
        repo.stop();

        TraceSeenRepository again = open(1000);
        assertFalse(again.contains("k1"));
        assertTrue(again.contains("k2"));
    }

    @Test
    void digestSetAgreesWithAPlainMapUnderRandomAddsAndRemoves() {
        digestSetAgreesWithModel(64, 200, 200_000, 1);
    }

    /** A set bounded above its first ring length grows (1024, 2048, 4096, then its bound) and forgets as before. */
    @Test
    void aGrowingDigestSetAgreesWithAPlainMapUnderRandomAddsAndRemoves() {
        assertTrue(5000 > DigestSet.FIRST_LENGTH * 4);
        digestSetKeepsAtLeastTheModel(5000, 12_000, 150_000, 499);
        digestSetKeepsAtLeastTheModel(5000, 3_000, 150_000, 499);     // fewer keys than the bound: compacted
    }

    /**
     * A set that grows, and compacts instead of growing when a quarter of its ring was removed, may keep a key longer
     * than the last {@code capacity} additions (a removed key's slot is reused before the oldest is forgotten), never
     * shorter: every key the model holds is held, every key removed is gone, and it never holds more than capacity.
     */
    private static void digestSetKeepsAtLeastTheModel(int capacity, int keys, int steps, int checkEvery) {
        DigestSet set = new DigestSet(capacity);
        Deque<long[]> additions = new ArrayDeque<>();
        Map<Integer, Long> held = new HashMap<>();
        java.util.Set<Integer> removed = new java.util.HashSet<>();
        Random random = new Random(7);
        UUID[] universe = new UUID[keys];
        for (int i = 0; i < universe.length; i++) {
            universe[i] = UUID.nameUUIDFromBytes(("key" + i).getBytes(StandardCharsets.UTF_8));
        }
        for (int i = 0; i < universe.length; i++) {
            removed.add(i);                                  // never added: as good as removed
        }
        for (long step = 0; step < steps; step++) {
            int k = random.nextInt(universe.length);
            if (random.nextInt(4) == 0) {
                boolean was = set.remove(universe[k]);
                if (held.remove(k) != null) {
                    assertTrue(was, "remove of a held key at step " + step);
                }
                if (removed.contains(k)) {
                    assertFalse(was, "remove of a removed key at step " + step);
                }
                removed.add(k);
            } else {
                boolean added = set.add(universe[k]);
                if (held.containsKey(k)) {
                    assertFalse(added, "add of a held key at step " + step);
                } else if (removed.contains(k)) {
                    assertTrue(added, "add of a removed key at step " + step);
                }
                removed.remove(k);
                if (added) {
                    held.put(k, step);
                    additions.addLast(new long[] {k, step});
                    if (additions.size() > capacity) {
                        long[] oldest = additions.removeFirst();
                        held.remove((int) oldest[0], oldest[1]);
                    }
                }
            }
            assertTrue(set.size() <= capacity && set.size() >= held.size(), "size at step " + step);
            if (step % checkEvery == 0 || step == steps - 1) {
                for (int i = 0; i < universe.length; i++) {
                    if (held.containsKey(i)) {
                        assertTrue(set.contains(universe[i]), "held key " + i + " at step " + step);
                    } else if (removed.contains(i)) {
                        assertFalse(set.contains(universe[i]), "removed key " + i + " at step " + step);
                    }
                }
            }
        }
    }

    /** Many tenants of the default bound: each costs memory for the keys it saw, not for 500,000. */
    @Test
    void aDigestSetHoldsMemoryForTheKeysItHolds() {
        DigestSet set = new DigestSet(500_000);
        for (int i = 0; i < 3000; i++) {
            set.add(DigestSet.digest("key" + i));
        }
        assertEquals(4096, set.ringLength(), "grown by doubling from " + DigestSet.FIRST_LENGTH + " to hold 3000");
        for (int i = 0; i < 3000; i++) {
            assertTrue(set.contains(DigestSet.digest("key" + i)), "key" + i + " still held after growing");
        }
        DigestSet small = new DigestSet(1500);
        for (int i = 0; i < 3000; i++) {
            small.add(DigestSet.digest("key" + i));
        }
        assertEquals(1500, small.ringLength(), "never beyond its bound");
        assertEquals(1500, small.size());
        assertTrue(small.contains(DigestSet.digest("key2999")) && !small.contains(DigestSet.digest("key1499")), "the oldest forgotten");
    }

    /** The dedupe store removes and adds again keys it keeps as the newest: that must not grow the ring. */
    @Test
    void aDigestSetOfFewKeysAddedAgainAndAgainStaysSmall() {
        DigestSet set = new DigestSet(500_000);
        for (int round = 0; round < 200; round++) {
            for (int i = 0; i < 500; i++) {
                UUID d = DigestSet.digest("key" + i);
                set.remove(d);
                set.add(d);
            }
        }
        assertEquals(500, set.size());
        assertEquals(DigestSet.FIRST_LENGTH, set.ringLength(), "100,000 additions of 500 keys: compacted, not grown");
        for (int i = 0; i < 500; i++) {
            assertTrue(set.contains(DigestSet.digest("key" + i)));
        }
    }

    private static void digestSetAgreesWithModel(int capacity, int keys, int steps, int checkEvery) {
        DigestSet set = new DigestSet(capacity);
        // the model: the last `capacity` additions, in order; a key is held while its latest addition is among them
        Deque<long[]> additions = new ArrayDeque<>();   // {key index, addition number}
        Map<Integer, Long> held = new HashMap<>();       // key index -> addition number
        Random random = new Random(42);
        UUID[] universe = new UUID[keys];
        for (int i = 0; i < universe.length; i++) {
            universe[i] = UUID.nameUUIDFromBytes(("key" + i).getBytes(StandardCharsets.UTF_8));
        }
        for (long step = 0; step < steps; step++) {
            int k = random.nextInt(universe.length);
            if (random.nextInt(4) == 0) {
                assertEquals(held.remove(k) != null, set.remove(universe[k]), "remove at step " + step);
            } else {
                boolean isNew = !held.containsKey(k);
                assertEquals(isNew, set.add(universe[k]), "add at step " + step);
                if (isNew) {
                    held.put(k, step);
                    additions.addLast(new long[] {k, step});
                    if (additions.size() > capacity) {
                        long[] oldest = additions.removeFirst();
                        held.remove((int) oldest[0], oldest[1]);
                    }
                }
            }
            assertEquals(held.size(), set.size(), "size at step " + step);
            if (step % checkEvery == 0 || step == steps - 1) {
                for (int i = 0; i < universe.length; i++) {
                    if (held.containsKey(i) != set.contains(universe[i])) {
                        assertEquals(held.containsKey(i), set.contains(universe[i]), "key " + i + " at step " + step);
                    }
                }
            }
        }
    }
}
