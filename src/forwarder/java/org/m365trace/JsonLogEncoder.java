package org.m365trace;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Map;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.encoder.EncoderBase;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

/**
 * The log lines of {@code trace.log.format=json}: each event is one JSON object on one line, for log shippers:
 * <pre>
 * {"timestamp":"2026-11-30T14:01:30.123Z","level":"INFO","logger":"org.m365trace","message":"window ...","thread":"...","tenant":"contoso","window":"..."}
 * </pre>
 * {@code timestamp} is UTC with milliseconds; {@code tenant} and {@code window} are the SLF4J MDC keys of the same names,
 * left out when not set; {@code error} is the stack trace, present when the event has one. Newlines, quotes and control
 * characters are escaped, so an event never spans two lines; the line is UTF-8 and is written with one {@code write}.
 */
public class JsonLogEncoder extends EncoderBase<ILoggingEvent> {

    private static final JsonFactory JSON = new JsonFactory();
    private static final DateTimeFormatter TIMESTAMP = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")
            .withZone(ZoneOffset.UTC);

    @Override
    public byte[] headerBytes() {
        return null;
    }

    @Override
    public byte[] encode(ILoggingEvent event) {
        // a Writer, not bytes: a lone surrogate in a message then becomes '?' below instead of an exception that would
        // stop the appender
        StringWriter line = new StringWriter(256);
        try (JsonGenerator json = JSON.createGenerator(line)) {
            json.writeStartObject();
            json.writeStringField("timestamp", TIMESTAMP.format(Instant.ofEpochMilli(event.getTimeStamp())));
            json.writeStringField("level", String.valueOf(event.getLevel()));
            json.writeStringField("logger", String.valueOf(event.getLoggerName()));
            json.writeStringField("message", String.valueOf(event.getFormattedMessage()));
            json.writeStringField("thread", String.valueOf(event.getThreadName()));
            Map<String, String> mdc = event.getMDCPropertyMap();
            if (mdc != null) {
                optional(json, "tenant", mdc.get("tenant"));
                optional(json, "window", mdc.get("window"));
            }
            IThrowableProxy error = event.getThrowableProxy();
            if (error != null) {
                json.writeStringField("error", ThrowableProxyUtil.asString(error));
            }
            json.writeEndObject();
        } catch (IOException | RuntimeException e) {
            // a StringWriter does not fail; should anything else, the event still makes one line
            return ("{\"timestamp\":\"" + TIMESTAMP.format(Instant.ofEpochMilli(event.getTimeStamp()))
                    + "\",\"level\":\"ERROR\",\"logger\":\"" + JsonLogEncoder.class.getName()
                    + "\",\"message\":\"a log event could not be written as JSON\",\"thread\":\"\"}\n").getBytes(StandardCharsets.UTF_8);
        }
        line.write('\n');
        return line.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void optional(JsonGenerator json, String field, String value) throws IOException {
        if (value != null) {
            json.writeStringField(field, value);
        }
    }

    @Override
    public byte[] footerBytes() {
        return null;
    }
}
