package org.m365trace;

import java.io.InputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;

import org.m365trace.TraceWindows.Window;

/** The first request of a window for the configured API, and the reader of its pages. */
public class TraceSource {

    private static final DateTimeFormatter SECONDS = DateTimeFormatter.ISO_INSTANT;

    private String api = TraceRecords.GRAPH;
    private String reportingBaseUrl;
    private String graphBaseUrl;
    private int pageSize = 1000;

    /** The URL of the first page of {@code window}, with its {@code $filter} and {@code $top}. */
    public String firstUrl(Window window) {
        String start = SECONDS.format(window.start().truncatedTo(ChronoUnit.SECONDS));
        String end = SECONDS.format(window.end().truncatedTo(ChronoUnit.SECONDS));
        if (TraceRecords.REPORTING.equals(api)) {
            String filter = "StartDate eq datetime'" + start + "' and EndDate eq datetime'" + end + "'";
            return strip(reportingBaseUrl) + "/MessageTrace?$format=json&$filter=" + encode(filter) + "&$top=" + pageSize;
        }
        String filter = "receivedDateTime ge " + start + " and receivedDateTime le " + end;
        return strip(graphBaseUrl) + "/admin/exchange/tracing/messageTraces?$filter=" + encode(filter) + "&$top=" + pageSize;
    }

    /** Streams the rows of a page as records; the page's next link is read from the returned page afterwards. */
    public TracePage open(InputStream body, String requestUri) {
        return new TracePage(body, api, requestUri);
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20").replace("%27", "'");
    }

    private static String strip(String url) {
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }

    public void setApi(String api) {
        this.api = api;
    }

    public String getApi() {
        return api;
    }

    public void setReportingBaseUrl(String reportingBaseUrl) {
        this.reportingBaseUrl = reportingBaseUrl;
    }

    public void setGraphBaseUrl(String graphBaseUrl) {
        this.graphBaseUrl = graphBaseUrl;
    }

    public void setPageSize(int pageSize) {
        this.pageSize = pageSize;
    }
}
