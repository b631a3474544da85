package org.m365trace.state;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.UUID;

/**
 * A set of at most {@code capacity} digests that forgets the oldest one when full: a ring of the digests in the
 * order they came, and an open-addressing table of ring positions (linear probing, backward-shift removal, at most
 * half full).
 * <p>
 * The ring grows as digests come, doubling up to {@code capacity}: a set costs memory for the keys it holds, not for
 * those it may hold (about 21-25 bytes a key: two longs and a flag in the ring, one or two ints of table). A process
 * with many tenants, each with the default bound of 500,000 keys, holds only what each tenant has seen. Before it
 * grows, a ring of which a quarter was removed (the dedupe store removes and adds again the keys it keeps as the
 * newest) is compacted instead, so its length follows the keys held, not the additions.
 */
public final class DigestSet {
    /** The ring's first length: small tenants stay small. */
    static final int FIRST_LENGTH = 1024;

    private final int capacity;
    private long[] hi;
    private long[] lo;
    private boolean[] live;
    private int[] table;                      // ring position + 1; 0 is an empty bucket
    private int mask;
    private int next;                         // the ring position the next digest takes (== hi.length: grow or wrap)
    private int size;

    public DigestSet(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("a digest set holds at least one digest, not " + capacity);
        }
        this.capacity = capacity;
        ring(Math.min(capacity, FIRST_LENGTH));
    }

    /** The most digests held at once; the oldest is forgotten beyond it. */
    public int capacity() {
        return capacity;
    }

    /** Positions of the ring now (tests). */
    int ringLength() {
        return hi.length;
    }

    /** A ring of {@code length} positions, the digests held so far kept at their positions, and a table for it. */
    private void ring(int length) {
        int held = hi == null ? 0 : hi.length;
        hi = hi == null ? new long[length] : Arrays.copyOf(hi, length);
        lo = lo == null ? new long[length] : Arrays.copyOf(lo, length);
        live = live == null ? new boolean[length] : Arrays.copyOf(live, length);
        int buckets = Integer.highestOneBit(Math.max(length, 2) * 2 - 1) << 1;
        table = new int[buckets];
        mask = buckets - 1;
        for (int p = 0; p < held; p++) {
            if (live[p]) {
                insert(p);
            }
        }
    }

    private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    /**
     * 128 bits of MurmurHash3 (x64, seed 0) of {@code bytes[offset, offset + length)}: for digests that stay in memory (the
     * lines a sink took lately), where MD5's cost per record line showed in the profile and no stored key depends on the
     * function. Well mixed, so a collision among the few thousand lines remembered is not to be expected either.
     */
    public static UUID lineDigest(byte[] bytes, int offset, int length) {
        final long c1 = 0x87c37b91114253d5L;
        final long c2 = 0x4cf5ad432745937fL;
        long h1 = 0;
        long h2 = 0;
        int end = offset + (length & ~15);
        for (int i = offset; i < end; i += 16) {
            long k1 = (long) LONG_LE.get(bytes, i);
            long k2 = (long) LONG_LE.get(bytes, i + 8);
            h1 ^= Long.rotateLeft(k1 * c1, 31) * c2;
            h1 = (Long.rotateLeft(h1, 27) + h2) * 5 + 0x52dce729;
            h2 ^= Long.rotateLeft(k2 * c2, 33) * c1;
            h2 = (Long.rotateLeft(h2, 31) + h1) * 5 + 0x38495ab5;
        }
        long k1 = 0;
        long k2 = 0;
        int tail = length & 15;
        for (int i = tail - 1; i >= 8; i--) {
            k2 = k2 << 8 | (bytes[end + i] & 0xff);
        }
        for (int i = Math.min(tail, 8) - 1; i >= 0; i--) {
            k1 = k1 << 8 | (bytes[end + i] & 0xff);
        }
        if (tail > 8) {
            h2 ^= Long.rotateLeft(k2 * c2, 33) * c1;
        }
        if (tail > 0) {
            h1 ^= Long.rotateLeft(k1 * c1, 31) * c2;
        }
        h1 ^= length;
        h2 ^= length;
        h1 += h2;
        h2 += h1;
        h1 = mix(h1);
        h2 = mix(h2);
        h1 += h2;
        h2 += h1;
        return new UUID(h1, h2);
    }

    private static long mix(long k) {
        k = (k ^ k >>> 33) * 0xff51afd7ed558ccdL;
        k = (k ^ k >>> 33) * 0xc4ceb9fe1a85ec53L;
        return k ^ k >>> 33;
    }

    /** One MD5 per thread: looking one up for every key would cost more than the digest itself. */
    private static final ThreadLocal<MessageDigest> MD5 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no MD5", e);
        }
    });

    /**
     * 128 bits of MD5 (the name-based UUID of {@link UUID#nameUUIDFromBytes}): a collision among even billions of keys
     * is not to be expected.
     */
    public static UUID digest(String key) {
        byte[] utf8 = key.getBytes(StandardCharsets.UTF_8);
        return digest(utf8, 0, utf8.length);
    }

    /** As {@link #digest(String)}, of the UTF-8 text in {@code bytes[offset, offset + length)} (no copy of it). */
    public static UUID digest(byte[] bytes, int offset, int length) {
        MessageDigest md = MD5.get();
        md.update(bytes, offset, length);
        byte[] md5 = md.digest();
        md5[6] = (byte) (md5[6] & 0x0f | 0x30);       // version 3
        md5[8] = (byte) (md5[8] & 0x3f | 0x80);       // IETF variant
        long hi = 0;
        long lo = 0;
        for (int i = 0; i < 8; i++) {
            hi = hi << 8 | (md5[i] & 0xff);
            lo = lo << 8 | (md5[i + 8] & 0xff);
        }
        return new UUID(hi, lo);
    }

    /** Adds the {@link #lineDigest} of {@code line} (as UTF-8); false when it is already held. */
    public boolean addLine(String line) {
        byte[] utf8 = line.getBytes(StandardCharsets.UTF_8);
        return add(lineDigest(utf8, 0, utf8.length));
    }

    public int size() {
        return size;
    }

    public boolean contains(UUID d) {
        return find(d) >= 0;
    }

    public boolean add(UUID d) {
        if (find(d) >= 0) {
            return false;
        }
        if (next == hi.length) {
            if (hi.length == capacity) {
                next = 0;                                                // at the bound: the oldest goes
            } else if (size < hi.length / 4 * 3) {
                compact();        // many removed (a key removed and added again as the newest): no need to grow
            } else {
                ring((int) Math.min((long) hi.length * 2, capacity));   // not wrapped yet: positions stay in order
            }
        }
        if (live[next]) {
            removeBucket(find(hi[next], lo[next]));  // at the bound: forget the oldest
            size--;
        }
        hi[next] = d.getMostSignificantBits();
        lo[next] = d.getLeastSignificantBits();
        live[next] = true;
        insert(next);
        next++;
        size++;
        return true;
    }

    /** Moves the live digests to the front of the ring, oldest first, and rebuilds the table: only before a wrap. */
    private void compact() {
        int to = 0;
        for (int p = 0; p < hi.length; p++) {
            if (live[p]) {
                hi[to] = hi[p];
                lo[to] = lo[p];
                live[to] = true;
                to++;
            }
        }
        Arrays.fill(live, to, live.length, false);
        Arrays.fill(table, 0);
        for (int p = 0; p < to; p++) {
            insert(p);
        }
        next = to;
    }

    /** Puts ring position {@code p} into the table. */
    private void insert(int p) {
        int b = home(hi[p], lo[p]);
        while (table[b] != 0) {
            b = (b + 1) & mask;
        }
        table[b] = p + 1;
    }

    public boolean remove(UUID d) {
        int b = find(d);
        if (b < 0) {
            return false;
        }
        removeBucket(b);
        size--;
        return true;
    }

    private int find(UUID d) {
        return find(d.getMostSignificantBits(), d.getLeastSignificantBits());
    }

    private int find(long h, long l) {
        for (int b = home(h, l); table[b] != 0; b = (b + 1) & mask) {
            int p = table[b] - 1;
            if (hi[p] == h && lo[p] == l) {
                return b;
            }
        }
        return -1;
    }

    /** Empties bucket {@code b} and shifts later entries of its probe run back, so every lookup still finds them. */
    private void removeBucket(int b) {
        live[table[b] - 1] = false;
        table[b] = 0;
        int gap = b;
        for (int j = (b + 1) & mask; table[j] != 0; j = (j + 1) & mask) {
            int p = table[j] - 1;
            int h = home(hi[p], lo[p]);
            // move j into the gap unless its home lies cyclically in (gap, j]
            boolean stays = gap <= j ? (gap < h && h <= j) : (gap < h || h <= j);
            if (!stays) {
                table[gap] = table[j];
                table[j] = 0;
                gap = j;
            }
        }
    }

    private int home(long h, long l) {
        return (int) (h ^ (h >>> 32) ^ l) & mask;
    }
}
