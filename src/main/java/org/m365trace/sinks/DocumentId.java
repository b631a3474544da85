package org.m365trace.sinks;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

import org.m365trace.source.TraceRecords;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A stable id of a record for receivers that deduplicate by id (Elasticsearch's {@code _id} in {@code _bulk}
 * {@code create} actions): the same record read again, sent again or replayed always gets the same id, so it can
 * never become a second document; a status change ({@code Pending} to {@code Delivered}) is a new record, and gets a
 * new id, exactly as the source's dedupe forwards it again.
 * <p>
 * The id is {@code base64url(SHA-256(UTF-8 of "messageTraceId|recipientAddress|status"))} without padding: 43
 * characters of {@code [A-Za-z0-9_-]}. The text digested is the source's dedupe key
 * ({@code TraceRecords.key}: a missing value is written {@code null}). The tenant is not part of it: trace ids are
 * GUIDs, unique across tenants. <b>This definition must never change</b>: ids already in an index would no longer
 * match, and every record sent again would be doubled.
 */
public final class DocumentId {

    private static final Base64.Encoder BASE64URL = Base64.getUrlEncoder().withoutPadding();

    private DocumentId() {
    }

    /**
     * The id of a record in any schema: normalized (or any object with its three key fields), ECS (its
     * {@code m365.message_trace}) or raw (Microsoft's field names, the status normalized): a row has the same id
     * whichever schema it is sent in.
     */
    public static String of(JsonNode record) {
        return digest(key(record));
    }

    /**
     * The source's dedupe key of a record in any schema ({@code messageTraceId|recipientAddress|status}, a missing value
     * written {@code null}, as {@code TraceRecords.key} writes it): the Kafka sink's message key.
     */
    public static String key(JsonNode record) {
        JsonNode trace = record.path("m365").path("message_trace");
        if (trace.isObject()) {
            record = trace;
        }
        if (record.has("MessageTraceId")) {
            return key(text(record, "MessageTraceId"), text(record, "RecipientAddress"), TraceRecords.status(text(record, "Status")));
        }
        if (!record.has("messageTraceId") && record.has("id")) {
            return key(text(record, "id"), text(record, "recipientAddress"), TraceRecords.status(text(record, "status")));
        }
        return key(text(record, "messageTraceId"), text(record, "recipientAddress"), text(record, "status"));
    }

    private static String key(String messageTraceId, String recipientAddress, String status) {
        return messageTraceId + "|" + recipientAddress + "|" + status;
    }

    public static String of(String messageTraceId, String recipientAddress, String status) {
        return digest(key(messageTraceId, recipientAddress, status));
    }

    /** The id of a dedupe key as {@code TraceRecords.key} writes it. */
    public static String digest(String key) {
        try {
            return BASE64URL.encodeToString(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    private static String text(JsonNode record, String field) {
        JsonNode v = record.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}
