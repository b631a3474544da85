package org.m365trace.source;

import java.time.Duration;
import java.util.Map;

import org.apache.camel.Exchange;
import org.apache.camel.Expression;
import org.m365trace.Durations;
import org.m365trace.state.TraceSeenRepository;

/**
 * The idempotent consumer's key of a record: {@code messageTraceId|recipientAddress|status} ({@link TraceRecords#key}).
 * An expression the route refers to ({@code ref}), because it runs for every row.
 * <p>
 * Rows near a window's end are read again later, while their keys were among the first of the window to be stored
 * (pages come newest first), and so the first to be forgotten in a window larger than the store: those received in the
 * last {@code trace.overlap} come again in the next poll, and those on the end itself (both bounds are inclusive) come
 * last in the next window. Their keys are told to the dedupe store ({@link TraceSeenRepository#readAgainLater}), which
 * keeps them once the window is committed.
 */
public class DedupeKey implements Expression {

    private TraceSeenRepository seen;
    private Duration overlap = Duration.ofHours(1);
    private TraceWindows.Window window;
    /** The received value from which a row of {@link #window} is on (or within a second of) its end. */
    private String boundFrom;
    /** The received value from which a row of {@link #window} is read again by the next poll (trace.overlap). */
    private String overlapFrom;

    @Override
    public <T> T evaluate(Exchange exchange, Class<T> type) {
        Map<?, ?> record = exchange.getMessage().getBody(Map.class);
        if (record == null) {
            return null;
        }
        String key = TraceRecords.key(record);
        if (seen != null && exchange.getProperty("traceWindow") instanceof TraceWindows.Window w) {
            if (w != window) {
                window = w;
                boundFrom = TraceRecords.formatInstant(w.end().minusSeconds(1));
                overlapFrom = TraceRecords.formatInstant(w.end().minus(overlap));
            }
            // received is always written as yyyy-MM-ddTHH:mm:ss.SSSZ: its text sorts as its time does
            if (record.get("received") instanceof String received && received.compareTo(overlapFrom) >= 0) {
                seen.readAgainLater(key, received.compareTo(boundFrom) >= 0);
            }
        }
        return type.cast(key);
    }

    /** trace.overlap: how far before the checkpoint the next poll starts reading again. */
    public void setOverlap(String overlap) {
        this.overlap = Durations.parse("trace.overlap", overlap);
    }

    public void setSeen(TraceSeenRepository seen) {
        this.seen = seen;
    }
}
