package org.m365trace;

import org.apache.camel.health.HealthCheck;

/**
 * A health check of the product (group {@code trace}): a readiness check only, because a restart mends neither an API
 * that fails nor a receiver that is away, and every record is kept meanwhile. Camel's liveness stays its own (is the
 * context running).
 */
public abstract class ReadinessCheck implements HealthCheck {

    private boolean enabled = true;

    @Override
    public String getGroup() {
        return "trace";
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    public boolean isEnabled() {
        return enabled;
    }

    @Override
    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }
}
