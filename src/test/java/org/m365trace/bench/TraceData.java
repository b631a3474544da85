package org.m365trace.bench;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.UUID;

/**
 * The benchmark's message trace: {@code rows} rows whose fields are computed from their index, never held in a list.
 * Row {@code i} was received at {@link #receivedMillis(int)}, spread evenly over {@code [start, end]} in index order
 * (so the rows of a time range are an index range), in whole seconds as Graph's samples show them: the product's
 * windows have whole-second inclusive bounds, so the rows on the bound of two windows are served in both, and the
 * product must forward them once.
 * <p>
 * Two rows (two recipients) per message, every key (messageTraceId, recipientAddress, status) distinct.
 */
final class TraceData {

    /** Graph's status spelling (camelCase) and the contract's (PascalCase), index by index. */
    static final String[] GRAPH_STATUS = {"delivered", "failed", "pending", "expanded", "quarantined", "filteredAsSpam", "delivered", "gettingStatus"};
    static final String[] STATUS = {"Delivered", "Failed", "Pending", "Expanded", "Quarantined", "FilteredAsSpam", "Delivered", "GettingStatus"};
    static final String ORGANIZATION = "contoso.onmicrosoft.com";
    private static final String ODD_SUBJECT = "Réunion «Q1» — \"budget\" C:\\Finance\\Q1\nSecond line ✓ 日本語 #";

    final int rows;
    final long startMillis;
    final long endMillis;

    TraceData(int rows, Instant start, Instant end) {
        this.rows = rows;
        this.startMillis = start.toEpochMilli();
        this.endMillis = end.toEpochMilli();
    }

    long receivedMillis(int i) {
        long t = startMillis + (long) ((double) i * (endMillis - startMillis) / Math.max(1, rows));
        return t - Math.floorMod(t, 1000L);
    }

    /** The first index whose received time is at or after {@code millis} ({@code rows} when none). */
    int firstAtOrAfter(long millis) {
        int lo = 0;
        int hi = rows;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (receivedMillis(mid) < millis) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** Indexes {@code [from, to)} of the rows received in {@code [ge, le]} (both inclusive, milliseconds). */
    int[] range(long ge, long le) {
        int from = firstAtOrAfter(ge);
        int to = le == Long.MAX_VALUE ? rows : firstAtOrAfter(le + 1);
        return new int[] {from, Math.max(from, to)};
    }

    static String traceId(int i) {
        long m = (i >>> 1) + 1L;
        long hi = mix(m) & 0xffffffffffff0fffL | 0x0000000000004000L;
        long lo = mix(m ^ 0x5DEECE66DL) & 0x3fffffffffffffffL | 0x8000000000000000L;
        return new UUID(hi, lo).toString();
    }

    static String messageId(int i) {
        return "<" + Long.toHexString(mix(i >>> 1)) + "." + (i >>> 1) + "@fabrikam.com>";
    }

    static String sender(int i) {
        return "sender" + ((i >>> 1) % 997) + "@fabrikam.com";
    }

    static String recipient(int i) {
        return "user" + i + "@contoso.com";
    }

    static String subject(int i) {
        return (i >>> 1) % 10 == 3 ? ODD_SUBJECT + (i >>> 1) : "Invoice " + (i >>> 1) + " for November";
    }

    static int status(int i) {
        return i % GRAPH_STATUS.length;
    }

    static long size(int i) {
        return 1000 + ((i >>> 1) * 7919L) % 100_000;
    }

    static String fromIP(int i) {
        return "198.51.100." + ((i >>> 1) % 250 + 1);
    }

    /** Null for inbound mail (Graph sends "" there, RWS null); the contract writes null. */
    static String toIP(int i) {
        return (i >>> 1) % 3 == 0 ? null : "203.0.113." + (i % 200 + 1);
    }

    /** The dedupe key of row {@code i} as the contract forms it. */
    static String key(int i) {
        return traceId(i) + "|" + recipient(i) + "|" + STATUS[status(i)];
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** ISO-8601 text of epoch milliseconds, fast for sorted times: the hour's prefix is cached. */
    static final class Iso {
        private long hour = Long.MIN_VALUE;
        private String prefix;
        private final char[] tail = new char[9];      // mm:ss.SSS

        /** {@code yyyy-MM-ddTHH:mm:ss.SSS} (no zone). */
        String format(long millis) {
            long h = Math.floorDiv(millis, 3_600_000L);
            if (h != hour) {
                hour = h;
                prefix = LocalDateTime.ofEpochSecond(h * 3600, 0, ZoneOffset.UTC).toString().substring(0, 14);  // yyyy-MM-ddTHH:
            }
            int rest = (int) (millis - h * 3_600_000L);
            int mm = rest / 60_000;
            int ss = rest / 1000 % 60;
            int ms = rest % 1000;
            tail[0] = (char) ('0' + mm / 10);
            tail[1] = (char) ('0' + mm % 10);
            tail[2] = ':';
            tail[3] = (char) ('0' + ss / 10);
            tail[4] = (char) ('0' + ss % 10);
            tail[5] = '.';
            tail[6] = (char) ('0' + ms / 100);
            tail[7] = (char) ('0' + ms / 10 % 10);
            tail[8] = (char) ('0' + ms % 10);
            return prefix.concat(new String(tail));
        }
    }
}
