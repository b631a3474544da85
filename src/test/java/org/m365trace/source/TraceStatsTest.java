package org.m365trace.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.m365trace.state.TraceCheckpoint;
import org.m365trace.state.TraceSeenRepository;

class TraceStatsTest {

    private static final Instant NOW = Instant.parse("2026-11-30T10:00:00Z");
    private static final Instant CHECKPOINT = Instant.parse("2026-11-30T09:45:00Z");

    @TempDir
    Path state;

    private final CamelContext context = new DefaultCamelContext();

    private TraceStats stats(TraceSeenRepository seen) throws IOException {
        TraceCheckpoint checkpoint = checkpoint();
        TraceStats stats = new TraceStats();
        stats.setApi("reporting");
        stats.setCheckpoint(checkpoint);
        stats.setSeen(seen);
        stats.setPollInterval("5m");
        stats.setClock(Clock.fixed(NOW, ZoneOffset.UTC));
        stats.startWindow(exchange());
        stats.windowDone("the previous window");     // committed by this process just now: the next read measures
        stats.startWindow(exchange());
        return stats;
    }

    /** The checkpoint in {@link #state}, at 09:45. */
    private TraceCheckpoint checkpoint() throws IOException {
        TraceCheckpoint checkpoint = new TraceCheckpoint();
        checkpoint.setStateDir(state.toString());
        checkpoint.commit(CHECKPOINT);
        return checkpoint;
    }

    private TraceSeenRepository seen() throws Exception {
        TraceSeenRepository seen = new TraceSeenRepository();
        seen.setFileStore(state.resolve("seen.dat").toString());
        seen.start();
        return seen;
    }

    private Exchange exchange() {
        Exchange e = new DefaultExchange(context);
        e.setProperty("traceWindow", "2026-11-30T09:15:00Z..2026-11-30T09:50:00Z");
        return e;
    }

    @Test
    void aNewRowReceivedBeforeTheCheckpointWasLate() throws Exception {
        TraceStats stats = stats(seen());
        assertEquals(Duration.ofMinutes(20), stats.lateness("id1|a@contoso.com|Delivered", "2026-11-30T09:40:00.000Z"),
                "read before up to 09:45 without it: it showed up 20 minutes after it was received");
        assertNull(stats.lateness("id2|a@contoso.com|Delivered", "2026-11-30T09:46:00.000Z"), "read for the first time now");
    }

    @Test
    void aStatusChangeIsNotALateRow() throws Exception {
        TraceSeenRepository seen = seen();
        seen.add("id1|a@contoso.com|Pending");
        TraceStats stats = stats(seen);
        assertNull(stats.lateness("id1|a@contoso.com|Delivered", "2026-11-30T09:40:00.000Z"), "its Pending row was read before");
        assertEquals(Duration.ofMinutes(20), stats.lateness("id1|b@contoso.com|Delivered", "2026-11-30T09:40:00.000Z"),
                "another recipient of the same message is a row of its own");
    }

    @Test
    void noLatenessWhenTheTimeBeforeTheCheckpointWasNotReadLately() throws Exception {
        TraceStats stats = stats(seen());
        stats.setClock(Clock.fixed(NOW.plus(Duration.ofHours(2)), ZoneOffset.UTC));
        stats.startWindow(exchange());
        assertNull(stats.lateness("id1|a@contoso.com|Delivered", "2026-11-30T09:40:00.000Z"),
                "the last read was two hours ago (an outage): when the row showed up in between is not known");

        TraceStats restarted = new TraceStats();
        restarted.setCheckpoint(checkpoint());
        restarted.setClock(Clock.fixed(NOW, ZoneOffset.UTC));
        restarted.startWindow(exchange());
        assertNull(restarted.lateness("id1|a@contoso.com|Delivered", "2026-11-30T09:40:00.000Z"), "read by an earlier process");
    }

    @Test
    void noLatenessWithAStatusFilter() throws Exception {
        TraceStats stats = stats(seen());
        stats.setFilterStatuses("Delivered,Failed");
        stats.startWindow(exchange());
        assertNull(stats.lateness("id1|a@contoso.com|Delivered", "2026-11-30T09:40:00.000Z"),
                "its Pending row may have been read and filtered out, and so not be in the dedupe store");
    }

    @Test
    void noLatenessBeforeTheFirstCheckpointNorInAReplay() throws Exception {
        TraceStats first = new TraceStats();
        first.setClock(Clock.fixed(NOW, ZoneOffset.UTC));
        first.startWindow(exchange());
        assertNull(first.lateness("id1|a@contoso.com|Delivered", "2026-11-30T09:40:00.000Z"), "nothing was read before");

        TraceStats replay = stats(seen());
        replay.setReplayFrom("2026-11-30T09:00:00Z");
        replay.startWindow(exchange());
        assertNull(replay.lateness("id1|a@contoso.com|Delivered", "2026-11-30T09:40:00.000Z"), "a replay reads again on purpose");
    }

    @Test
    void theWindowLineCountsEachSinkAndTheTimeItTook() throws Exception {
        TraceStats stats = stats(seen());
        stats.page(4);
        stats.duplicate();
        stats.filtered();
        stats.forwarded(List.of(Map.of("messageTraceId", "id1"), Map.of("messageTraceId", "id2")), "file,syslog");
        String line = stats.windowDone("W");
        assertTrue(line.matches("window W: 1 pages, 4 rows fetched, 2 forwarded \\(file 2, syslog 2\\), 1 duplicates skipped,"
                + " 1 filtered out in \\d+\\.\\d s"), line);
        assertEquals(15 * 60.0, stats.lagSeconds(), 0.001, "now (10:00) minus the checkpoint (09:45)");
    }
}
