package org.m365trace.source;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

import org.m365trace.Durations;
import org.m365trace.SettingException;
import org.m365trace.state.TraceCheckpoint;

/**
 * Window arithmetic: each poll reads {@code [checkpoint - overlap, now - delay]} (a first start:
 * {@code [now - initialLookback, now - delay]}), never further back than the API keeps traces, cut into
 * windows of at most {@code maxWindow}, oldest first.
 */
public class TraceWindows {

    /** One query window; both bounds are inclusive, as both APIs treat them. */
    public record Window(Instant start, Instant end) {
        @Override
        public String toString() {
            return TraceRecords.formatInstant(start) + ".." + TraceRecords.formatInstant(end);
        }
    }

    static final Duration GRAPH_MAX_WINDOW = Duration.ofDays(10);
    static final Duration GRAPH_MAX_LOOKBACK = Duration.ofDays(90);
    static final Duration REPORTING_MAX_LOOKBACK = Duration.ofDays(10);

    private Clock clock = Clock.systemUTC();
    private Duration delay = Duration.ofMinutes(15);
    private Duration overlap = Duration.ofHours(1);
    private Duration initialLookback = Duration.ofHours(1);
    private Duration maxWindow = Duration.ofDays(1);
    private Duration maxLookback;
    private String api = TraceRecords.GRAPH;
    private TraceCheckpoint checkpoint;
    /** A replay run of [replayFrom, replayTo): the windows not read yet start at replayDone. */
    private Instant replayDone;
    private Instant replayTo;

    /**
     * The windows of this poll, oldest first; empty when there is nothing to read yet. In a replay run: what is left of
     * the replayed range.
     */
    public synchronized List<Window> plan() {
        if (replayTo != null) {
            return cut(replayDone, replayTo, windowLength());
        }
        Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
        Instant saved = checkpoint == null ? null : checkpoint.read();
        return plan(saved, now);
    }

    /**
     * Every page of {@code window} was read and every record accepted by the consumer: the checkpoint moves to its end.
     * A replay run leaves the checkpoint alone and only remembers how far it got.
     */
    public synchronized void commit(Window window) throws IOException {
        if (replayTo != null) {
            if (window.end().isAfter(replayDone)) {
                replayDone = window.end();
            }
            return;
        }
        checkpoint.commit(window.end());
    }

    /** True in a replay run of a time range. */
    public boolean isReplay() {
        return replayTo != null;
    }

    /** The windows of a replay of [from, to) (ISO-8601), oldest first, each no longer than the API allows. */
    public List<Window> between(String from, String to) {
        return cut(Instant.parse(from.trim()), Instant.parse(to.trim()), windowLength());
    }

    private Duration windowLength() {
        return TraceRecords.GRAPH.equals(api) && maxWindow.compareTo(GRAPH_MAX_WINDOW) > 0 ? GRAPH_MAX_WINDOW : maxWindow;
    }

    private static List<Window> cut(Instant start, Instant end, Duration window) {
        List<Window> windows = new ArrayList<>();
        while (start.isBefore(end)) {
            Instant stop = start.plus(window).isBefore(end) ? start.plus(window) : end;
            windows.add(new Window(start, stop));
            start = stop;
        }
        return windows;
    }

    List<Window> plan(Instant checkpointAt, Instant now) {
        boolean graph = TraceRecords.GRAPH.equals(api);
        // Graph refuses a window over 10 days or starting more than 90 days back (400 BadRequest)
        Duration lookback = maxLookback != null ? maxLookback : graph ? GRAPH_MAX_LOOKBACK : REPORTING_MAX_LOOKBACK;
        if (graph && lookback.compareTo(GRAPH_MAX_LOOKBACK) > 0) {
            lookback = GRAPH_MAX_LOOKBACK;
        }
        Instant end = now.minus(delay);
        Instant start = checkpointAt == null ? now.minus(initialLookback) : checkpointAt.minus(overlap);
        // the API keeps traces for a limited time: a minute of margin so the first window is still accepted
        Instant oldest = now.minus(lookback).plus(Duration.ofMinutes(1));
        if (start.isBefore(oldest)) {
            start = oldest;
        }
        return cut(start, end, windowLength());
    }

    public void setClock(Clock clock) {
        this.clock = clock;
    }

    public void setDelay(String delay) {
        this.delay = Durations.parse("trace.delay", delay);
    }

    public void setOverlap(String overlap) {
        this.overlap = Durations.parse("trace.overlap", overlap);
    }

    public void setInitialLookback(String initialLookback) {
        this.initialLookback = Durations.parse("trace.initialLookback", initialLookback);
    }

    public void setMaxWindow(String maxWindow) {
        Duration d = Durations.parse("trace.maxWindow", maxWindow);
        if (d.isZero()) {
            throw new SettingException("trace.maxWindow", "a duration longer than zero", maxWindow);
        }
        this.maxWindow = d;
    }

    /** How far back the API keeps traces; empty: the API's own (graph 90d, reporting 10d). */
    public void setMaxLookback(String maxLookback) {
        this.maxLookback = maxLookback == null || maxLookback.isBlank() ? null : Durations.parse("trace.maxLookback", maxLookback);
    }

    /** Start of a replay run (ISO-8601, inclusive); empty: a normal run. */
    public void setReplayFrom(String replayFrom) {
        this.replayDone = blank(replayFrom) ? null : instant("trace.replay.from", replayFrom);
    }

    /** End of a replay run (ISO-8601, exclusive). */
    public void setReplayTo(String replayTo) {
        this.replayTo = blank(replayTo) ? null : instant("trace.replay.to", replayTo);
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }

    private static Instant instant(String property, String value) {
        try {
            return Instant.parse(value.trim());
        } catch (RuntimeException e) {
            throw new SettingException(property, "an ISO-8601 UTC time such as 2026-11-20T00:00:00Z", value);
        }
    }

    public void setApi(String api) {
        this.api = api;
    }

    public void setCheckpoint(TraceCheckpoint checkpoint) {
        this.checkpoint = checkpoint;
    }
}
