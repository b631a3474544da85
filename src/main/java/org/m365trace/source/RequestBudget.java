package org.m365trace.source;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;

import org.m365trace.Durations;
import org.m365trace.SettingException;

/**
 * Paces API requests below the tenant's quota (Graph message trace: 100 requests per 5 minutes, list and details
 * together): at most {@code requests} per {@code period}, on a sliding window. {@code reserve()} books the next
 * request and says how long to wait before sending it, so a long catch-up slows down instead of living on 429s.
 */
public class RequestBudget {

    private static final Duration MARGIN = Duration.ofMillis(250);

    private int requests = 90;
    private Duration period = Duration.ofMinutes(5);
    private Clock clock = Clock.systemUTC();
    private final Deque<Instant> sent = new ArrayDeque<>();
    private boolean paced = true;

    /** Milliseconds to wait before the next request; the request is booked at that time. */
    public synchronized long reserve() {
        if (!paced) {
            return 0;
        }
        Instant now = clock.instant();
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
        return Duration.between(now, at).toMillis();
    }

    /**
     * The request booked last was answered: it is counted from now instead of from its booking. A request can leave
     * later than booked (the first one fetches a token first), and Graph counts arrivals: counted from its booking, the
     * window would let one request more than the quota reach the service (seen by the benchmark's budget run).
     */
    public synchronized void answered() {
        Instant now = clock.instant();
        if (paced && !sent.isEmpty() && sent.peekLast().isBefore(now)) {
            sent.pollLast();
            sent.addLast(now);
        }
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
