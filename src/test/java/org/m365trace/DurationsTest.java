package org.m365trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DurationsTest {

    @Test
    void parsesCamelDurations() {
        assertEquals(Duration.ofMillis(500), Durations.parse("p", "500ms"));
        assertEquals(Duration.ofSeconds(30), Durations.parse("p", "30s"));
        assertEquals(Duration.ofMinutes(5), Durations.parse("p", "5m"));
        assertEquals(Duration.ofMinutes(90), Durations.parse("p", "1h30m"));
        assertEquals(Duration.ofDays(10), Durations.parse("p", "10d"));
        assertEquals(Duration.ofMillis(1000), Durations.parse("p", "1000"));
        assertEquals(Duration.ZERO, Durations.parse("p", "0s"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"abc", "", "5 minutes", "5x", "-5m", "m"})
    void refusesNonDurationsNamingTheProperty(String value) {
        SettingException e = assertThrows(SettingException.class, () -> Durations.parse("trace.pollInterval", value));
        assertTrue(e.getMessage().startsWith("trace.pollInterval"), e.getMessage());
    }

    @Test
    void refusesNull() {
        SettingException e = assertThrows(SettingException.class, () -> Durations.parse("trace.delay", null));
        assertTrue(e.getMessage().startsWith("trace.delay"), e.getMessage());
    }

    @Test
    void refusesNumbersTooLargeNamingTheProperty() {
        for (String value : new String[] {"99999999999999999999", "99999999999999999999s"}) {
            SettingException e = assertThrows(SettingException.class, () -> Durations.parse("trace.delay", value), value);
            assertTrue(e.getMessage().startsWith("trace.delay"), e.getMessage());
        }
    }
}
