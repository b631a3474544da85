package org.m365trace.bench;

/**
 * What one sink received, compared with the rows expected: each record's key hash is booked as it arrives. Complete
 * once every expected key has arrived; a key that arrives again is doubled, one not expected is unexpected.
 */
final class Tally {

    final String sink;
    private final LongSet expected;
    private final LongSet seen;
    private long total;
    private long matched;
    private long doubled;
    private long unexpected;
    private volatile long completeAt;          // System.nanoTime(); 0 while incomplete

    Tally(String sink, LongSet expected) {
        this.sink = sink;
        this.expected = expected;
        this.seen = new LongSet(expected.size());
        if (expected.size() == 0) {
            completeAt = System.nanoTime();
        }
    }

    synchronized void add(long key) {
        total++;
        if (!seen.add(key)) {
            doubled++;
        } else if (expected.contains(key)) {
            if (++matched == expected.size()) {
                completeAt = System.nanoTime();
            }
        } else {
            unexpected++;
        }
    }

    /** When the last expected record arrived (System.nanoTime()), or 0. */
    long completeAt() {
        return completeAt;
    }

    synchronized long total() {
        return total;
    }

    synchronized long matched() {
        return matched;
    }

    synchronized long missing() {
        return expected.size() - matched;
    }

    synchronized long doubled() {
        return doubled;
    }

    synchronized long unexpected() {
        return unexpected;
    }
}
