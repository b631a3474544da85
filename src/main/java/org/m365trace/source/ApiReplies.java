package org.m365trace.source;

import java.time.Clock;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.camel.Exchange;
import org.apache.camel.http.base.HttpOperationFailedException;
import org.m365trace.Durations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Judges an API reply when the route handles status codes itself: a 2xx goes on; a 429 or 503 is waited out
 * (never sooner than its Retry-After, capped exponential backoff without one) and the same URL is asked again; any
 * other status fails the window with the API's error, so the checkpoint stays.
 * <p>
 * Throttling is logged once per episode: the first throttled reply is an INFO line, the further ones until a reply
 * goes through are DEBUG, and the end of a burst of them is one more INFO line.
 */
public class ApiReplies {

    private static final Logger LOG = LoggerFactory.getLogger("org.m365trace");

    private Duration maxBackoff = Duration.ofMinutes(2);
    private int maxThrottledInARow = 20;
    private Clock clock = Clock.systemUTC();
    private TraceAuth auth;
    /** With many tenants: the tenant named in every line. */
    private String tenant;
    /** Throttled replies since the last reply that went through (across polls: an episode of throttling). */
    private final AtomicInteger throttledEpisode = new AtomicInteger();
    /** Details requests answered 404 since the last one that was answered. */
    private final AtomicInteger detailsMissing = new AtomicInteger();

    /**
     * Judges the reply of one API request. The caller's loop asks again while exchange property {@code traceReplied}
     * is false, after waiting {@code traceRetryIn} ms: a 429 or 503 is waited out; a 401 gets a new token and one more
     * try; a 404 of a details request means no details (body null); any other non-2xx fails the exchange.
     */
    public void judge(Exchange exchange) throws HttpOperationFailedException {
        int code = exchange.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, 0, Integer.class);
        if (code < 200 || code >= 300) {
            // the reply comes as the connection's stream (disableStreamCache): an error's short body is read now,
            // which also hands the connection back to the pool before the request is made again
            exchange.getMessage().setBody(exchange.getMessage().getBody(String.class));
        }
        long wait = 0;
        if (code == 429 || code == 503) {
            wait = throttled(exchange);
        } else if (code == 401) {
            unauthorized(exchange);
        } else if (code == 404 && Boolean.TRUE.equals(exchange.getProperty("traceDetailsRequest", Boolean.class))) {
            detailsNotFound(exchange);
        } else if (code < 200 || code >= 300) {
            fail(exchange);
        } else {
            accepted(exchange);
        }
        exchange.setProperty("traceRetryIn", wait);
    }

    /** Milliseconds to wait before asking the same URL again after a 429/503; fails after too many in a row. */
    public long throttled(Exchange exchange) throws HttpOperationFailedException {
        int code = exchange.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, 0, Integer.class);
        exchange.setProperty("traceReplied", false);
        int inARow = exchange.getProperty("traceThrottled", 0, Integer.class) + 1;
        exchange.setProperty("traceThrottled", inARow);
        if (inARow > maxThrottledInARow) {
            fail(exchange);
        }
        long wait = retryAfterMillis(exchange.getMessage().getHeader("Retry-After", String.class), inARow);
        if (throttledEpisode.incrementAndGet() == 1) {
            LOG.info("{}: HTTP {} (throttled), waiting {} ms before asking the same URL again; further throttled"
                    + " replies are logged at DEBUG until one goes through", where(exchange), code, wait);
        } else {
            LOG.debug("{}: HTTP {} (throttled {} in a row), waiting {} ms before asking the same URL again",
                    where(exchange), code, inARow, wait);
        }
        return wait;
    }

    /**
     * A 401: the token may have expired or been revoked. The first 401 of a request gets a new token and the same URL
     * is asked again; a second one fails the window like any other error.
     */
    public void unauthorized(Exchange exchange) throws HttpOperationFailedException {
        if (auth == null || Boolean.TRUE.equals(exchange.getProperty("traceTokenRenewed", Boolean.class))) {
            fail(exchange);
        }
        auth.invalidate();
        exchange.setProperty("traceTokenRenewed", true);
        exchange.setProperty("traceReplied", false);
    }

    /** A reply that went through: the throttling streak ends. */
    public void accepted(Exchange exchange) {
        int throttled = throttledEpisode.getAndSet(0);
        if (throttled > 1) {
            LOG.info("{}: the API answers again after {} throttled replies", where(exchange), throttled);
        }
        if (Boolean.TRUE.equals(exchange.getProperty("traceDetailsRequest", Boolean.class))) {
            detailsMissing.set(0);     // a run of details not found ends
        }
        replied(exchange);
    }

    /** The request is answered: the caller's loop ends, the next request starts with no throttle or renewal count. */
    private static void replied(Exchange exchange) {
        exchange.removeProperty("traceThrottled");
        exchange.removeProperty("traceTokenRenewed");
        exchange.setProperty("traceReplied", true);
    }

    /**
     * A 404 from getDetailsByRecipient: the row is served but its details are not (kept for less time than the row,
     * or not there yet). The record goes on with {@code "events": null} (body null) rather than holding up its window
     * for ever; the first of a run of them is a WARN line, the others DEBUG.
     */
    public void detailsNotFound(Exchange exchange) {
        String url = exchange.getProperty("traceRequestUrl", String.class);
        if (detailsMissing.getAndIncrement() == 0) {
            LOG.warn("{}: details not found (HTTP 404) for {}; the record is forwarded with \"events\": null;"
                    + " further ones are logged at DEBUG until details are found again", where(exchange), url);
        } else {
            LOG.debug("{}: details not found (HTTP 404) for {}", where(exchange), url);
        }
        exchange.getMessage().setBody(null);
        replied(exchange);
    }

    /** Fails the exchange with the reply's status, headers and body, as camel-http would have. */
    public void fail(Exchange exchange) throws HttpOperationFailedException {
        int code = exchange.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, 0, Integer.class);
        String text = exchange.getMessage().getHeader(Exchange.HTTP_RESPONSE_TEXT, "", String.class);
        String body = exchange.getMessage().getBody(String.class);
        Map<String, String> headers = new HashMap<>();
        exchange.getMessage().getHeaders().forEach((k, v) -> headers.put(k, String.valueOf(v)));
        throw new HttpOperationFailedException(exchange.getProperty("traceRequestUrl", String.class), code, text, null, headers, body);
    }

    /** Retry-After as seconds or an HTTP date; without one, 1 s doubled per throttle in a row, capped. */
    long retryAfterMillis(String retryAfter, int inARow) {
        if (retryAfter != null && !retryAfter.isBlank()) {
            String v = retryAfter.trim();
            try {
                return Math.max(0, Long.parseLong(v)) * 1000;
            } catch (NumberFormatException notSeconds) {
                try {
                    ZonedDateTime at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME);
                    return Math.max(0, Duration.between(clock.instant(), at.toInstant()).toMillis());
                } catch (RuntimeException notDate) {
                    // fall back to backoff
                }
            }
        }
        long backoff = 1000L << Math.min(20, inARow - 1);
        return Math.min(backoff, maxBackoff.toMillis());
    }

    public void setMaxBackoff(String maxBackoff) {
        this.maxBackoff = Durations.parse("trace.graph.maxBackoff", maxBackoff);
    }

    public void setMaxThrottledInARow(int maxThrottledInARow) {
        this.maxThrottledInARow = maxThrottledInARow;
    }

    /** {@code window <start>..<end>}, after the tenant's name when there is one. */
    private String where(Exchange exchange) {
        return TraceTenants.label(tenant) + "window " + exchange.getProperty("traceWindow");
    }

    public void setTenant(String tenant) {
        this.tenant = tenant;
    }

    public void setAuth(TraceAuth auth) {
        this.auth = auth;
    }

    public void setClock(Clock clock) {
        this.clock = clock;
    }
}
