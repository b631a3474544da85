package org.m365trace.source;

import java.util.Map;

import org.apache.camel.Exchange;
import org.apache.camel.Predicate;
import org.m365trace.TraceSettings;

/**
 * The source's filter of each row: a record (not an {@link UnusableRow}) whose status is forwarded
 * ({@code trace.filter.statuses}; empty forwards all). A predicate the route refers to ({@code ref}) because it runs
 * for every row: a bean method call with Simple parameters would cost more than the rest of the row's work.
 */
public class RowFilter implements Predicate {

    private TraceSettings settings;

    @Override
    public boolean matches(Exchange exchange) {
        return exchange.getMessage().getBody() instanceof Map<?, ?> record && settings.forwards((String) record.get("status"));
    }

    public void setSettings(TraceSettings settings) {
        this.settings = settings;
    }
}
