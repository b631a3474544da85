package org.m365trace.sinks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.m365trace.SettingException;

class Rfc5424Test {

    private static final String TS = "2026-03-02T09:58:41.512Z";
    private static final String JSON = "{\"messageTraceId\":\"x\",\"status\":\"Delivered\"}";

    private static Rfc5424 rfc(String facility) {
        Rfc5424 r = new Rfc5424();
        r.setFacility(facility);
        r.setAppName("m365-trace");
        r.setHostname("host1");
        return r;
    }

    @Test
    void formatsHeaderAndJson() {
        assertEquals("<134>1 " + TS + " host1 m365-trace - - - " + JSON, rfc("local0").format(JSON, TS, "Delivered"));
    }

    @Test
    void priorityFollowsStatus() {
        Rfc5424 r = rfc("local0");
        assertTrue(r.format(JSON, TS, "Failed").startsWith("<132>1 "));
        assertTrue(r.format(JSON, TS, "Delivered").startsWith("<134>1 "));
        assertTrue(r.format(JSON, TS, "FilteredAsSpam").startsWith("<133>1 "));
        assertTrue(r.format(JSON, TS, "Quarantined").startsWith("<133>1 "));
        assertTrue(r.format(JSON, TS, "Pending").startsWith("<134>1 "));
    }

    @Test
    void mailFacility() {
        assertTrue(rfc("mail").format(JSON, TS, "Delivered").startsWith("<22>1 "));
        assertTrue(rfc("MAIL").format(JSON, TS, "Failed").startsWith("<20>1 "));
        assertTrue(rfc("local7").format(JSON, TS, "Delivered").startsWith("<190>1 "));
    }

    @Test
    void configuredAppNameAndFailedSeverity() {
        Rfc5424 r = rfc("local0");
        r.setAppName("my-app");
        assertEquals("<132>1 " + TS + " host1 my-app - - - " + JSON, r.format(JSON, TS, "Failed"));
    }

    @Test
    void messageIsOneLine() {
        String msg = rfc("local0").format("{\"subject\":\"a\\nb\"}", TS, "Delivered");
        assertFalse(msg.contains("\n"), msg);
    }

    @Test
    void unknownFacilityIsRefused() {
        Rfc5424 r = new Rfc5424();
        SettingException e = assertThrows(SettingException.class, () -> r.setFacility("local9"));
        assertTrue(e.getMessage().startsWith("trace.syslog.facility"), e.getMessage());
        assertThrows(SettingException.class, () -> r.setFacility(null));
    }

    @Test
    void appNameWithSpaceIsRefused() {
        Rfc5424 r = new Rfc5424();
        SettingException e = assertThrows(SettingException.class, () -> r.setAppName("m365 trace"));
        assertTrue(e.getMessage().startsWith("trace.syslog.appName"), e.getMessage());
        assertThrows(SettingException.class, () -> r.setAppName(""));
        assertThrows(SettingException.class, () -> r.setAppName("x".repeat(49)));
    }

    @Test
    void localHostnameIsPrintableAscii() {
        String h = new Rfc5424().getHostname();
        assertFalse(h.isEmpty());
        assertTrue(h.chars().allMatch(c -> c > 32 && c < 127), h);
    }
}
