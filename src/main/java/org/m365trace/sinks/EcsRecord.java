package org.m365trace.sinks;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.Locale;

import org.m365trace.source.TraceDirection;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Turns a normalized record (the contract's JSON, as the sinks get it) into an Elastic Common Schema 8.x document on
 * one line, for {@code trace.<sink>.schema=ecs} (issue 13). The mapping follows Elastic's Exchange Online message
 * trace integration:
 *
 * <pre>
 * &#64;timestamp               received
 * ecs.version              {@value #ECS_VERSION}
 * email.from.address       senderAddress
 * email.to.address         [recipientAddress]
 * email.subject            subject
 * email.message_id         messageId
 * email.local_id           messageTraceId
 * email.delivery_timestamp received
 * email.direction          the record's direction (trace.localDomains, added by the source), else from
 *                          {@link #setLocalDomains}; absent when neither is set
 * source.ip                fromIP
 * destination.ip           toIP
 * event.kind               "event"
 * event.category           ["email"]
 * event.type               ["info"]
 * event.action             status, lower case (delivered, filteredasspam, ...)
 * event.outcome            Delivered: success, Failed: failure, anything else: unknown
 * event.dataset            {@link #setDataset} (m365.message_trace)
 * related.user             [senderAddress, recipientAddress] (each once)
 * observer.vendor          "Microsoft"
 * observer.product         "Exchange Online"
 * m365.message_trace       the normalized record itself, as it came (organization, api, tenant, events, ...)
 * </pre>
 *
 * Fields are nested objects, in the order above. A null or missing value leaves its ECS field out (never
 * {@code null}, never {@code "null"}); {@code m365.message_trace} is the record unchanged, its nulls included, so
 * nothing is lost. Thread-safe; one shared {@link ObjectMapper}; the document is written with a streaming generator.
 */
public class EcsRecord {

    public static final String DEFAULT_DATASET = "m365.message_trace";
    /** The ECS version the documents follow. */
    public static final String ECS_VERSION = "8.11.0";

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private volatile TraceDirection direction = TraceDirection.off();
    private volatile String dataset = DEFAULT_DATASET;

    /** {@code trace.localDomains}: adds {@code email.direction}; blank (the default) leaves it out. */
    public void setLocalDomains(String localDomains) {
        this.direction = TraceDirection.of(localDomains);
    }

    public void setDirection(TraceDirection direction) {
        this.direction = direction == null ? TraceDirection.off() : direction;
    }

    /** {@code event.dataset}; blank: {@value #DEFAULT_DATASET}. */
    public void setDataset(String dataset) {
        this.dataset = dataset == null || dataset.isBlank() ? DEFAULT_DATASET : dataset.strip();
    }

    /** The ECS document of a normalized record's JSON. */
    public String toEcs(String normalizedJson) {
        JsonNode record;
        try {
            record = MAPPER.readTree(normalizedJson);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("a record is not valid JSON: " + e.getOriginalMessage(), e);
        }
        return toEcs(record);
    }

    /** The ECS document of a normalized record. */
    public String toEcs(JsonNode record) {
        if (record == null || !record.isObject()) {
            throw new IllegalArgumentException("a record is not a JSON object");
        }
        StringWriter out = new StringWriter(1024);
        try (JsonGenerator g = MAPPER.getFactory().createGenerator(out)) {
            write(record, g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);            // a StringWriter does not fail
        }
        return out.toString();
    }

    private void write(JsonNode r, JsonGenerator g) throws IOException {
        String received = text(r, "received");
        String sender = text(r, "senderAddress");
        String recipient = text(r, "recipientAddress");
        String status = text(r, "status");
        String fromIp = text(r, "fromIP");
        String toIp = text(r, "toIP");

        g.writeStartObject();
        field(g, "@timestamp", received);
        g.writeObjectFieldStart("ecs");
        g.writeStringField("version", ECS_VERSION);
        g.writeEndObject();

        g.writeObjectFieldStart("email");
        if (sender != null) {
            g.writeObjectFieldStart("from");
            g.writeStringField("address", sender);
            g.writeEndObject();
        }
        if (recipient != null) {
            g.writeObjectFieldStart("to");
            g.writeArrayFieldStart("address");
            g.writeString(recipient);
            g.writeEndArray();
            g.writeEndObject();
        }
        field(g, "subject", text(r, "subject"));
        field(g, "message_id", text(r, "messageId"));
        field(g, "local_id", text(r, "messageTraceId"));
        field(g, "delivery_timestamp", received);
        String recorded = text(r, "direction");
        field(g, "direction", recorded != null ? recorded : direction.of(sender, recipient));
        g.writeEndObject();

        if (fromIp != null) {
            g.writeObjectFieldStart("source");
            g.writeStringField("ip", fromIp);
            g.writeEndObject();
        }
        if (toIp != null) {
            g.writeObjectFieldStart("destination");
            g.writeStringField("ip", toIp);
            g.writeEndObject();
        }

        g.writeObjectFieldStart("event");
        g.writeStringField("kind", "event");
        g.writeArrayFieldStart("category");
        g.writeString("email");
        g.writeEndArray();
        g.writeArrayFieldStart("type");
        g.writeString("info");
        g.writeEndArray();
        field(g, "action", status == null ? null : status.toLowerCase(Locale.ROOT));
        g.writeStringField("outcome", outcome(status));
        g.writeStringField("dataset", dataset);
        g.writeEndObject();

        if (sender != null || recipient != null) {
            g.writeObjectFieldStart("related");
            g.writeArrayFieldStart("user");
            if (sender != null) {
                g.writeString(sender);
            }
            if (recipient != null && !recipient.equals(sender)) {
                g.writeString(recipient);
            }
            g.writeEndArray();
            g.writeEndObject();
        }

        g.writeObjectFieldStart("observer");
        g.writeStringField("vendor", "Microsoft");
        g.writeStringField("product", "Exchange Online");
        g.writeEndObject();

        g.writeObjectFieldStart("m365");
        g.writeFieldName("message_trace");
        MAPPER.writeTree(g, r);
        g.writeEndObject();

        g.writeEndObject();
    }

    /** {@code event.outcome}: {@code Delivered} is success, {@code Failed} failure, any other status unknown. */
    static String outcome(String status) {
        if ("Delivered".equalsIgnoreCase(status)) {
            return "success";
        }
        if ("Failed".equalsIgnoreCase(status)) {
            return "failure";
        }
        return "unknown";
    }

    private static void field(JsonGenerator g, String name, String value) throws IOException {
        if (value != null) {
            g.writeStringField(name, value);
        }
    }

    /** A value as text, or null when missing or JSON null. */
    private static String text(JsonNode r, String field) {
        JsonNode v = r.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}
