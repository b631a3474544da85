package org.m365trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** trace.log.format=json: each event one line holding one JSON object, whatever its message. */
class JsonLogEncoderTest {

    static final ObjectMapper MAPPER = new ObjectMapper();
    final LoggerContext context = new LoggerContext();
    final JsonLogEncoder encoder = new JsonLogEncoder();

    JsonLogEncoderTest() {
        encoder.setContext(context);
        encoder.start();
    }

    private LoggingEvent event(String logger, Level level, String message, Throwable error, Object... args) {
        return event(Map.of(), logger, level, message, error, args);
    }

    private LoggingEvent event(Map<String, String> mdc, String logger, Level level, String message, Throwable error, Object... args) {
        LoggingEvent e = new LoggingEvent(Logger.class.getName(), context.getLogger(logger), level, message, error, args);
        e.setTimeStamp(Instant.parse("2026-11-30T14:01:30.123Z").toEpochMilli());
        e.setThreadName("Camel (m365-trace-forwarder) thread #3 - timer://trace-poll");
        e.setMDCPropertyMap(mdc);
        return e;
    }

    /** The encoded event as the one line it must be, parsed. */
    private JsonNode line(LoggingEvent e) {
        String line = new String(encoder.encode(e), StandardCharsets.UTF_8);
        assertTrue(line.endsWith("\n"), line);
        assertEquals(line.length() - 1, line.indexOf('\n'), "one line: " + line);
        assertFalse(line.contains("\r"), line);
        try {
            JsonNode json = MAPPER.readTree(line);
            assertTrue(json.isObject(), line);
            return json;
        } catch (IOException x) {
            throw new UncheckedIOException(line, x);
        }
    }

    private static List<String> fields(JsonNode json) {
        List<String> names = new ArrayList<>();
        json.fieldNames().forEachRemaining(names::add);
        return names;
    }

    @Test
    void an_event_is_timestamp_level_logger_message_thread() {
        JsonNode json = line(event("org.m365trace", Level.INFO, "window {}: {} pages", null, "2026-11-30T13:55:00.000Z..2026-11-30T14:00:00.000Z", 2));
        assertEquals(List.of("timestamp", "level", "logger", "message", "thread"), fields(json));
        assertEquals("2026-11-30T14:01:30.123Z", json.get("timestamp").asText());
        assertEquals("INFO", json.get("level").asText());
        assertEquals("org.m365trace", json.get("logger").asText());
        assertEquals("window 2026-11-30T13:55:00.000Z..2026-11-30T14:00:00.000Z: 2 pages", json.get("message").asText());
        assertEquals("Camel (m365-trace-forwarder) thread #3 - timer://trace-poll", json.get("thread").asText());
    }

    @Test
    void the_timestamp_is_utc_with_milliseconds_also_on_the_second() {
        LoggingEvent e = event("org.apache.camel.main.BaseMainSupport", Level.WARN, "m", null);
        e.setTimeStamp(Instant.parse("2026-01-02T03:04:05Z").toEpochMilli());
        JsonNode json = line(e);
        assertEquals("2026-01-02T03:04:05.000Z", json.get("timestamp").asText());
        assertEquals("WARN", json.get("level").asText());
        assertEquals("org.apache.camel.main.BaseMainSupport", json.get("logger").asText(), "the full name");
    }

    @Test
    void quotes_backslashes_newlines_control_characters_and_unicode_survive_on_one_line() {
        String message = "say \"hi\" to C:\\temp\\x\nsecond line\r\n\tthird\u0001\u001f end / é 日本 😀 \u2028 done";
        JsonNode json = line(event("org.m365trace", Level.ERROR, message, null));
        assertEquals(message, json.get("message").asText());
    }

    @Test
    void a_lone_surrogate_cannot_break_the_line() {
        JsonNode json = line(event("org.m365trace", Level.INFO, "cut \uD83D here", null));
        assertEquals("cut ? here", json.get("message").asText());
    }

    @Test
    void a_message_with_braces_and_no_arguments_is_kept_as_is() {
        JsonNode json = line(event("org.m365trace", Level.INFO, "{\"a\": [1, {}]}", null));
        assertEquals("{\"a\": [1, {}]}", json.get("message").asText());
    }

    @Test
    void an_exception_is_the_error_field_with_its_causes() {
        Exception error = new IllegalStateException("outer \"quoted\"\nmessage", new java.io.IOException("inner"));
        JsonNode json = line(event("org.m365trace", Level.WARN, "delivery failed", error));
        assertEquals(List.of("timestamp", "level", "logger", "message", "thread", "error"), fields(json));
        String trace = json.get("error").asText();
        assertTrue(trace.startsWith("java.lang.IllegalStateException: outer \"quoted\"\nmessage"), trace);
        assertTrue(trace.contains("\tat org.m365trace.JsonLogEncoderTest."), trace);
        assertTrue(trace.contains("Caused by: java.io.IOException: inner"), trace);
    }

    @Test
    void tenant_and_window_come_from_the_mdc_and_only_when_set() {
        JsonNode json = line(event(Map.of("tenant", "contoso", "window", "2026-11-30T13:55:00.000Z..2026-11-30T14:00:00.000Z",
                "other", "x"), "org.m365trace", Level.INFO, "m", null));
        assertEquals(List.of("timestamp", "level", "logger", "message", "thread", "tenant", "window"), fields(json));
        assertEquals("contoso", json.get("tenant").asText());
        assertEquals("2026-11-30T13:55:00.000Z..2026-11-30T14:00:00.000Z", json.get("window").asText());

        JsonNode tenantOnly = line(event(Map.of("tenant", "fabrikam"), "org.m365trace", Level.INFO, "m", null));
        assertEquals(List.of("timestamp", "level", "logger", "message", "thread", "tenant"), fields(tenantOnly));
    }

    @Test
    void the_mdc_of_slf4j_reaches_the_line() {
        LoggerContext logback = (LoggerContext) LoggerFactory.getILoggerFactory();
        MDC.put("tenant", "contoso");
        MDC.put("window", "w1");
        try {
            LoggingEvent e = new LoggingEvent(Logger.class.getName(), logback.getLogger("org.m365trace"), Level.INFO, "m", null, null);
            JsonNode json = line(e);
            assertEquals("contoso", json.get("tenant").asText());
            assertEquals("w1", json.get("window").asText());
        } finally {
            MDC.clear();
        }
    }
}
