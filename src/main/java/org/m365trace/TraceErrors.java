package org.m365trace;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import org.apache.camel.CamelExchangeException;
import org.apache.camel.Exchange;
import org.apache.camel.http.base.HttpOperationFailedException;
import org.m365trace.source.MalformedPageException;
import org.m365trace.source.TraceAuth;
import org.m365trace.source.TraceTenants;
import org.m365trace.state.TraceStateStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Logs failures of one part of the product (the source, or one sink) once per episode. An episode runs from a
 * failure to the next success: its first failure is a WARN line with the API's own message and what to do; a failure
 * of another kind within the same episode (an outage that turns from a dropped connection into refused ones) is one
 * INFO line per new kind; repeats are DEBUG; the first success afterwards is an INFO line. Two failures are of the same
 * kind when they differ only in the request-id of Graph's error body. Secrets never reach these lines: they hold
 * status codes, the API's error text and URLs, which carry no credentials.
 */
public class TraceErrors {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Logger LOG = LoggerFactory.getLogger("org.m365trace");

    private TraceAuth auth;
    /** The Kamelet's own: every failure it reports is the source's (its poll or a window). */
    private boolean source;
    /** With many tenants: the tenant whose source this is, named in every line. */
    private String tenant;
    /** A replay run of a time range: a failed window ends the run (the exchange fails after the report). */
    private boolean replayRange;
    private static final long PAUSE = 2000;

    /** Per route that owns a unit of work (the poll, each sink's delivery): the first failure of the current episode. */
    private final Map<String, String> episodes = new HashMap<>();
    /** Per such route: the kinds of failure logged in the current episode. */
    private final Map<String, Set<String>> kinds = new HashMap<>();
    private final Map<String, Integer> failures = new HashMap<>();

    /**
     * How long a sink's delivery pauses after a failure before it tries again: the endpoint's Retry-After (an HTTP 429
     * or 503; at most 10 minutes), else 2 seconds.
     */
    public long pause(Exchange exchange) {
        Throwable e = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        if (e instanceof HttpOperationFailedException h && h.getResponseHeaders() != null) {
            String retryAfter = h.getResponseHeaders().get("Retry-After");
            if (retryAfter != null) {
                try {
                    return Math.min(600_000L, Math.max(PAUSE, Long.parseLong(retryAfter.trim()) * 1000));
                } catch (NumberFormatException notSeconds) {
                    // an HTTP date: the usual pause
                }
            }
        }
        return PAUSE;
    }

    /** Logs the exception of {@code exchange} (caught or pending) once per episode. */
    public synchronized void report(Exchange exchange) {
        Throwable e = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        if (e == null) {
            e = exchange.getException();
        }
        String owner = String.valueOf(exchange.getFromRouteId());
        Object window = exchange.getProperty("traceWindow");
        if (window == null) {
            window = windowOf(e);
        }
        boolean replay = "replay".equals(owner) || replayRange;
        boolean source = !replay && (this.source || window != null);
        String what = TraceTenants.label(tenant) + (replay ? "replay failed" + (window != null ? " in window " + window : "")
                : window != null ? "window " + window + " not read" : source ? "poll failed" : owner + ": delivery failed");
        String kind = kind(e);
        if (replayRange && e instanceof Exception failure) {
            exchange.setException(failure);   // the replay run sees its source fail and ends (exit code 1)
        }
        int count = failures.merge(owner, 1, Integer::sum);
        if (!kinds.computeIfAbsent(owner, o -> new HashSet<>()).add(sameKind(kind))) {
            LOG.debug("{}: {} (again, {} failures in a row)", what, kind, count);
            return;
        }
        String first = episodes.putIfAbsent(owner, kind);
        if (first != null) {
            LOG.info("{}: now {} ({} failures in a row, the first: {}){}", what, kind, count, first, hint(e));
            return;
        }
        String retry = replay ? "nothing was lost; run the replay again once the cause is fixed"
                : source ? "the checkpoint stays; retrying at the next poll" : "records wait in the spool; retrying";
        LOG.warn("{}: {}; {}{}", what, kind, retry, hint(e));
    }

    /** The kind without what changes from one reply to the next of the same failure: Graph's request-id. */
    static String sameKind(String kind) {
        return kind.replaceAll(" \\(request-id [^)]*\\)", "");
    }

    /**
     * The window that failed, when the failure reaches the poll from the split over its windows: the split's exception
     * carries the exchange of the failed window, whose {@code traceWindow} property the poll's exchange lacks.
     */
    private static Object windowOf(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof CamelExchangeException c && c.getExchange() != null) {
                Object window = c.getExchange().getProperty("traceWindow");
                if (window != null) {
                    return window;
                }
            }
        }
        return null;
    }

    /** Ends an episode: logs once that the part works again. */
    public synchronized void recovered(Exchange exchange) {
        String owner = String.valueOf(exchange.getFromRouteId());
        String episode = episodes.remove(owner);
        Integer count = failures.remove(owner);
        kinds.remove(owner);
        if (episode != null) {
            LOG.info("{}: works again after {} failed attempts ({})", owner, count, episode);
        }
    }

    /** What went wrong, as one line: the HTTP status and the API's own message, or the exception's message. */
    String kind(Throwable e) {
        Throwable t = e;
        while (t != null && !(t instanceof HttpOperationFailedException) && !(t instanceof MalformedPageException)
                && !(t instanceof TraceAuth.TokenRequestFailed) && !(t instanceof TraceStateStore.StateStoreException)
                && t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        if (t instanceof HttpOperationFailedException h) {
            if (h.getStatusCode() == 401 && auth != null) {
                auth.invalidate();
            }
            return "HTTP " + h.getStatusCode() + " " + firstLine(h.getStatusText()) + apiMessage(h.getResponseBody());
        }
        if (t instanceof MalformedPageException) {
            return "malformed page: " + firstLine(t.getMessage());
        }
        if (t instanceof TraceAuth.TokenRequestFailed || t instanceof TraceStateStore.StateStoreException) {
            return firstLine(t.getMessage());
        }
        Throwable shown = t == null ? e : t;
        if (shown == null) {
            return "unknown error";
        }
        return isBlank(shown.getMessage()) ? withoutMessage(e, shown)
                : shown.getClass().getSimpleName() + ": " + firstLine(shown.getMessage());
    }

    /** An exception chain as one line, also when the JDK left it without any message (see withoutMessage). */
    public static String describe(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return isBlank(root.getMessage()) ? withoutMessage(e, root)
                : root.getClass().getSimpleName() + ": " + firstLine(root.getMessage());
    }

    /**
     * A failure whose innermost exception has no message (the JDK's HTTP client throws such chains: a
     * ConnectException caused by an UnresolvedAddressException, all without text): the deepest message of the chain
     * if one has it, else the exceptions' names and what the known ones mean.
     */
    private static String withoutMessage(Throwable e, Throwable root) {
        Throwable outer = null;
        Throwable described = null;
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t.getClass().getName().startsWith("org.apache.camel.")) {
                continue; // Camel's wrappers ("Multicast processing failed ...") say nothing about the cause
            }
            if (outer == null) {
                outer = t;
            }
            if (!isBlank(t.getMessage())) {
                described = t;
            }
        }
        if (described != null) {
            return described.getClass().getSimpleName() + ": " + firstLine(described.getMessage());
        }
        String meaning = switch (root.getClass().getName()) {
            case "java.nio.channels.UnresolvedAddressException" -> ": the host name does not resolve";
            case "java.nio.channels.ClosedChannelException" -> ": the connection was refused or closed";
            default -> "";
        };
        String inner = root.getClass().getSimpleName() + meaning;
        return outer == null || outer == root ? inner : outer.getClass().getSimpleName() + " (" + inner + ")";
    }

    private static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }

    private static String hint(Throwable e) {
        Throwable t = e;
        while (t != null && !(t instanceof HttpOperationFailedException) && t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        if (!(t instanceof HttpOperationFailedException h)) {
            return "";
        }
        String body = String.valueOf(h.getResponseBody());
        if (body.contains("Service principal-less authentication failed")) {
            return ". Fix: create the service principal of Microsoft's app 8bd644d1-64a1-4d4b-ae52-2e0cbf64e373 in the tenant"
                    + " (New-MgServicePrincipal -AppId 8bd644d1-64a1-4d4b-ae52-2e0cbf64e373); it can take hours to provision";
        }
        return switch (h.getStatusCode()) {
            case 401 -> ". An OAuth2 token is asked for anew; if this persists, check trace.username/trace.password (basic)"
                    + " or trace.clientId/trace.clientSecret/trace.tenantId (oauth2)";
            case 403 -> ". Fix: grant the app the API permission (ReportingWebService.Read.All for reporting,"
                    + " ExchangeMessageTrace.Read.All for graph) with admin consent, and for reporting an Entra role such as Global Reader";
            default -> "";
        };
    }

    /** The message of an RWS ({@code error.message.value}) or Graph ({@code error.message}, request-id) error body. */
    static String apiMessage(String body) {
        if (body == null || body.isBlank()) {
            return "";
        }
        try {
            JsonNode err = MAPPER.readTree(body).path("error");
            JsonNode msg = err.path("message");
            String text = msg.isObject() ? msg.path("value").asText("") : msg.asText("");
            String id = err.path("innerError").path("request-id").asText("");
            return (text.isEmpty() ? "" : ": " + firstLine(text)) + (id.isEmpty() ? "" : " (request-id " + id + ")");
        } catch (Exception notJson) {
            return ": " + firstLine(body.length() > 200 ? body.substring(0, 200) : body);
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return (nl < 0 ? s : s.substring(0, nl)).trim();
    }

    public void setSource(boolean source) {
        this.source = source;
    }

    public void setTenant(String tenant) {
        this.tenant = tenant;
    }

    /** Non-empty in a replay run of a time range. */
    public void setReplayFrom(String replayFrom) {
        this.replayRange = replayFrom != null && !replayFrom.isBlank();
    }

    public void setAuth(TraceAuth auth) {
        this.auth = auth;
    }
}
