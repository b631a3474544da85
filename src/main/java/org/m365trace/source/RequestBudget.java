package org.m365trace.source;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;

import org.m365trace.Durations;
import org.m365trace.SettingException;
import org.m365trace.state.TraceStateStore;

/**
 * Paces API requests below the tenant's quota (Graph message trace: 100 requests per 5 minutes, list and details
 * together): at most {@code requests} per {@code period}, on a sliding window. {@code reserve()} books the next
 * request and says how long to wait before sending it, so a long catch-up slows down instead of living on 429s.
 * <p>
 * With the jdbc state store the requests are also kept in PostgreSQL ({@code trace_budget}): an instance that takes
 * the tenant over paces its requests with those of the one before. Their times are then the database's
 * ({@code now()}), not this JVM's: the rows of instances whose clocks differ are counted on one clock, so a skewed
 * clock neither lets a new holder send more than the quota nor makes it wait longer than needed.
 */
public class RequestBudget {

    private static final Duration MARGIN = Duration.ofMillis(250);

    private int requests = 90;
    private Duration period = Duration.ofMinutes(5);
    private Clock clock = Clock.systemUTC();
    private final Deque<Instant> sent = new ArrayDeque<>();
    private boolean paced = true;
    private TraceStateStore state;
    /** The epoch under which the requests were loaded from the table; -1: not loaded. */
    private long loadedEpoch = -1;
    /** The row of the request booked last (jdbc store). */
    private long lastRow;

    /** Milliseconds to wait before the next request; the request is booked at that time. */
    public synchronized long reserve() {
        if (!paced) {
            return 0;
        }
        Instant now = jdbc() ? databaseNow() : clock.instant();
        if (jdbc() && state.epoch() != loadedEpoch) {
            load(now);
        }
        while (!sent.isEmpty() && !sent.peekFirst().plus(period).isAfter(now)) {
            sent.pollFirst();
        }
        Instant at = now;
        if (sent.size() >= requests) {
            // the oldest booked request of the window must leave it first
            // plus a margin: a request booked for t arrives a little after t, and the service counts arrivals
            Instant free = sent.stream().skip(sent.size() - requests).findFirst().orElse(now).plus(period).plus(MARGIN);
            at = free.isAfter(now) ? free : now;
        }
        sent.addLast(at);
        if (jdbc()) {
            lastRow = book(at, now);
        }
        return Duration.between(now, at).toMillis();
    }

    /**
     * The request booked last was answered: it is counted from now instead of from its booking. A request can leave
     * later than booked (the first one fetches a token first), and Graph counts arrivals: counted from its booking, the
     * window would let one request more than the quota reach the service (seen by the benchmark's budget run).
     */
    public synchronized void answered() {
        if (!paced || sent.isEmpty()) {
            return;
        }
        if (jdbc()) {
            if (lastRow == 0) {
                return;
            }
            long row = lastRow;
            // counted from the database's now, as the other instances' rows are
            Instant moved = state.read(c -> {
                try (PreparedStatement p = c.prepareStatement("UPDATE trace_budget SET sent = now() WHERE id = ? AND sent < now()"
                        + " RETURNING sent")) {
                    p.setLong(1, row);
                    try (ResultSet r = p.executeQuery()) {
                        return r.next() ? r.getTimestamp(1).toInstant() : null;
                    }
                }
            });
            if (moved != null) {
                sent.pollLast();
                sent.addLast(moved);
            }
            return;
        }
        Instant now = clock.instant();
        if (sent.peekLast().isBefore(now)) {
            sent.pollLast();
            sent.addLast(now);
        }
    }

    /** The database's time: the clock of every instance's requests with the jdbc store. */
    private Instant databaseNow() {
        return state.read(c -> {
            try (PreparedStatement p = c.prepareStatement("SELECT now()"); ResultSet r = p.executeQuery()) {
                r.next();
                return r.getTimestamp(1).toInstant();
            }
        });
    }

    private boolean jdbc() {
        return state != null && state.isJdbc();
    }

    /** The tenant's requests of the last period, from the table: this instance has just taken the tenant. */
    private void load(Instant now) {
        sent.clear();
        state.read(c -> {
            try (PreparedStatement p = c.prepareStatement("SELECT sent FROM trace_budget WHERE tenant = ? AND sent > ? ORDER BY sent")) {
                p.setString(1, state.key());
                p.setTimestamp(2, Timestamp.from(now.minus(period)));
                try (ResultSet r = p.executeQuery()) {
                    while (r.next()) {
                        sent.addLast(r.getTimestamp(1).toInstant());
                    }
                }
            }
            return null;
        });
        loadedEpoch = state.epoch();
    }

    /** Keeps a booked request in the table (and forgets the tenant's requests older than a period); its row id. */
    private long book(Instant at, Instant now) {
        return state.read(c -> {
            try (PreparedStatement p = c.prepareStatement("DELETE FROM trace_budget WHERE tenant = ? AND sent < ?")) {
                p.setString(1, state.key());
                p.setTimestamp(2, Timestamp.from(now.minus(period)));
                p.executeUpdate();
            }
            try (PreparedStatement p = c.prepareStatement("INSERT INTO trace_budget (tenant, sent) VALUES (?, ?) RETURNING id")) {
                p.setString(1, state.key());
                p.setTimestamp(2, Timestamp.from(at));
                try (ResultSet r = p.executeQuery()) {
                    r.next();
                    return r.getLong(1);
                }
            }
        });
    }

    /** The state store: with {@code jdbc} the requests are shared through PostgreSQL. */
    public void setState(TraceStateStore state) {
        this.state = state;
    }

    public void setRequests(int requests) {
        if (requests < 1) {
            throw new SettingException("trace.graph.budget", "a number of requests of 1 or more", String.valueOf(requests));
        }
        this.requests = requests;
    }

    public void setPeriod(String period) {
        this.period = Durations.parse("trace.graph.budgetPeriod", period);
    }

    /** Only Graph has a documented request quota: the Reporting Web Service is not paced. */
    public void setApi(String api) {
        this.paced = !TraceRecords.REPORTING.equals(api);
    }

    public void setClock(Clock clock) {
        this.clock = clock;
    }
}
