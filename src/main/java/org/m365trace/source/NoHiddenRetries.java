package org.m365trace.source;

import org.apache.camel.component.http.HttpClientConfigurer;
import org.apache.hc.client5.http.impl.classic.HttpClientBuilder;

/**
 * Turns off the HTTP client's own retries (of I/O errors, and of 429/503 after Retry-After), so that every retry
 * is the route's: visible in its logs, paced by its budget, and never sooner than Retry-After.
 */
public class NoHiddenRetries implements HttpClientConfigurer {
    @Override
    public void configureHttpClient(HttpClientBuilder builder) {
        builder.disableAutomaticRetries();
    }
}
