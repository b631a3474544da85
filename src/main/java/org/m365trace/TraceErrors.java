package org.m365trace;

import java.util.HashMap;
import java.util.Map;

import org.apache.camel.Exchange;
import org.apache.camel.http.base.HttpOperationFailedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Logs failures of one part of the product (the source, or one sink) once per episode: the first failure of a
 * kind is a WARN line with the API's own message and what to do; repeats of the same kind are DEBUG; the first
 * success afterwards is an INFO line. Secrets never reach these lines: they hold status codes, the API's error
 * text and URLs, which carry no credentials.
 */
public class TraceErrors {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Logger LOG = LoggerFactory.getLogger("org.m365trace");

    private TraceAuth auth;
    /** Per route that owns a unit of work (the poll, each sink's delivery): the failure kind of the current episode. */
    private final Map<String, String> episodes = new HashMap<>();
    private final Map<String, Integer> failures = new HashMap<>();

    /** Logs the exception of {@code exchange} (caught or pending) once per episode. */
    public synchronized void report(Exchange exchange) {
        Throwable e = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        if (e == null) {
            e = exchange.getException();
        }
        String owner = String.valueOf(exchange.getFromRouteId());
        Object window = exchange.getProperty("traceWindow");
        boolean source = window != null || "trace-poll".equals(owner);
        String what = window != null ? "window " + window + " not read" : source ? "poll failed" : owner + ": delivery failed";
        String kind = kind(e);
        int count = failures.merge(owner, 1, Integer::sum);
        if (kind.equals(episodes.get(owner))) {
            LOG.debug("{}: {} (again, {} failures in a row)", what, kind, count);
            return;
        }
        episodes.put(owner, kind);
        String retry = source ? "the checkpoint stays; retrying at the next poll" : "records wait in the spool; retrying";
        LOG.warn("{}: {}; {}{}", what, kind, retry, hint(e));
    }

    /** Ends an episode: logs once that the part works again. */
    public synchronized void recovered(Exchange exchange) {
        String owner = String.valueOf(exchange.getFromRouteId());
        String episode = episodes.remove(owner);
        Integer count = failures.remove(owner);
        if (episode != null) {
            LOG.info("{}: works again after {} failed attempts ({})", owner, count, episode);
        }
    }

    /** What went wrong, as one line: the HTTP status and the API's own message, or the exception's message. */
    String kind(Throwable e) {
        Throwable t = e;
        while (t != null && !(t instanceof HttpOperationFailedException) && !(t instanceof MalformedPageException)
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
        Throwable shown = t == null ? e : t;
        return shown == null ? "unknown error" : shown.getClass().getSimpleName() + ": " + firstLine(shown.getMessage());
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

    public void setAuth(TraceAuth auth) {
        this.auth = auth;
    }
}
