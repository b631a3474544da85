package org.m365trace.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.m365trace.SettingException;

class TraceWindowsTest {

    private static final Instant NOW = Instant.parse("2026-03-02T12:00:00Z");

    private static TraceWindows windows(String delay, String overlap, String initialLookback, String maxWindow, String maxLookback) {
        TraceWindows w = new TraceWindows();
        w.setDelay(delay);
        w.setOverlap(overlap);
        w.setInitialLookback(initialLookback);
        w.setMaxWindow(maxWindow);
        w.setMaxLookback(maxLookback);
        return w;
    }

    @Test
    void firstStartBeginsAtInitialLookback() {
        List<TraceWindows.Window> plan = windows("15m", "1h", "1h", "1d", "10d").plan(null, NOW);
        assertEquals(List.of(new TraceWindows.Window(NOW.minus(Duration.ofHours(1)), NOW.minus(Duration.ofMinutes(15)))), plan);
    }

    @Test
    void withCheckpointStartsAtCheckpointMinusOverlapAndEndsAtNowMinusDelay() {
        Instant checkpoint = NOW.minus(Duration.ofMinutes(20));
        List<TraceWindows.Window> plan = windows("15m", "1h", "1h", "1d", "10d").plan(checkpoint, NOW);
        assertEquals(1, plan.size());
        assertEquals(Instant.parse("2026-03-02T10:40:00Z"), plan.get(0).start());
        assertEquals(Instant.parse("2026-03-02T11:45:00Z"), plan.get(0).end());
    }

    @Test
    void longCatchUpIsCutIntoContiguousWindowsOldestFirst() {
        TraceWindows w = windows("15m", "1h", "30d", "10d", "90d");
        List<TraceWindows.Window> plan = w.plan(null, NOW);
        assertEquals(3, plan.size());
        assertEquals(NOW.minus(Duration.ofDays(30)), plan.get(0).start());
        assertEquals(NOW.minus(Duration.ofMinutes(15)), plan.get(plan.size() - 1).end());
        for (int i = 0; i < plan.size(); i++) {
            TraceWindows.Window win = plan.get(i);
            assertTrue(win.start().isBefore(win.end()), "window " + win + " is not empty");
            assertFalse(Duration.between(win.start(), win.end()).compareTo(Duration.ofDays(10)) > 0, "window " + win + " longer than 10 days");
            if (i > 0) {
                assertEquals(plan.get(i - 1).end(), win.start(), "windows are contiguous");
                assertTrue(plan.get(i - 1).start().isBefore(win.start()), "oldest first");
            }
        }
    }

    @Test
    void catchUpFromACheckpointIsAlsoCut() {
        TraceWindows w = windows("0s", "0s", "1h", "1d", "90d");
        List<TraceWindows.Window> plan = w.plan(NOW.minus(Duration.ofHours(60)), NOW);
        assertEquals(3, plan.size());
        assertEquals(Duration.ofDays(1), Duration.between(plan.get(0).start(), plan.get(0).end()));
        assertEquals(Duration.ofDays(1), Duration.between(plan.get(1).start(), plan.get(1).end()));
        assertEquals(Duration.ofHours(12), Duration.between(plan.get(2).start(), plan.get(2).end()));
        assertEquals(NOW, plan.get(2).end());
    }

    @Test
    void startIsClampedToMaxLookbackPlusOneMinute() {
        TraceWindows w = windows("15m", "1h", "1h", "30d", "10d");
        List<TraceWindows.Window> fromCheckpoint = w.plan(NOW.minus(Duration.ofDays(20)), NOW);
        assertEquals(NOW.minus(Duration.ofDays(10)).plus(Duration.ofMinutes(1)), fromCheckpoint.get(0).start());
        assertEquals(1, fromCheckpoint.size());

        TraceWindows first = windows("15m", "1h", "30d", "1d", "10d");
        List<TraceWindows.Window> plan = first.plan(null, NOW);
        assertEquals(NOW.minus(Duration.ofDays(10)).plus(Duration.ofMinutes(1)), plan.get(0).start());
        assertEquals(10, plan.size());
    }

    @Test
    void nothingToReadGivesNoWindow() {
        TraceWindows w = windows("15m", "0s", "1h", "1d", "10d");
        assertTrue(w.plan(NOW, NOW).isEmpty(), "checkpoint after now - delay");
        assertTrue(w.plan(NOW.minus(Duration.ofMinutes(15)), NOW).isEmpty(), "start == end");
        TraceWindows noLookback = windows("15m", "0s", "10m", "1d", "10d");
        assertTrue(noLookback.plan(null, NOW).isEmpty(), "initial lookback shorter than the delay");
    }

    @Test
    void zeroMaxWindowIsRefused() {
        TraceWindows w = new TraceWindows();
        SettingException e = assertThrows(SettingException.class, () -> w.setMaxWindow("0s"));
        assertTrue(e.getMessage().startsWith("trace.maxWindow"), e.getMessage());
    }

    @Test
    void badDurationIsRefusedNamingTheProperty() {
        TraceWindows w = new TraceWindows();
        SettingException e = assertThrows(SettingException.class, () -> w.setOverlap("an hour"));
        assertTrue(e.getMessage().startsWith("trace.overlap"), e.getMessage());
    }
}
