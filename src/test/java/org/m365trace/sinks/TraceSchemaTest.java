package org.m365trace.sinks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.m365trace.SettingException;

class TraceSchemaTest {

    @Test
    void namesCaseInsensitivelyAndBlankIsNormalized() {
        assertEquals(TraceSchema.NORMALIZED, TraceSchema.of("trace.file.schema", null));
        assertEquals(TraceSchema.NORMALIZED, TraceSchema.of("trace.file.schema", " "));
        assertEquals(TraceSchema.NORMALIZED, TraceSchema.of("trace.file.schema", "normalized"));
        assertEquals(TraceSchema.ECS, TraceSchema.of("trace.http.schema", " ECS "));
        assertEquals(TraceSchema.RAW, TraceSchema.of("trace.syslog.schema", "Raw"));
        assertEquals("ecs", TraceSchema.ECS.toString());
    }

    @Test
    void aWrongNameIsOneLineNamingTheSetting() {
        SettingException e = assertThrows(SettingException.class, () -> TraceSchema.of("trace.syslog.schema", "cef"));
        assertEquals("trace.syslog.schema: expected normalized, ecs or raw, got 'cef'", e.getMessage());
    }
}
