package org.m365trace.source;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.m365trace.source.TraceWindows.Window;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** The first request of a window for the configured API, and the reader of its pages. */
public class TraceSource {

    private static final DateTimeFormatter SECONDS = DateTimeFormatter.ISO_INSTANT;
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private String api = TraceRecords.GRAPH;
    private String reportingBaseUrl;
    private String graphBaseUrl;
    private TraceCloud cloud = TraceCloud.GLOBAL;
    private int pageSize = 1000;
    private String tenant;
    private TraceDirection direction = TraceDirection.off();
    private boolean rawRows;
    private boolean readWholePages;

    /** The URL of the first page of {@code window}, with its {@code $filter} and {@code $top}. */
    public String firstUrl(Window window) {
        String start = SECONDS.format(window.start().truncatedTo(ChronoUnit.SECONDS));
        String end = SECONDS.format(window.end().truncatedTo(ChronoUnit.SECONDS));
        if (TraceRecords.REPORTING.equals(api)) {
            String filter = "StartDate eq datetime'" + start + "' and EndDate eq datetime'" + end + "'";
            return strip(reportingBaseUrl()) + "/MessageTrace?$format=json&$filter=" + encode(filter) + "&$top=" + pageSize;
        }
        String filter = "receivedDateTime ge " + start + " and receivedDateTime le " + end;
        return strip(graphBaseUrl()) + "/admin/exchange/tracing/messageTraces?$filter=" + encode(filter) + "&$top=" + pageSize;
    }

    /** Graph {@code getDetailsByRecipient} of one record; a quote in the address is doubled, as OData wants. */
    public String detailsUrl(Map<String, Object> record) {
        String recipient = String.valueOf(record.get("recipientAddress")).replace("'", "''");
        return strip(graphBaseUrl()) + "/admin/exchange/tracing/messageTraces/" + URLEncoder.encode(String.valueOf(record.get("messageTraceId")),
                StandardCharsets.UTF_8) + "/getDetailsByRecipient(recipientAddress='" + URLEncoder.encode(recipient, StandardCharsets.UTF_8)
                .replace("%27", "'").replace("%40", "@").replace("+", "%20") + "')";
    }

    /** The events of a details reply, each {@code {event, action, date, description}}, oldest first. */
    public List<Map<String, Object>> events(InputStream body) throws IOException {
        List<Map<String, Object>> events = new ArrayList<>();
        for (JsonNode e : MAPPER.readTree(body).path("value")) {
            Map<String, Object> event = new LinkedHashMap<>();
            event.put("event", TraceRecords.text(e, "event"));
            event.put("action", TraceRecords.text(e, "action"));
            String date = TraceRecords.text(e, "dateTime");
            event.put("date", date == null ? null : TraceRecords.formatInstant(TraceRecords.parseDate(date)));
            event.put("description", TraceRecords.text(e, "description"));
            events.add(event);
        }
        return events;
    }

    /** The record with its {@code events} field added: null when the API had no details for it (no reply). */
    public Map<String, Object> withEvents(Map<String, Object> record, InputStream detailsReply) throws IOException {
        record.put("events", detailsReply == null ? null : events(detailsReply));
        return record;
    }

    /** Streams the rows of a page as records; the page's next link is read from the returned page afterwards. */
    public TracePage open(InputStream body, String requestUri) throws IOException {
        if (readWholePages && body != null) {
            try (InputStream reply = body) {
                body = new ByteArrayInputStream(reply.readAllBytes());
            }
        }
        return new TracePage(body, api, requestUri, tenant, direction, rawRows);
    }

    /** A record's JSON (the body of each exchange when records are emitted one by one). */
    public String json(Map<String, Object> record) {
        return TraceRecords.json(record);
    }

    /**
     * The raw document of a record (the row as the API served it, plus {@code api} and {@code tenant}) as JSON, for
     * the header {@code traceRaw}; null unless {@code rawRows} is set.
     */
    public String raw(Map<String, Object> record) {
        return record instanceof TracePage.Row row && row.raw() != null ? row.raw().toString() : null;
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20").replace("%27", "'");
    }

    /** {@code trace.reporting.baseUrl}, else the cloud's. */
    String reportingBaseUrl() {
        return reportingBaseUrl == null || reportingBaseUrl.isBlank() ? cloud.reportingBaseUrl() : reportingBaseUrl.strip();
    }

    /** {@code trace.graph.baseUrl}, else the cloud's. */
    String graphBaseUrl() {
        return graphBaseUrl == null || graphBaseUrl.isBlank() ? cloud.graphBaseUrl() : graphBaseUrl.strip();
    }

    public void setCloud(String cloud) {
        this.cloud = TraceCloud.of(cloud);
    }

    private static String strip(String url) {
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }

    public void setApi(String api) {
        this.api = api;
    }

    public void setReportingBaseUrl(String reportingBaseUrl) {
        this.reportingBaseUrl = reportingBaseUrl;
    }

    public void setGraphBaseUrl(String graphBaseUrl) {
        this.graphBaseUrl = graphBaseUrl;
    }

    /** The tenant name put on every record (many tenants in one process); empty: no tenant field. */
    public void setTenant(String tenant) {
        this.tenant = tenant;
    }

    /** {@code trace.localDomains}: each record gains {@code direction}; blank (the default): it has none. */
    public void setLocalDomains(String localDomains) {
        this.direction = TraceDirection.of(localDomains);
    }

    /**
     * Whether a page's reply is read whole before its rows are (trace.graph.details): a row's details request, with its
     * waits for the quota, comes in the middle of the page, and a reply left half read that long may be cut by the
     * server. Otherwise rows are parsed from the connection as the reply arrives.
     */
    public void setReadWholePages(boolean readWholePages) {
        this.readWholePages = readWholePages;
    }

    /** Whether records keep their raw rows (a sink has schema raw): see {@link #raw(Map)}. */
    public void setRawRows(boolean rawRows) {
        this.rawRows = rawRows;
    }

    public void setPageSize(int pageSize) {
        this.pageSize = pageSize;
    }
}
