package org.m365trace.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

class TracePageTest {

    private static final String RWS_URI = "https://reports.office365.com/ecp/reportingwebservice/reporting.svc/MessageTrace"
            + "?$filter=StartDate%20eq%20datetime'2026-03-02T09:00:00Z'%20and%20EndDate%20eq%20datetime'2026-03-02T10:00:00Z'&$top=4";
    private static final String GRAPH_URI = "https://graph.microsoft.com/v1.0/admin/exchange/tracing/messageTraces"
            + "?$filter=receivedDateTime+ge+2026-11-20T08:00:00Z+and+receivedDateTime+le+2026-11-20T09:00:00Z&$top=3";

    private static final String PAGE1_NEXT = "https://reports.office365.com/ecp/ReportingWebService/Reporting.svc/MessageTrace"
            + "?$filter=StartDate%20eq%20datetime'2026-03-02T09:00:00Z'%20and%20EndDate%20eq%20datetime'2026-03-02T10:00:00Z'"
            + "&$top=4&$skiptoken=4";
    private static final String ODATA_NEXT = "https://reports.office365.com/ecp/ReportingWebService/Reporting.svc/MessageTrace"
            + "?$format=json&$filter=StartDate%20eq%20datetime'2026-03-02T09:00:00Z'%20and%20EndDate%20eq%20datetime'2026-03-02T10:00:00Z'"
            + "&$top=4&$skiptoken=4";
    private static final String GRAPH_NEXT = "https://graph.microsoft.com/v1.0/admin/exchange/tracing/messageTraces"
            + "?$filter=receivedDateTime+ge+2026-11-20T08:00:00Z+and+receivedDateTime+le+2026-11-20T09:00:00Z"
            + "&$top=3&$skiptoken=RmFrZVNraXBUb2tlbi1wYWdlMi0wMDAx";

    /** The subject of the third row of reporting-verbose-page1.json, as python's json module reads it. */
    private static final String TRICKY_SUBJECT =
            "R\u00e9union \u00abQ1\u00bb \u2014 \"budget\" C:\\Finance\\Q1\nSecond line \u2713 \u65e5\u672c\u8a9e";

    private static InputStream fixture(String name) {
        InputStream in = TracePageTest.class.getResourceAsStream("/fixtures/" + name);
        assertNotNull(in, "missing fixture " + name);
        return in;
    }

    private static byte[] fixtureBytes(String name) throws IOException {
        try (InputStream in = fixture(name)) {
            return in.readAllBytes();
        }
    }

    private static InputStream json(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
    }

    /** Every remaining record of the page, in order (fails on an unusable row). */
    private static List<Map<String, Object>> drain(TracePage page) {
        List<Map<String, Object>> out = new ArrayList<>();
        while (page.hasNext()) {
            out.add(record(page.next()));
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> record(Object element) {
        assertInstanceOf(Map.class, element, () -> "a record, not " + element);
        return (Map<String, Object>) element;
    }

    private static void drainFully(InputStream in, String api) {
        TracePage page = new TracePage(in, api, RWS_URI);
        drain(page);
        page.getNextLink();
    }

    @Test
    void verbosePagesGiveEightRecords() {
        TracePage p1 = new TracePage(fixture("reporting-verbose-page1.json"), "reporting", RWS_URI);
        List<Map<String, Object>> rows1 = drain(p1);
        assertEquals(4, rows1.size());
        assertEquals(4, p1.getRows());
        assertEquals(PAGE1_NEXT, p1.getNextLink());

        TracePage p2 = new TracePage(fixture("reporting-verbose-page2.json"), "reporting", PAGE1_NEXT);
        List<Map<String, Object>> rows2 = drain(p2);
        assertEquals(4, rows2.size());
        assertNull(p2.getNextLink(), "the last page has no next link");

        List<Map<String, Object>> all = new ArrayList<>(rows1);
        all.addAll(rows2);
        assertEquals(8, all.size());
        long shared = all.stream().filter(r -> "3f2c1a7e-5b4d-4e8a-9c61-08de5a1b2c01".equals(r.get("messageTraceId"))).count();
        assertEquals(2, shared);
        Set<String> keys = new HashSet<>();
        all.forEach(r -> keys.add(TraceRecords.key(r)));
        assertEquals(8, keys.size(), "every row is a distinct record");
        assertTrue(all.stream().allMatch(r -> "reporting".equals(r.get("api"))));

        Map<String, Object> first = rows1.get(0);
        assertEquals("alice@contoso.com", first.get("recipientAddress"));
        assertEquals("2026-03-02T09:58:41.512Z", first.get("received"));
        assertEquals("contoso.onmicrosoft.com", first.get("organization"));
        assertNull(first.get("toIP"));
        assertEquals(48211L, first.get("size"));

        assertEquals(List.of("Expanded", "Delivered", "Failed", "Pending"),
                rows2.stream().map(r -> r.get("status")).toList());
    }

    @Test
    void lightShapeWithOdataNextLink() {
        TracePage page = new TracePage(fixture("reporting-odata-page.json"), "reporting", RWS_URI);
        List<Map<String, Object>> rows = drain(page);
        assertEquals(4, rows.size());
        assertEquals(ODATA_NEXT, page.getNextLink());
        assertEquals("2026-03-02T09:58:41.512Z", rows.get(0).get("received"));
        assertEquals("3f2c1a7e-5b4d-4e8a-9c61-08de5a1b2c01", rows.get(0).get("messageTraceId"));
    }

    @Test
    void graphNextLinkIsReturnedVerbatim() {
        TracePage page = new TracePage(fixture("graph-page1.json"), "graph", GRAPH_URI);
        List<Map<String, Object>> rows = drain(page);
        assertEquals(3, rows.size());
        assertEquals(GRAPH_NEXT, page.getNextLink());
        assertEquals(List.of("Delivered", "Pending", "Delivered"), rows.stream().map(r -> r.get("status")).toList());
        assertNull(rows.get(0).get("toIP"), "empty Graph toIP is null");
        assertEquals("203.0.113.45", rows.get(2).get("toIP"));
        assertFalse(rows.get(0).containsKey("organization"));
        assertEquals("graph", rows.get(0).get("api"));
    }

    @Test
    void lastGraphPage() {
        TracePage page = new TracePage(fixture("graph-page2.json"), "graph", GRAPH_NEXT);
        List<Map<String, Object>> rows = drain(page);
        assertEquals(3, rows.size());
        assertNull(page.getNextLink());
        assertEquals(List.of("FilteredAsSpam", "Failed", "Quarantined"), rows.stream().map(r -> r.get("status")).toList());
    }

    @Test
    void relativeNextLinkIsResolvedAgainstTheRequest() {
        TracePage page = new TracePage(json("{\"value\":[],\"odata.nextLink\":\"MessageTrace?$skiptoken=4\"}"), "reporting",
                "http://127.0.0.1:1/x/reporting.svc/MessageTrace?$top=4");
        assertFalse(page.hasNext());
        assertEquals("http://127.0.0.1:1/x/reporting.svc/MessageTrace?$skiptoken=4", page.getNextLink());
    }

    @Test
    void trickySubjectSurvivesExactly() {
        List<Map<String, Object>> rows = drain(new TracePage(fixture("reporting-verbose-page1.json"), "reporting", RWS_URI));
        assertEquals(TRICKY_SUBJECT, rows.get(2).get("subject"));
        assertEquals("dave@fabrikam.com", rows.get(2).get("recipientAddress"));
        List<Map<String, Object>> graph = drain(new TracePage(fixture("graph-page1.json"), "graph", GRAPH_URI));
        assertEquals(TRICKY_SUBJECT, graph.get(2).get("subject"));
    }

    @Test
    void truncatedJsonIsMalformed() throws IOException {
        byte[] all = fixtureBytes("reporting-verbose-page1.json");
        byte[] half = Arrays.copyOf(all, all.length / 2);
        assertThrows(MalformedPageException.class, () -> drainFully(new ByteArrayInputStream(half), "reporting"));
        // cut just before the closing brackets: every row is whole, the document is not
        String s = new String(all, StandardCharsets.UTF_8);
        String cut = s.substring(0, s.lastIndexOf(']'));
        assertThrows(MalformedPageException.class, () -> drainFully(json(cut), "reporting"));
        String graph = new String(fixtureBytes("graph-page1.json"), StandardCharsets.UTF_8);
        String cutGraph = graph.substring(0, graph.length() - 3);
        assertThrows(MalformedPageException.class, () -> drainFully(json(cutGraph), "graph"));
    }

    @Test
    void htmlIsMalformed() {
        assertThrows(MalformedPageException.class, () -> drainFully(json("<html><body>Service Unavailable</body></html>"), "reporting"));
    }

    @Test
    void nonObjectDocumentIsMalformed() {
        assertThrows(MalformedPageException.class, () -> drainFully(json("[]"), "reporting"));
        assertThrows(MalformedPageException.class, () -> drainFully(json(""), "reporting"));
    }

    @Test
    void objectWithoutRowsIsMalformed() {
        assertThrows(MalformedPageException.class, () -> drainFully(json("{\"foo\":[{\"a\":1}]}"), "reporting"));
        assertThrows(MalformedPageException.class, () -> drainFully(json("{\"d\":{\"other\":[]}}"), "reporting"));
        assertThrows(MalformedPageException.class, () -> drainFully(json("{}"), "graph"));
    }

    @Test
    void errorReplyIsMalformed() {
        MalformedPageException e = assertThrows(MalformedPageException.class,
                () -> drainFully(fixture("reporting-400-error.json"), "reporting"));
        assertTrue(e.getMessage().contains("StartDat"), e.getMessage());
    }

    @Test
    void rowThatIsNotAnObjectIsMalformed() {
        assertThrows(MalformedPageException.class, () -> drainFully(json("{\"value\":[1,2]}"), "graph"));
        assertThrows(MalformedPageException.class, () -> drainFully(json("{\"value\":[\"row\"]}"), "graph"));
        String row = "{\"id\":\"i\",\"recipientAddress\":\"a@b.c\",\"receivedDateTime\":\"2026-11-20T08:57:12Z\",\"status\":\"delivered\"}";
        TracePage page = new TracePage(json("{\"value\":[" + row + ",[1]]}"), "graph", GRAPH_URI);
        assertTrue(page.hasNext());
        assertEquals("i", record(page.next()).get("messageTraceId"));
        assertThrows(MalformedPageException.class, page::hasNext);
    }

    @Test
    void rowsReadWithoutATreeGiveTheRecordsOfTheTree() {
        for (String[] f : List.of(new String[] {"graph-page1.json", "graph"}, new String[] {"graph-page2.json", "graph"},
                new String[] {"reporting-verbose-page1.json", "reporting"}, new String[] {"reporting-odata-page.json", "reporting"})) {
            List<Map<String, Object>> fields = drain(new TracePage(fixture(f[0]), f[1], GRAPH_URI, "t", TraceDirection.off(), false));
            List<Map<String, Object>> tree = drain(new TracePage(fixture(f[0]), f[1], GRAPH_URI, "t", TraceDirection.off(), true));
            assertFalse(fields.isEmpty(), f[0]);
            assertEquals(tree, fields, f[0]);
        }
        String odd = "{\"id\":\"x\",\"size\":\"12\",\"subject\":7,\"status\":true,\"recipientAddress\":\"\","
                + "\"receivedDateTime\":\"2026-11-20T08:57:12Z\",\"fromIP\":{\"a\":[1]},\"id\":\"y\"}";
        String good = odd.replace("\"recipientAddress\":\"\"", "\"recipientAddress\":\"a@b.c\"");
        for (String row : List.of(odd, good)) {
            Object fields = new TracePage(json("{\"value\":[" + row + "]}"), "graph", GRAPH_URI, null, TraceDirection.off(), false).next();
            Object tree = new TracePage(json("{\"value\":[" + row + "]}"), "graph", GRAPH_URI, null, TraceDirection.off(), true).next();
            if (tree instanceof UnusableRow t) {
                UnusableRow u = assertInstanceOf(UnusableRow.class, fields);
                assertEquals(t.getJson().replace(",\"api\":\"graph\"", ""), u.getJson(), "kept as served");
                assertEquals("{\"id\":\"y\",\"size\":\"12\",\"subject\":7,\"status\":true,\"recipientAddress\":\"\","
                        + "\"receivedDateTime\":\"2026-11-20T08:57:12Z\",\"fromIP\":{\"a\":[1]}}", u.getJson(), "a repeated name: the last value");
            } else {
                assertEquals(tree, fields);
                assertEquals("y", record(fields).get("messageTraceId"));
                assertEquals("7", record(fields).get("subject"));
                assertEquals("True", record(fields).get("status"));
                assertNull(record(fields).get("size"), "a size given as text is not a number");
                assertNull(record(fields).get("fromIP"), "an object is no address");
            }
        }
    }

    @Test
    void rowThatCannotBecomeARecordIsSetAsideAndTheRowsAfterItGoOn() throws Exception {
        String good = "{\"id\":\"i\",\"recipientAddress\":\"a@b.c\",\"receivedDateTime\":\"2026-11-20T08:57:12Z\",\"status\":\"delivered\"}";
        String noRecipient = "{\"id\":\"j\",\"recipientAddress\":null,\"receivedDateTime\":\"2026-11-20T08:57:13Z\"}";
        String badDate = "{\"id\":\"k\",\"recipientAddress\":\"a@b.c\",\"receivedDateTime\":\"yesterday\"}";
        TracePage page = new TracePage(json("{\"value\":[" + noRecipient + "," + good + "," + badDate + "],"
                + "\"@odata.nextLink\":\"https://graph.microsoft.com/next\"}"), "graph", GRAPH_URI);

        UnusableRow first = assertInstanceOf(UnusableRow.class, page.next());
        assertEquals(noRecipient, first.getJson(), "kept as the API served it");
        assertTrue(first.getReason().contains("no trace id, recipient or received date"), first.getReason());
        assertEquals("i", record(page.next()).get("messageTraceId"));
        UnusableRow third = assertInstanceOf(UnusableRow.class, page.next());
        assertTrue(third.getReason().contains("unreadable date 'yesterday'"), third.getReason());
        assertFalse(page.hasNext());
        assertEquals("https://graph.microsoft.com/next", page.getNextLink(), "the page is read to its end");
        assertEquals(3, page.getRows());
        String sameRowOtherQuery = noRecipient.replace("}", ",\"StartDate\":\"2026-11-20T08:00:00Z\",\"Index\":7}");
        assertEquals(first.getName(), UnusableRow.of(new ObjectMapper().readTree(sameRowOtherQuery), "again").getName(),
                "the same row, the same name, whatever query returned it");
        assertFalse(first.getName().equals(third.getName()));
    }

    @Test
    void nextLinkBeforeTheEndIsAnError() {
        TracePage page = new TracePage(fixture("reporting-verbose-page1.json"), "reporting", RWS_URI);
        assertThrows(IllegalStateException.class, page::getNextLink);
        assertTrue(page.hasNext());
        page.next();
        assertThrows(IllegalStateException.class, page::getNextLink);
        drain(page);
        assertEquals(PAGE1_NEXT, page.getNextLink());
    }

    @Test
    void hasNextDoesNotSkipRows() {
        TracePage page = new TracePage(fixture("graph-page1.json"), "graph", GRAPH_URI);
        assertTrue(page.hasNext());
        assertTrue(page.hasNext());
        assertEquals("alice@contoso.com", record(page.next()).get("recipientAddress"));
        assertTrue(page.hasNext());
        assertTrue(page.hasNext());
        assertEquals("bob@contoso.com", record(page.next()).get("recipientAddress"));
    }

    @Test
    void emptyValueArrayGivesNoRows() {
        TracePage page = new TracePage(json("{\"@odata.context\":\"x\",\"value\":[]}"), "graph", GRAPH_URI);
        assertFalse(page.hasNext());
        assertEquals(0, page.getRows());
        assertNull(page.getNextLink());
        TracePage verbose = new TracePage(json("{\"d\":{\"results\":[]}}"), "reporting", RWS_URI);
        assertEquals(0, drain(verbose).size());
        assertNull(verbose.getNextLink());
    }
}
