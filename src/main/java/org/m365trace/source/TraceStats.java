package org.m365trace.source;

import java.util.concurrent.atomic.AtomicLong;

/** Counts of the window being read, for the one progress line logged per window. */
public class TraceStats {

    private final AtomicLong pages = new AtomicLong();
    private final AtomicLong rows = new AtomicLong();
    private final AtomicLong forwarded = new AtomicLong();
    private final AtomicLong duplicates = new AtomicLong();
    private final AtomicLong unusable = new AtomicLong();
    private String tenant;

    public void startWindow() {
        pages.set(0);
        rows.set(0);
        forwarded.set(0);
        duplicates.set(0);
        unusable.set(0);
    }

    public void page() {
        pages.incrementAndGet();
    }

    public void row() {
        rows.incrementAndGet();
    }

    public void forwarded() {
        forwarded.incrementAndGet();
    }

    public void duplicate() {
        duplicates.incrementAndGet();
    }

    /** A row that cannot become a record, kept in the source's dead letters. */
    public void unusable() {
        unusable.incrementAndGet();
    }

    /** The one line logged per window: {@code window <start>..<end>: } and the {@link #summary()}, with the tenant if any. */
    public String summary(Object window) {
        return TraceTenants.label(tenant) + "window " + window + ": " + summary();
    }

    public void setTenant(String tenant) {
        this.tenant = tenant;
    }

    /**
     * {@code 2 pages, 8 rows fetched, 6 forwarded, 2 duplicates skipped, 0 filtered out}, and when there were any,
     * {@code , 1 unusable (kept in deadletter/source)}.
     */
    public String summary() {
        long r = rows.get();
        long f = forwarded.get();
        long d = duplicates.get();
        long u = unusable.get();
        return pages.get() + " pages, " + (r + u) + " rows fetched, " + f + " forwarded, " + d + " duplicates skipped, "
                + (r - f - d) + " filtered out" + (u > 0 ? ", " + u + " unusable (kept in deadletter/source)" : "");
    }
}
