package org.m365trace;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Tags;
import org.apache.camel.CamelContext;

/**
 * Where the product's meters go: the Micrometer registry of the Camel context (the standalone jar's Prometheus
 * registry, served at {@code /observe/metrics}), else Micrometer's global registry, which drops them unless the
 * runtime adds a registry to it. So the library records its meters in any runtime and costs nothing where none
 * collects them.
 */
public final class Meters {

    private Meters() {
    }

    /** The registry of {@code context}: its one MeterRegistry bean; the global registry without one (or no context). */
    public static MeterRegistry of(CamelContext context) {
        if (context != null) {
            MeterRegistry found = context.getRegistry().findSingleByType(MeterRegistry.class);
            if (found == null) {
                found = context.getRegistry().lookupByNameAndType("metricsRegistry", MeterRegistry.class);
            }
            if (found != null) {
                return found;
            }
        }
        return Metrics.globalRegistry;
    }

    /** The labels of a source's meters: {@code api}, and {@code tenant} when tenants are configured. */
    public static Tags source(String api, String tenant) {
        Tags tags = Tags.of("api", api == null || api.isBlank() ? "graph" : api);
        return tenant == null || tenant.isBlank() ? tags : tags.and("tenant", tenant);
    }
}
