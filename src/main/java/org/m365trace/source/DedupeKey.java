package org.m365trace.source;

import java.util.Map;

import org.apache.camel.Exchange;
import org.apache.camel.Expression;
import org.m365trace.state.TraceSeenRepository;

/**
 * The idempotent consumer's key of a record: {@code messageTraceId|recipientAddress|status} ({@link TraceRecords#key}).
 * An expression the route refers to ({@code ref}), because it runs for every row.
 * <p>
 * Both bounds of a window are inclusive, so a row received on a window's end is in the next window too, where it is
 * read last (pages come newest first). Such keys are told to the dedupe store ({@link TraceSeenRepository#onBound}),
 * which stores them again as the newest once the window is committed, so that the rows of the next window cannot push
 * them out of the store before they come again.
 */
public class DedupeKey implements Expression {

    private TraceSeenRepository seen;
    private TraceWindows.Window window;
    /** The received value from which a row of {@link #window} is on (or within a second of) its end. */
    private String boundFrom;

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
            }
            // received is always written as yyyy-MM-ddTHH:mm:ss.SSSZ: its text sorts as its time does
            if (record.get("received") instanceof String received && received.compareTo(boundFrom) >= 0) {
                seen.onBound(key);
            }
        }
        return type.cast(key);
    }

    public void setSeen(TraceSeenRepository seen) {
        this.seen = seen;
    }
}
