package org.m365trace.sinks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.StartupListener;
import org.apache.camel.health.HealthCheck;
import org.apache.camel.health.HealthCheckRegistry;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.m365trace.Durations;
import org.m365trace.Meters;
import org.m365trace.ReadinessCheck;
import org.m365trace.source.TraceTenants;

/**
 * What one sink did, for operators: its meters, and its health check {@code trace-sink-<sink>}.
 * <ul>
 * <li>{@code trace_records_forwarded_total{sink}}: records the sink really took (written to the file, sent over
 * syslog, answered 2xx over HTTP), labelled, like the source's meters, with each record's {@code api} and, with
 * tenants, its {@code tenant};</li>
 * <li>{@code trace_dead_letters_total{sink}}: records of batches the sink refused for good;</li>
 * <li>{@code trace_sink_pending_records{sink}}: records waiting in its spool.</li>
 * </ul>
 * The check is DOWN once the oldest record of the spool has waited longer than {@code trace.health.sinkBacklogFor},
 * or while the spool is full (the source then stops moving on). A readiness check: a restart does not bring back a
 * receiver that is away, so it is no liveness check. The delivery route of the sink reports each batch that left the
 * spool ({@link #delivered}, {@link #deadLettered}).
 */
public class SinkWatch implements CamelContextAware {

    private CamelContext camelContext;
    private String sink = "sink";
    private Spool spool;
    private boolean sinkEnabled = true;
    private boolean tenants;
    private Duration backlogFor = Duration.ofMinutes(15);
    private Clock clock = Clock.systemUTC();
    private boolean started;
    private MeterRegistry registry;
    /** The health check; not a bean itself, so that a disabled sink has none (Camel checks every HealthCheck bean). */
    private final HealthCheck check = new Check();
    private final Map<Tags, Counter> forwarded = new ConcurrentHashMap<>();
    private final Map<Tags, Counter> deadLetters = new ConcurrentHashMap<>();

    /**
     * Registers the health check and the pending gauge of an enabled sink once the context has started: then the
     * runtime's meter registry is in place (the standalone binds its Prometheus registry as the context starts), and
     * this bean is the one the routes use (the YAML DSL may create a route file's beans twice, binding the second).
     */
    public synchronized void start() throws Exception {
        if (started || !sinkEnabled) {
            return;
        }
        started = true;
        if (camelContext == null || camelContext.isStarted()) {
            watch();
            return;
        }
        camelContext.addStartupListener(new StartupListener() {
            @Override
            public void onCamelContextStarted(CamelContext context, boolean alreadyStarted) {
                // the routes are not running yet
            }

            @Override
            public void onCamelContextFullyStarted(CamelContext context, boolean alreadyStarted) {
                // the bean the routes use is bound as <sink>Watch (fileWatch, ...); looked up by that name rather than
                // by walking the registry, which other threads may be adding to by now
                Object bound = context.getRegistry().lookupByName(sink + "Watch");
                if (bound == null || bound == SinkWatch.this) {
                    watch();
                }
            }
        });
    }

    private void watch() {
        HealthCheckRegistry checks = camelContext == null ? null : HealthCheckRegistry.get(camelContext);
        if (checks != null) {
            checks.register(check);
        }
        registry();
    }

    /** The meter registry, with this sink's pending gauge in it. */
    private synchronized MeterRegistry registry() {
        if (registry == null) {
            registry = Meters.of(camelContext);
            Gauge.builder("trace.sink.pending", spool, Spool::pendingRecords).baseUnit("records")
                    .description("records waiting in the sink's spool").tag("sink", sink).register(registry);
        }
        return registry;
    }

    /**
     * A batch the sink took whole (its lines as UTF-8 bytes, as the spool keeps them): counts its records as forwarded,
     * and they leave the spool.
     */
    public void delivered(byte[] batch) throws IOException {
        spool.taken(count(forwarded, "trace.records.forwarded", "records the sink took (written, sent, answered 2xx)", batch));
    }

    /** A batch the sink took of which it wrote {@code sent} (the file sink skips lines it wrote before a crash). */
    public void written(byte[] sent, byte[] batch) throws IOException {
        long wrote = count(forwarded, "trace.records.forwarded", "records the sink took (written, sent, answered 2xx)", sent);
        spool.taken(sent == batch ? wrote : Utf8Lines.count(batch));
    }

    /** A batch the sink refused for good, now kept as a dead letter: counted, and it leaves the spool. */
    public void deadLettered(byte[] batch) throws IOException {
        spool.taken(count(deadLetters, "trace.dead.letters", "records kept as dead letters, by sink (source: unusable rows)", batch));
    }

    /** Adds each record (line) of {@code batch} to the counter of its labels (its api and tenant); returns how many. */
    private long count(Map<Tags, Counter> counters, String name, String description, byte[] batch) {
        Map<List<String>, Long> byLabels = new HashMap<>();    // by the labels' values: Tags made once for each
        long[] records = {0};
        Utf8Lines.forEach(batch, (start, end, next) -> {
            byLabels.merge(labelValues(batch, start, end), 1L, Long::sum);
            records[0]++;
        });
        MeterRegistry registry = registry();
        byLabels.forEach((values, n) -> counters.computeIfAbsent(tags(values), t -> Counter.builder(name)
                .description(description).tags(t).register(registry)).increment(n));
        return records[0];
    }

    /**
     * The labels of one spooled record (its JSON, or an RFC 5424 message ending in it): {@code sink}, {@code api} and,
     * with tenants, {@code tenant}. Read from the fields {@code "api":"…"} and {@code "tenant":"…"}, which inside a
     * JSON string would be escaped and so cannot be mistaken for them.
     */
    Tags labels(String record) {
        byte[] line = record.getBytes(StandardCharsets.UTF_8);
        return tags(labelValues(line, 0, line.length));
    }

    /** The values of the labels of the record {@code line[start, end)}: its api, and its tenant (empty without tenants). */
    private List<String> labelValues(byte[] line, int start, int end) {
        return List.of(orElse(Utf8Lines.lastField(line, start, end, API), "graph"),
                tenants ? orElse(Utf8Lines.lastField(line, start, end, TENANT), "") : "");
    }

    private static String orElse(String value, String otherwise) {
        return value == null ? otherwise : value;
    }

    private Tags tags(List<String> values) {
        Tags tags = Tags.of("sink", sink, "api", values.get(0));
        return tenants ? tags.and("tenant", values.get(1)) : tags;
    }

    private static final byte[] API = Utf8Lines.key("api");
    private static final byte[] TENANT = Utf8Lines.key("tenant");

    /** {@code trace-sink-<sink>}: DOWN while the spool is full or its oldest record waited too long. */
    private final class Check extends ReadinessCheck {

        @Override
        public Result call(Map<String, Object> options) {
            HealthCheckResultBuilder result = HealthCheckResultBuilder.on(this);
            result.detail("trace.pendingRecords", spool.pendingRecords());
            if (spool.isFull()) {
                return result.down().message("the " + sink + " spool is full (trace.spool.maxSize): the " + sink
                        + " sink is not taking records").build();
            }
            Instant oldest;
            try {
                oldest = spool.oldestWaiting();
            } catch (IOException e) {
                return result.down().message("the " + sink + " spool cannot be read: " + e.getMessage()).error(e).build();
            }
            if (oldest == null) {
                return result.up().build();
            }
            Duration waited = Duration.between(oldest, clock.instant());
            result.detail("trace.oldestWaitingSince", oldest.toString());
            if (waited.compareTo(backlogFor) <= 0) {
                return result.up().build();
            }
            return result.down().message("the oldest record in the " + sink + " spool has waited " + waited.toSeconds()
                    + " s (more than trace.health.sinkBacklogFor " + backlogFor.toSeconds() + " s): the " + sink
                    + " sink is not taking records; see the log").build();
        }

        @Override
        public String getId() {
            return "trace-sink-" + sink;
        }
    }

    /** The health check, registered by {@link #start()} for an enabled sink. */
    public HealthCheck healthCheck() {
        return check;
    }

    public void setSink(String sink) {
        this.sink = sink;
    }

    public void setSpool(Spool spool) {
        this.spool = spool;
    }

    /** The sink's {@code trace.<sink>.enabled}: a disabled sink has no check and no gauge. */
    public void setSinkEnabled(boolean sinkEnabled) {
        this.sinkEnabled = sinkEnabled;
    }

    /** {@code trace.tenants}: with tenants, the counters are labelled with each record's tenant too. */
    public void setTenants(String tenants) {
        this.tenants = !TraceTenants.names(tenants).isEmpty();
    }

    public void setBacklogFor(String backlogFor) {
        this.backlogFor = Durations.parse("trace.health.sinkBacklogFor", backlogFor);
    }

    public void setClock(Clock clock) {
        this.clock = clock;
    }

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }
}
