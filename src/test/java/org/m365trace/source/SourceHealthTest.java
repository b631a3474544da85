package org.m365trace.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;

import org.apache.camel.health.HealthCheck;
import org.junit.jupiter.api.Test;

class SourceHealthTest {

    /** A clock the test moves. */
    private static final class Ticking extends Clock {
        Instant now = Instant.parse("2026-11-30T10:00:00Z");

        @Override
        public ZoneId getZone() {
            return ZoneId.of("UTC");
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    private final Ticking clock = new Ticking();

    private SourceHealth health(String tenant) {
        SourceHealth h = new SourceHealth();
        h.setTenant(tenant);
        h.setFailingFor("15m");
        h.setClock(clock);
        return h;
    }

    @Test
    void downOnceEveryPollFailedForLongerThanTheThresholdAndUpAtTheFirstWindowRead() {
        SourceHealth h = health("");
        assertEquals(HealthCheck.State.UP, h.call().getState(), "nothing failed yet");
        h.pollFailed(new IOException("refused"));
        clock.now = clock.now.plus(Duration.ofMinutes(10));
        h.pollFailed(new IOException("refused"));
        assertEquals(HealthCheck.State.UP, h.call().getState(), "failing for 10 minutes: within the threshold");
        clock.now = clock.now.plus(Duration.ofMinutes(6));
        h.pollFailed(new IOException("refused"));
        HealthCheck.Result down = h.call();
        assertEquals(HealthCheck.State.DOWN, down.getState(), "failing for 16 minutes");
        assertTrue(down.getMessage().orElse("").contains("trace.health.sourceFailingFor"), down.getMessage().toString());
        assertTrue(down.getMessage().orElse("").contains("the last: IOException: refused"), down.getMessage().toString());

        h.windowRead(window("09:40", "09:45"));
        assertEquals(HealthCheck.State.UP, h.call().getState(), "a window read");
        clock.now = clock.now.plus(Duration.ofMinutes(1));
        h.pollFailed(new IOException("refused"));
        assertEquals(HealthCheck.State.UP, h.call().getState(), "a new episode starts its own clock");
    }

    @Test
    void aWindowReadAgainInTheOverlapIsNoSignThatTheSourceMovesOn() {
        SourceHealth h = health("");
        h.windowRead(window("09:40", "09:45"));
        h.pollFailed(new IOException("the window after the checkpoint fails"));
        clock.now = clock.now.plus(Duration.ofMinutes(16));
        h.windowRead(window("09:35", "09:40"));     // windows shorter than the overlap: the re-read ones succeed
        h.pollFailed(new IOException("the window after the checkpoint fails"));
        assertEquals(HealthCheck.State.DOWN, h.call().getState(), "still stuck at 09:45");
        h.windowRead(window("09:45", "09:50"));
        assertEquals(HealthCheck.State.UP, h.call().getState(), "past the checkpoint");
    }

    private static TraceWindows.Window window(String from, String to) {
        return new TraceWindows.Window(Instant.parse("2026-11-30T" + from + ":00Z"), Instant.parse("2026-11-30T" + to + ":00Z"));
    }

    @Test
    void oneCheckPerTenantAndOnlyForReadiness() {
        assertEquals("trace-source", health("").getId());
        assertEquals("trace-source-contoso", health("contoso").getId());
        assertTrue(health("").isReadiness() && !health("").isLiveness(), "a restart does not mend the API");
    }
}
