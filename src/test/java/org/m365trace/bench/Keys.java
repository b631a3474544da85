package org.m365trace.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.function.LongConsumer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

/**
 * Records as 64-bit hashes of their dedupe key {@code messageTraceId|recipientAddress|status} (contract.md): what the
 * benchmark compares to find rows missing or doubled in a sink. A 64-bit hash of a million keys collides with odds of
 * about one in 30 million.
 */
final class Keys {

    /** The hash of a record that lacks one of the three fields. */
    static final long UNREADABLE = 0x7fff_ffff_ffff_fff1L;
    private static final JsonFactory JSON = new JsonFactory();
    /**
     * The tenants run: a record's hash also covers its {@code tenant} field, as every tenant there forwards the same
     * rows. Set by the benchmark around that run only (the receivers read on other threads).
     */
    static volatile boolean perTenant;

    private Keys() {
    }

    static long hash(String traceId, String recipient, String status) {
        long h = 0xcbf29ce484222325L;
        h = fnv(h, traceId);
        h = (h ^ '|') * 0x100000001b3L;
        h = fnv(h, recipient);
        h = (h ^ '|') * 0x100000001b3L;
        h = fnv(h, status);
        h = (h ^ (h >>> 33)) * 0xff51afd7ed558ccdL;
        h = (h ^ (h >>> 33)) * 0xc4ceb9fe1a85ec53L;
        h = h ^ (h >>> 33);
        return h == UNREADABLE ? h + 1 : h;
    }

    private static long fnv(long h, String s) {
        for (int i = 0; i < s.length(); i++) {
            h = (h ^ s.charAt(i)) * 0x100000001b3L;
        }
        return h;
    }

    /** The hash {@code key} of a record of {@code tenant}. */
    static long ofTenant(long key, String tenant) {
        long h = key;
        for (int i = 0; i < tenant.length(); i++) {
            h = (h ^ tenant.charAt(i)) * 0x100000001b3L;
        }
        h = (h ^ (h >>> 33)) * 0xff51afd7ed558ccdL;
        h = h ^ (h >>> 33);
        return h == UNREADABLE ? h + 1 : h;
    }

    /** The hash of row {@code i} of the benchmark's own data. */
    static long of(int i) {
        return hash(TraceData.traceId(i), TraceData.recipient(i), TraceData.STATUS[TraceData.status(i)]);
    }

    /** Every record in {@code json}: one object, an array of objects (HTTP sink) or objects one a line (NDJSON). */
    static void each(byte[] json, int offset, int length, LongConsumer keys) throws IOException {
        try (JsonParser p = JSON.createParser(json, offset, length)) {
            JsonToken t;
            while ((t = p.nextToken()) != null) {
                if (t == JsonToken.START_OBJECT) {
                    keys.accept(record(p));
                }
            }
        }
    }

    static void each(String json, LongConsumer keys) throws IOException {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        each(b, 0, b.length, keys);
    }

    /** Reads one record object (the parser is on its START_OBJECT) to its end; nested objects are skipped. */
    private static long record(JsonParser p) throws IOException {
        String id = null;
        String recipient = null;
        String status = null;
        String tenant = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            if (v == JsonToken.VALUE_STRING) {
                switch (name) {
                    case "messageTraceId" -> id = p.getText();
                    case "recipientAddress" -> recipient = p.getText();
                    case "status" -> status = p.getText();
                    case "tenant" -> tenant = p.getText();
                    default -> { }
                }
            } else {
                p.skipChildren();
            }
        }
        if (id == null || recipient == null || status == null || (perTenant && tenant == null)) {
            return UNREADABLE;
        }
        long h = hash(id, recipient, status);
        return perTenant ? ofTenant(h, tenant) : h;
    }
}
