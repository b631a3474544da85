package org.m365trace.source;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.health.HealthCheckRegistry;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.m365trace.Durations;
import org.m365trace.ReadinessCheck;
import org.m365trace.TraceErrors;

/**
 * The health check {@code trace-source} ({@code trace-source-<tenant>} with tenants): DOWN once every poll has failed
 * for longer than {@code trace.health.sourceFailingFor}, UP again at the first window read. A readiness check: a
 * restart does not mend an API that fails, so it is no liveness check. It joins the runtime's health check registry
 * when there is one (the standalone's {@code /observe/health}); without one it costs nothing.
 */
public class SourceHealth extends ReadinessCheck implements CamelContextAware {

    private CamelContext camelContext;
    private String tenant;
    private Duration failingFor = Duration.ofMinutes(15);
    private Clock clock = Clock.systemUTC();
    private String routeId;
    private volatile boolean registered;
    /** The id under which it is registered: trace-source[-tenant], or with the route's id if that is taken. */
    private volatile String id;
    /** The end of the furthest window read: a window read again (the overlap) is no sign that the source moves on. */
    private volatile Instant furthest;
    /** The first failed poll since the last window read; null while the source works. */
    private volatile Instant failingSince;
    private volatile Instant lastRead;
    private volatile String lastFailure;

    /**
     * A window was read and committed. It ends a failure episode when it reaches further than any before: with windows
     * shorter than the overlap, the windows read again before the checkpoint succeed while the new one may fail.
     */
    public void windowRead(TraceWindows.Window window) {
        register();
        lastRead = clock.instant();
        if (furthest == null || window.end().isAfter(furthest)) {
            furthest = window.end();
            failingSince = null;
        }
    }

    /** A poll failed (the window is read again at the next poll). */
    public void pollFailed(Exception failure) {
        register();
        if (failingSince == null) {
            failingSince = clock.instant();
        }
        lastFailure = failure == null ? null : TraceErrors.describe(failure);
    }

    /**
     * Joins the context's health check registry, once, as the source starts and again at each poll until it could. A
     * second source without a tenant name in the same runtime (an app with two Kamelets) is {@code trace-source-<its
     * route id>}.
     */
    public synchronized void register() {
        if (registered || camelContext == null) {
            return;
        }
        HealthCheckRegistry registry = HealthCheckRegistry.get(camelContext);
        if (registry == null) {
            return;
        }
        registered = true;
        if (!registry.register(this)) {
            id = getId() + "-" + routeId;
            registry.register(this);
        }
    }

    @Override
    public Result call(Map<String, Object> options) {
        HealthCheckResultBuilder result = HealthCheckResultBuilder.on(this);
        Instant since = failingSince;
        if (lastRead != null) {
            result.detail("trace.lastWindowRead", lastRead.toString());
        }
        if (since == null) {
            return result.up().build();
        }
        Duration failing = Duration.between(since, clock.instant());
        result.detail("trace.failingSince", since.toString());
        if (failing.compareTo(failingFor) <= 0) {
            return result.up().build();
        }
        return result.down().message("every poll has failed for " + failing.toSeconds() + " s (more than"
                + " trace.health.sourceFailingFor " + failingFor.toSeconds() + " s)" + (lastFailure == null ? "" : ", the last: " + lastFailure)
                + "; see the log").build();
    }

    @Override
    public String getId() {
        return id != null ? id : "trace-source" + (tenant == null || tenant.isBlank() ? "" : "-" + tenant);
    }

    public void setRouteId(String routeId) {
        this.routeId = routeId;
    }

    public void setTenant(String tenant) {
        this.tenant = tenant;
    }

    public void setFailingFor(String failingFor) {
        this.failingFor = Durations.parse("trace.health.sourceFailingFor", failingFor);
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
