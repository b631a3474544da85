package org.m365trace.bench;

/** An open-addressing set of longs (linear probing, grows at half full; 0 is kept aside). Not synchronized. */
final class LongSet {
    private long[] table;
    private int size;
    private boolean hasZero;

    LongSet(int expected) {
        table = new long[Integer.highestOneBit(Math.max(16, expected) * 2 - 1) << 1];
    }

    /** Adds {@code v}; false when it was there already. */
    boolean add(long v) {
        if (v == 0) {
            if (hasZero) {
                return false;
            }
            hasZero = true;
            size++;
            return true;
        }
        int mask = table.length - 1;
        for (int b = spread(v) & mask; ; b = (b + 1) & mask) {
            if (table[b] == 0) {
                table[b] = v;
                if (++size * 2 > table.length) {
                    grow();
                }
                return true;
            }
            if (table[b] == v) {
                return false;
            }
        }
    }

    boolean contains(long v) {
        if (v == 0) {
            return hasZero;
        }
        int mask = table.length - 1;
        for (int b = spread(v) & mask; table[b] != 0; b = (b + 1) & mask) {
            if (table[b] == v) {
                return true;
            }
        }
        return false;
    }

    int size() {
        return size;
    }

    /** Calls {@code each} for every value. */
    void forEach(java.util.function.LongConsumer each) {
        if (hasZero) {
            each.accept(0);
        }
        for (long v : table) {
            if (v != 0) {
                each.accept(v);
            }
        }
    }

    private void grow() {
        long[] old = table;
        table = new long[old.length * 2];
        int mask = table.length - 1;
        for (long v : old) {
            if (v != 0) {
                int b = spread(v) & mask;
                while (table[b] != 0) {
                    b = (b + 1) & mask;
                }
                table[b] = v;
            }
        }
    }

    private static int spread(long v) {
        v *= 0x9E3779B97F4A7C15L;
        return (int) (v ^ (v >>> 32));
    }
}
