package org.m365trace.source;

import java.util.ArrayList;
import java.util.List;

import org.apache.camel.AggregationStrategy;
import org.apache.camel.Exchange;
import org.apache.camel.Predicate;
import org.apache.camel.support.DefaultExchange;

/**
 * The aggregation strategy of the source's split over a page's rows: collects the records that passed the filter
 * (property {@value #WANTED}) and the dedupe (no {@code CamelDuplicateMessage}; duplicates are counted) into one list,
 * the page's batch, which then goes to the consuming route as a whole. So the Camel work per row is only the split, the filter and the idempotent consumer;
 * the sinks' routes run once per page.
 * <p>
 * As a predicate: whether the batch in the body holds any record (a Simple {@code ${body.size}} would hash the whole
 * list on every call, to look up the method).
 * <p>
 * The batch is a new exchange holding only the list: none of a row's properties (its dedupe key, a duplicate's
 * {@code CamelDuplicateMessage}) go back to the page's exchange and on to the rows of the next page.
 */
public class PageBatch implements AggregationStrategy, Predicate {

    /** Exchange property the row filter sets: a usable row of a forwarded status. */
    public static final String WANTED = "traceWanted";

    private TraceStats stats;

    @Override
    @SuppressWarnings("unchecked")
    public Exchange aggregate(Exchange batch, Exchange row) {
        if (batch == null) {
            batch = new DefaultExchange(row.getContext());
            batch.getMessage().setBody(new ArrayList<>());
        }
        if (row.getException() != null) {
            batch.setException(row.getException());
        } else if (row.getProperty(WANTED, false, boolean.class)) {
            if (row.getProperty(Exchange.DUPLICATE_MESSAGE, false, boolean.class)) {
                stats.duplicate();
            } else {
                batch.getMessage().getBody(List.class).add(row.getMessage().getBody());
            }
        }
        return batch;
    }

    @Override
    public boolean matches(Exchange exchange) {
        return exchange.getMessage().getBody() instanceof List<?> batch && !batch.isEmpty();
    }

    public void setStats(TraceStats stats) {
        this.stats = stats;
    }
}
