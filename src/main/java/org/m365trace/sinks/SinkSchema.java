package org.m365trace.sinks;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.m365trace.source.TracePage;
import org.m365trace.source.TraceRecords;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The shape one sink writes a record in ({@code trace.<sink>.schema}): the record as the source gave it
 * ({@code normalized}), its ECS document ({@code ecs}, {@link EcsRecord}) or the row as the API served it ({@code raw},
 * the source's header {@code traceRaw}). Each sink's route turns a record into its document before the spool, so that
 * the spool, the dead letters and a replay hold exactly what the sink sends.
 * <p>
 * A line that is not a normalized record (no {@code messageTraceId}: a dead letter replayed to its sink, already in the
 * sink's schema) is passed on unchanged. With {@code timeGenerated} (the azure-monitor preset) each document gains
 * {@code TimeGenerated}, the record's {@code received}, first.
 */
public class SinkSchema {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** Null until set: the bean's properties are bound in no fixed order, and the sink names the setting in errors. */
    private String sink;
    private String schema = "";
    private String preset = HttpPreset.GENERIC;
    private final EcsRecord ecs = new EcsRecord();

    /**
     * The sink's documents of a page's batch, in its order: each a record (a map, as the source emits it in batches;
     * a {@link TracePage.Row} also has its raw row) or a line (a dead letter replayed, or a record's JSON).
     */
    public List<String> documents(List<?> records) {
        List<String> out = new ArrayList<>(records.size());
        TraceSchema shape = schema();
        boolean timeGenerated = HttpPreset.AZURE_MONITOR.equals(preset);
        for (Object record : records) {
            out.add(record instanceof Map<?, ?> map ? document(map, shape, timeGenerated) : document(String.valueOf(record), null));
        }
        return out;
    }

    /** The sink's document, in {@code shape}, of a record given as its map. */
    private String document(Map<?, ?> record, TraceSchema shape, boolean timeGenerated) {
        String json = TraceRecords.json(record);
        if (shape == TraceSchema.NORMALIZED && !timeGenerated) {
            return json;
        }
        String document = switch (shape) {
            case NORMALIZED -> json;
            case ECS -> ecs.toEcs(MAPPER.valueToTree(record));
            case RAW -> record instanceof TracePage.Row row && row.raw() != null ? row.raw().toString() : json;
        };
        return timeGenerated ? withTimeGenerated(document, (String) record.get("received")) : document;
    }

    /** The sink's document of a record (its JSON) whose raw row (or null) is {@code raw}. */
    public String document(String record, String raw) {
        TraceSchema shape = schema();
        boolean timeGenerated = HttpPreset.AZURE_MONITOR.equals(preset);
        if (shape == TraceSchema.NORMALIZED && !timeGenerated) {
            return record;
        }
        JsonNode normalized = read(record);
        if (!normalized.has("messageTraceId")) {
            return record;              // a dead letter replayed: it is in this sink's schema already
        }
        String document = switch (shape) {
            case NORMALIZED -> record;
            case ECS -> ecs.toEcs(normalized);
            case RAW -> raw == null ? record : raw;
        };
        return timeGenerated ? withTimeGenerated(document, normalized.path("received").asText(null)) : document;
    }

    /** The schema in effect: the setting, else ecs for the elastic-bulk preset and normalized otherwise. */
    public TraceSchema schema() {
        if (schema.isBlank()) {
            return HttpPreset.ELASTIC_BULK.equals(preset) ? TraceSchema.ECS : TraceSchema.NORMALIZED;
        }
        return TraceSchema.of("trace." + (sink == null ? "file" : sink) + ".schema", schema);
    }

    /** The document with {@code TimeGenerated} first (Azure Monitor's time column). */
    private static String withTimeGenerated(String document, String received) {
        JsonNode doc = read(document);
        if (!(doc instanceof ObjectNode object) || object.has("TimeGenerated")) {
            return document;
        }
        ObjectNode out = MAPPER.createObjectNode();
        out.put("TimeGenerated", received);
        out.setAll(object);
        return out.toString();
    }

    /**
     * When a document's row was received, whatever its schema: {@code received} (normalized), {@code @timestamp}
     * (ECS), {@code TimeGenerated}, {@code receivedDateTime} or {@code Received} (raw); null when it has none.
     */
    public static Instant received(JsonNode document) {
        for (String field : List.of("received", "@timestamp", "TimeGenerated", "receivedDateTime", "Received")) {
            JsonNode v = document.get(field);
            if (v != null && v.isTextual()) {
                try {
                    return TraceRecords.parseDate(v.asText());
                } catch (RuntimeException unreadable) {
                    // try the next
                }
            }
        }
        return null;
    }

    /** A record, document or reply of the sinks' JSON; not JSON fails with the parser's words. */
    static JsonNode read(String json) {
        try {
            return MAPPER.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException("not valid JSON: " + e.getMessage(), e);
        }
    }

    /** {@code file}, {@code syslog} or {@code http}: names the setting in errors. */
    public void setSink(String sink) {
        this.sink = sink;
        schema();        // a wrong schema given before the sink stops the start here, naming this sink's setting
    }

    /** {@code trace.<sink>.schema}: normalized, ecs or raw; blank: the preset's default (normalized). */
    public void setSchema(String schema) {
        this.schema = schema == null ? "" : schema.strip();
        if (sink != null) {
            schema();    // a wrong value stops the start (else once the sink is set)
        }
    }

    /** {@code trace.http.preset} (the HTTP sink only): elastic-bulk defaults to ecs, azure-monitor adds TimeGenerated. */
    public void setPreset(String preset) {
        this.preset = preset == null || preset.isBlank() ? HttpPreset.GENERIC : preset.strip();
    }
}
