package org.m365trace.source;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.component.http.HttpClientConfigurer;
import org.apache.hc.client5.http.impl.classic.HttpClientBuilder;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.m365trace.Meters;

/**
 * The API's HTTP client. Its own retries are off (of I/O errors, and of 429/503 after Retry-After), so that every
 * retry is the route's: visible in its logs, paced by its budget, and never sooner than Retry-After. Every request's
 * outcome is counted ({@code trace_api_requests_total{outcome}}): {@code ok} (2xx), {@code throttled} (429, 503),
 * {@code unauthorized} (401), {@code error} (any other status, or a failed connection) or {@code timeout} (no
 * connection or no answer within the http component's time-outs).
 */
public class ApiClient implements HttpClientConfigurer, CamelContextAware {

    private CamelContext camelContext;
    private String api = "graph";
    private String tenant;
    private static final String[] OUTCOMES = {"ok", "throttled", "unauthorized", "error", "timeout"};

    private final Map<String, Counter> outcomes = new ConcurrentHashMap<>();

    @Override
    public void configureHttpClient(HttpClientBuilder builder) {
        builder.disableAutomaticRetries();
        builder.addExecInterceptorFirst("trace-outcomes", (request, scope, chain) -> {
            try {
                ClassicHttpResponse response = chain.proceed(request, scope);
                count(outcome(response.getCode()));
                return response;
            } catch (InterruptedIOException e) {
                count("timeout");      // SocketTimeoutException, ConnectTimeoutException
                throw e;
            } catch (IOException | RuntimeException e) {
                count("error");
                throw e;
            }
        });
    }

    /** The outcome of an answered request. */
    static String outcome(int status) {
        if (status >= 200 && status < 300) {
            return "ok";
        }
        return switch (status) {
            case 429, 503 -> "throttled";
            case 401 -> "unauthorized";
            default -> "error";
        };
    }

    /** Counts one request; the first registers every outcome, so that each is a series from 0 on. */
    private synchronized void count(String outcome) {
        if (outcomes.isEmpty()) {
            MeterRegistry registry = Meters.of(camelContext);
            for (String o : OUTCOMES) {
                outcomes.put(o, Counter.builder("trace.api.requests").description("API requests by outcome")
                        .tags(Meters.source(api, tenant).and("outcome", o)).register(registry));
            }
        }
        outcomes.get(outcome).increment();
    }

    public void setApi(String api) {
        this.api = api;
    }

    public void setTenant(String tenant) {
        this.tenant = tenant;
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
