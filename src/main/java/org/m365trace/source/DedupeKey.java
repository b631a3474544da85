package org.m365trace.source;

import java.util.Map;

import org.apache.camel.Exchange;
import org.apache.camel.Expression;

/**
 * The idempotent consumer's key of a record: {@code messageTraceId|recipientAddress|status} ({@link TraceRecords#key}).
 * An expression the route refers to ({@code ref}), because it runs for every row.
 */
public class DedupeKey implements Expression {

    @Override
    public <T> T evaluate(Exchange exchange, Class<T> type) {
        Map<?, ?> record = exchange.getMessage().getBody(Map.class);
        return type.cast(record == null ? null : TraceRecords.key(record));
    }
}
