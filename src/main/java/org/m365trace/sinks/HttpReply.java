package org.m365trace.sinks;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * What a reply of the HTTP sink's endpoint means for the batch that was sent ({@link HttpPreset#reply}); the route
 * {@code sink-http-deliver} acts on it. A batch's lines end up in at most three parts: {@link #getDelivered()} (taken;
 * with Splunk's indexer acknowledgement, once {@link #getAckId()} is acknowledged), {@link #getRetry()} (sent again,
 * alone: Elasticsearch items answered 429 or 5xx) and {@link #getDeadLetters()} (refused for good, with
 * {@link #getReason()}). Or the whole batch is {@link #isFailed() failed} (kept and sent again later) or
 * {@link #isTooLarge() too large} (split and sent again). The lines are UTF-8 bytes, as the spool keeps them: a batch
 * is read, sent and counted without being decoded or copied.
 */
public final class HttpReply {

    private static final byte[] NONE = {};

    private byte[] delivered = NONE;
    private byte[] retry = NONE;
    private byte[] deadLetters = NONE;
    private String reason = "";
    private boolean failed;
    private boolean tooLarge;
    private Long ackId;
    private Instant sentAt;
    private volatile boolean acked;

    static HttpReply ofDelivered(byte[] batch) {
        HttpReply r = new HttpReply();
        r.delivered = batch;
        return r;
    }

    static HttpReply ofFailed() {
        HttpReply r = new HttpReply();
        r.failed = true;
        return r;
    }

    static HttpReply ofTooLarge() {
        HttpReply r = new HttpReply();
        r.tooLarge = true;
        return r;
    }

    static HttpReply ofRefused(byte[] batch, String reason) {
        HttpReply r = new HttpReply();
        r.deadLetters = batch;
        r.reason = reason;
        return r;
    }

    static HttpReply ofParts(String delivered, String retry, String deadLetters, String reason) {
        HttpReply r = new HttpReply();
        r.delivered = delivered.getBytes(StandardCharsets.UTF_8);
        r.retry = retry.getBytes(StandardCharsets.UTF_8);
        r.deadLetters = deadLetters.getBytes(StandardCharsets.UTF_8);
        r.reason = reason;
        return r;
    }

    HttpReply awaitingAck(long id, Instant now) {
        ackId = id;
        sentAt = now;
        return this;
    }

    void acknowledge() {
        acked = true;
    }

    Instant sentAt() {
        return sentAt;
    }

    /** The lines the endpoint took (one record a line); empty when none. */
    public byte[] getDelivered() {
        return delivered;
    }

    /** The lines to send again, alone; empty when none. */
    public byte[] getRetry() {
        return retry;
    }

    /** The lines refused for good, for the dead letters; empty when none. */
    public byte[] getDeadLetters() {
        return deadLetters;
    }

    /** Whether the endpoint took any line. */
    public boolean isAnyDelivered() {
        return Utf8Lines.any(delivered);
    }

    /** Whether any line is to be sent again. */
    public boolean isAnyRetry() {
        return Utf8Lines.any(retry);
    }

    /** Whether any line was refused for good. */
    public boolean isAnyDeadLetters() {
        return Utf8Lines.any(deadLetters);
    }

    /** Why {@link #getDeadLetters()} were refused (the endpoint's own words). */
    public String getReason() {
        return reason;
    }

    /** The whole batch failed for now (5xx, 429, a time-out): it stays in the spool and is sent again. */
    public boolean isFailed() {
        return failed;
    }

    /** The endpoint takes no body this large (413, or Azure Monitor's 1 MB): the batch is split and sent again. */
    public boolean isTooLarge() {
        return tooLarge;
    }

    /** Splunk's ackId of the request when indexer acknowledgement is on, else null. */
    public Long getAckId() {
        return ackId;
    }

    /** Whether Splunk reported {@link #getAckId()} indexed. */
    public boolean isAcked() {
        return acked;
    }

    @Override
    public String toString() {
        return "HttpReply[delivered " + Utf8Lines.count(delivered) + ", retry " + Utf8Lines.count(retry) + ", dead letters "
                + Utf8Lines.count(deadLetters) + (failed ? ", failed" : "") + (tooLarge ? ", too large" : "")
                + (ackId != null ? ", ackId " + ackId : "") + "]";
    }
}
