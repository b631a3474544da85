package org.m365trace.sinks;

import java.time.Instant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The {@code splunk-hec} preset: Splunk's HTTP Event Collector ({@code /services/collector/event}). The body is the
 * batch's events, each {@code {"time", "host", "source", "sourcetype", "index", "event": <document>}}, one a line.
 * With indexer acknowledgement the reply carries an {@code ackId}, which {@code /services/collector/ack} reports true
 * once the events are indexed.
 */
final class SplunkHec {

    private SplunkHec() {
    }

    /** The events of a batch; {@code index} blank: the token's default index. */
    static String body(String batch, String host, String source, String sourcetype, String index) {
        ObjectNode meta = HttpPreset.MAPPER.createObjectNode();
        meta.put("host", host);
        meta.put("source", source);
        meta.put("sourcetype", sourcetype);
        if (!index.isBlank()) {
            meta.put("index", index);
        }
        String fields = meta.toString();
        fields = fields.substring(1, fields.length() - 1);       // "host":…,"source":…
        StringBuilder out = new StringBuilder(batch.length() + 200 * 500);
        for (String line : ElasticBulk.lines(batch)) {
            Instant received = SinkSchema.received(SinkSchema.read(line));
            out.append("{\"time\":").append(received == null ? "null" : epochSeconds(received)).append(',').append(fields)
                    .append(",\"event\":").append(line).append("}\n");
        }
        return out.toString();
    }

    /** Epoch seconds with milliseconds, as HEC's {@code time} wants it: {@code 1659020996.164}. */
    static String epochSeconds(Instant t) {
        return t.getEpochSecond() + "." + String.format("%03d", t.getNano() / 1_000_000);
    }

    /** The ackId of a 2xx reply (indexer acknowledgement on), or -1 when it has none. */
    static long ackId(String body) {
        JsonNode id = SinkSchema.read(body).path("ackId");
        return id.canConvertToLong() ? id.asLong() : -1;
    }

    /** Whether an ack reply ({@code {"acks":{"7":true}}}) reports {@code ackId} indexed. */
    static boolean acked(String body, long ackId) {
        return SinkSchema.read(body).path("acks").path(String.valueOf(ackId)).asBoolean(false);
    }

    /** A HEC error reply in its own words: {@code HEC code 4, Invalid token}; the body as it is when it is not one. */
    static String error(String body) {
        JsonNode reply = readOrNull(body);
        if (reply == null || !reply.has("code")) {
            return body;
        }
        return "HEC code " + reply.path("code").asText() + ", " + reply.path("text").asText("")
                + (reply.has("invalid-event-number") ? " (event " + reply.path("invalid-event-number").asText() + " of the batch)" : "");
    }

    private static JsonNode readOrNull(String json) {
        try {
            return json == null || json.isBlank() ? null : HttpPreset.MAPPER.readTree(json);
        } catch (java.io.IOException notJson) {
            return null;
        }
    }

    /** The ack endpoint beside the event endpoint: {@code …/services/collector/ack}. */
    static String ackUrl(String eventUrl) {
        int at = eventUrl.indexOf("/services/collector");
        if (at >= 0) {
            return eventUrl.substring(0, at) + "/services/collector/ack";
        }
        java.net.URI uri = java.net.URI.create(eventUrl);
        return uri.getScheme() + "://" + uri.getRawAuthority() + "/services/collector/ack";
    }
}
