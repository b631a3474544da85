package org.m365trace.source;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.Exchange;
import org.m365trace.state.TraceCheckpoint;
import org.m365trace.state.TraceSeenRepository;
import org.slf4j.MDC;

/**
 * What one source did: the counts of the window being read, for its one log line, and the source's meters (labels
 * {@code api}, and {@code tenant} with tenants): rows fetched, records duplicate, filtered out and unusable, rows kept
 * as dead letters, the checkpoint's lag, the time a window takes, and how late Microsoft delivers rows.
 * <p>
 * <b>Lateness</b> ({@code trace_row_lateness_seconds}): a record first seen in the part of a window that an earlier,
 * committed window covered already (before the checkpoint, in the overlap) was absent at that earlier read, unless
 * it is a status change of a row seen before. How long after its {@code received} time it showed up (now, to the
 * poll) is how late it was delivered: the number to set {@code trace.delay} and {@code trace.overlap} by.
 * <p>
 * While a window is read, the SLF4J MDC of the polling thread holds {@code tenant} (with tenants) and {@code window},
 * so that every line logged meanwhile carries them (the standalone's JSON log lines show them as fields).
 */
public class TraceStats implements CamelContextAware {

    /** Buckets of the lateness histogram, in seconds: 1 min to 1 day. */
    private static final double[] LATENESS_BUCKETS = {60, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400};
    /** Buckets of the window-time histogram: 100 ms to 10 min. */
    private static final Duration[] WINDOW_BUCKETS = {Duration.ofMillis(100), Duration.ofMillis(500), Duration.ofSeconds(1),
        Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofMinutes(1),
        Duration.ofMinutes(2), Duration.ofMinutes(5), Duration.ofMinutes(10)};

    private final AtomicLong pages = new AtomicLong();
    private final AtomicLong rows = new AtomicLong();
    private final AtomicLong forwarded = new AtomicLong();
    private final AtomicLong duplicates = new AtomicLong();
    private final AtomicLong filtered = new AtomicLong();
    private final AtomicLong unusable = new AtomicLong();
    /** Records of the window taken per sink, as the consuming route reports them (header {@code traceSinks}). */
    private final Map<String, Long> perSink = new LinkedHashMap<>();
    private long windowStarted;
    /** The checkpoint when the window started: rows received before it had been read before. */
    private Instant readBefore;
    private String readBeforeText;

    /** When this process last committed a window: the time the rows before the checkpoint were last read. */
    private Instant lastCommitAt;

    private String tenant;
    private String api = "graph";
    private boolean replay;
    private boolean filtering;
    private Duration pollInterval = Duration.ofMinutes(5);
    private TraceCheckpoint checkpoint;
    private TraceSeenRepository seen;
    private Clock clock = Clock.systemUTC();
    private CamelContext camelContext;
    private Instruments meters;

    /** The meters of this source, registered at the first window (when the runtime's registry is in place). */
    private final class Instruments {
        final Counter fetched;
        final Counter duplicate;
        final Counter filteredOut;
        final Counter unusableRows;
        final Counter deadLetters;
        final Timer window;
        final DistributionSummary lateness;

        Instruments(MeterRegistry registry) {
            Tags tags = org.m365trace.Meters.source(api, tenant);
            fetched = Counter.builder("trace.rows.fetched").description("rows read from the API (windows read again count again)")
                    .tags(tags).register(registry);
            duplicate = Counter.builder("trace.records.duplicate").description("rows skipped as already forwarded")
                    .tags(tags).register(registry);
            filteredOut = Counter.builder("trace.records.filtered").description("rows not forwarded by trace.filter.statuses")
                    .tags(tags).register(registry);
            unusableRows = Counter.builder("trace.rows.unusable").description("rows that cannot become a record (kept in deadletter/source)")
                    .tags(tags).register(registry);
            deadLetters = Counter.builder("trace.dead.letters").description("records kept as dead letters, by sink (source: unusable rows)")
                    .tags(tags.and("sink", "source")).register(registry);
            window = Timer.builder("trace.window").description("time to read a window and hand over its records")
                    .tags(tags).serviceLevelObjectives(WINDOW_BUCKETS).register(registry);
            lateness = DistributionSummary.builder("trace.row.lateness").baseUnit("seconds")
                    .description("how long after its received time a row first appeared in the API, for rows absent at the first read")
                    .tags(tags).serviceLevelObjectives(LATENESS_BUCKETS).register(registry);
            if (!replay) {
                Gauge.builder("trace.checkpoint.lag", TraceStats.this, TraceStats::lagSeconds).baseUnit("seconds")
                        .description("now minus the end of the last committed window").tags(tags).register(registry);
            }
        }
    }

    private Instruments meters() {
        if (meters == null) {
            meters = new Instruments(org.m365trace.Meters.of(camelContext));
        }
        return meters;
    }

    /** A window starts: its counts start at 0 and the log lines of the polling thread name it. */
    public void startWindow(Exchange exchange) {
        meters();
        pages.set(0);
        rows.set(0);
        forwarded.set(0);
        duplicates.set(0);
        filtered.set(0);
        unusable.set(0);
        synchronized (perSink) {
            perSink.clear();
        }
        windowStarted = System.nanoTime();
        readBefore = measuresLateness() ? checkpoint.read() : null;
        // its text orders as the records' received does only in whole milliseconds; else every record is parsed
        readBeforeText = readBefore == null || readBefore.getNano() % 1_000_000 != 0 ? null : TraceRecords.formatInstant(readBefore);
        if (tenant != null && !tenant.isBlank()) {
            MDC.put("tenant", tenant);
        }
        MDC.put("window", String.valueOf(exchange.getProperty("traceWindow")));
    }

    /**
     * Whether the rows before the checkpoint were read lately enough for lateness to be measured to within a poll: by
     * this process, at most two polls (and a minute of slow windows) ago, so not across a restart or a failure episode.
     * Not in a replay, and not with {@code trace.filter.statuses}: a row read before in a status not forwarded is not
     * in the dedupe store, and its change to a forwarded status would look like a late row.
     */
    private boolean measuresLateness() {
        return !replay && !filtering && checkpoint != null && lastCommitAt != null
                && Duration.between(lastCommitAt, clock.instant()).compareTo(pollInterval.multipliedBy(2).plusMinutes(1)) <= 0;
    }

    /** The poll ends (read, failed or nothing to read): its lines no longer name a window. */
    public void endPoll() {
        MDC.remove("window");
        MDC.remove("tenant");
    }

    /** A page was read to its end: {@code rows} rows (unusable ones included). */
    public void page(int rows) {
        pages.incrementAndGet();
        this.rows.addAndGet(rows);
        meters().fetched.increment(rows);
    }

    public void duplicate() {
        duplicates.incrementAndGet();
        meters().duplicate.increment();
    }

    /** A row that {@code trace.filter.statuses} does not forward. */
    public void filtered() {
        filtered.incrementAndGet();
        meters().filteredOut.increment();
    }

    /** A row that cannot become a record, kept in the source's dead letters. */
    public void unusable() {
        unusable.incrementAndGet();
        meters().unusableRows.increment();
        meters().deadLetters.increment();
    }

    /**
     * New records went through the consuming route: {@code records} is the page's batch (a list of records) or one
     * record. Counts them per sink when that route names, in {@code sinks} (a comma list, header {@code traceSinks}),
     * the sinks that took them, and measures how late each appeared.
     */
    public void forwarded(Object records, String sinks) {
        List<?> batch = records instanceof List<?> list ? list : List.of(records);
        forwarded.addAndGet(batch.size());
        if (sinks != null && !sinks.isBlank()) {
            synchronized (perSink) {
                for (String sink : sinks.split(",")) {
                    perSink.merge(sink.trim(), (long) batch.size(), Long::sum);
                }
            }
        }
        if (readBefore == null) {
            return;
        }
        for (Object r : batch) {
            if (r instanceof Map<?, ?> record) {
                Duration late = lateness(TraceRecords.key(record), (String) record.get("received"));
                if (late != null) {
                    meters().lateness.record(late.toMillis() / 1000.0);
                }
            }
        }
    }

    /**
     * How late a new record appeared, or null when it is not late: received at or after the checkpoint (read for the
     * first time now), or a row already seen with another status (a status change, not a late row).
     */
    Duration lateness(String key, String received) {
        if (readBefore == null || key == null || received == null) {
            return null;
        }
        if (readBeforeText != null && received.length() == 24 && received.charAt(23) == 'Z' && received.compareTo(readBeforeText) >= 0) {
            return null;            // the record's own form (formatInstant) orders as its time does: no parse
        }
        Instant at;
        try {
            at = TraceRecords.parseDate(received);
        } catch (RuntimeException unreadable) {
            return null;
        }
        if (!at.isBefore(readBefore)) {
            return null;
        }
        int cut = key.lastIndexOf('|');
        if (cut < 0) {
            return null;
        }
        String row = key.substring(0, cut + 1);
        String status = key.substring(cut + 1);
        if (seen != null) {
            for (String other : TraceRecords.statuses()) {
                if (!other.equals(status) && seen.contains(row + other)) {
                    return null;
                }
            }
        }
        Duration late = Duration.between(at, clock.instant());
        return late.isNegative() ? Duration.ZERO : late;
    }

    /** Seconds from the end of the last committed window to now; NaN before the first one. */
    double lagSeconds() {
        Instant committed = checkpoint == null ? null : checkpoint.last();
        return committed == null ? Double.NaN : Duration.between(committed, clock.instant()).toMillis() / 1000.0;
    }

    /**
     * The window is read and committed: records its time and when it was committed, and returns its one log line:
     * {@code window <start>..<end>: } and the {@link #summary()}, with the tenant if any, and how long it took.
     */
    public String windowDone(Object window) {
        long nanos = System.nanoTime() - windowStarted;
        meters().window.record(Duration.ofNanos(nanos));
        lastCommitAt = clock.instant();
        return TraceTenants.label(tenant) + "window " + window + ": " + summary() + String.format(Locale.ROOT, " in %.1f s", nanos / 1e9);
    }

    /**
     * {@code 2 pages, 8 rows fetched, 6 forwarded (file 6, syslog 6), 2 duplicates skipped, 0 filtered out}, and when
     * there were any, {@code , 1 unusable (kept in deadletter/source)}.
     */
    public String summary() {
        long u = unusable.get();
        String sinks;
        synchronized (perSink) {
            sinks = perSink.isEmpty() ? "" : perSink.entrySet().stream().map(e -> e.getKey() + " " + e.getValue())
                    .collect(Collectors.joining(", ", " (", ")"));
        }
        return pages.get() + " pages, " + rows.get() + " rows fetched, " + forwarded.get() + " forwarded" + sinks + ", "
                + duplicates.get() + " duplicates skipped, " + filtered.get() + " filtered out"
                + (u > 0 ? ", " + u + " unusable (kept in deadletter/source)" : "");
    }

    public void setTenant(String tenant) {
        this.tenant = tenant;
    }

    public void setApi(String api) {
        this.api = api;
    }

    /** Non-empty in a replay run of a time range: no lag, and no lateness (nothing is read for the first time). */
    public void setReplayFrom(String replayFrom) {
        this.replay = replayFrom != null && !replayFrom.isBlank();
    }

    /** {@code trace.filter.statuses}: with a filter, lateness is not measured. */
    public void setFilterStatuses(String filterStatuses) {
        this.filtering = filterStatuses != null && !filterStatuses.isBlank();
    }

    public void setPollInterval(String pollInterval) {
        this.pollInterval = org.m365trace.Durations.parse("trace.pollInterval", pollInterval);
    }

    public void setCheckpoint(TraceCheckpoint checkpoint) {
        this.checkpoint = checkpoint;
    }

    public void setSeen(TraceSeenRepository seen) {
        this.seen = seen;
    }

    public void setClock(Clock clock) {
        this.clock = clock;
    }

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }
}
