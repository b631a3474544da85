package org.m365trace.demo;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * A loopback simulator of the two message-trace APIs, for the demo profile and the tests: the Reporting Web Service
 * {@code MessageTrace} report, Microsoft Graph {@code messageTraces} (window rules answered with 400, 429 with
 * Retry-After) and the OAuth2 token endpoint.
 * It behaves like the real service: {@code $filter} with StartDate/EndDate, {@code $top} paging with absolute next
 * links carrying {@code $skiptoken}, newest rows first, basic auth, both reply shapes (verbose {@code d.results}
 * with {@code /Date(ms)/}, or {@code value} with 7-digit ISO dates without zone). Its mailbox grows steadily:
 * rows become visible some seconds after their {@code Received} time (late rows), and Pending rows turn
 * Delivered or Failed later (status changes). Faults can be injected: the next replies answer 401, 500, 503 or a
 * malformed page, or never answer at all ({@code hang}, {@code stall}); {@link #failNextPage} aims a fault at a page
 * of a window (page 2 of 3). {@link #stop()} and {@link #start()} again serve on the same port (an API that went
 * away and came back).
 */
public class SimulatedReportingService {

    /** A served row: one recipient of one message, in one status. */
    public record Row(String id, String messageId, Instant received, String sender, String recipient, String subject,
                      int size, String fromIp, String toIp, String status, Instant visibleFrom) {
        public String key() {
            return id + "|" + recipient + "|" + status;
        }
    }

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Pattern START = Pattern.compile("StartDate eq datetime'([^']+)'");
    private static final Pattern END = Pattern.compile("EndDate eq datetime'([^']+)'");
    private static final Pattern DETAILS = Pattern.compile("/messageTraces/([^/]+)/getDetailsByRecipient\\(recipientAddress='(.*)'\\)$");
    private static final Pattern GRAPH_FILTER = Pattern.compile("receivedDateTime ge (\\S+) and receivedDateTime le (\\S+)");
    private static final String[] SUBJECTS = {"Quarterly report", "Réunion «Q1» — \"budget\" C:\\Finance\\Q1\nSecond line ✓ 日本語",
        "Invoice 2026-0142", "Lunch?", "Your November invoice", "Benefits enrolment", "Limited offer", "Re: Re: plans"};
    private static final String[] PEOPLE = {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"};

    private int port;
    private String username = "demo";
    private String password = "demo";
    private String shape = "alternate";
    private double messagesPerSecond = 2;
    private Duration lateBy = Duration.ofSeconds(3);
    /** On top of lateBy, each message shows up later still by a random part of this (0: all exactly lateBy late). */
    private Duration lateSpread = Duration.ZERO;
    private Duration pendingFor = Duration.ofSeconds(20);
    private Clock clock = Clock.systemUTC();

    private final List<Row> rows = Collections.synchronizedList(new ArrayList<>());
    private final Set<String> served = Collections.synchronizedSet(new LinkedHashSet<>());
    private final Map<String, Instant> lastServed = new java.util.concurrent.ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<String> faults = new ConcurrentLinkedQueue<>();
    /** Faults aimed at a page number (1 = a window's first page): {page, kind}. */
    private final ConcurrentLinkedQueue<Object[]> pageFaults = new ConcurrentLinkedQueue<>();
    /** Opened by {@link #stop()}: hung requests end then (and at the latest after {@link #HANG_LIMIT}). */
    private volatile CountDownLatch released = new CountDownLatch(1);
    private final AtomicInteger hung = new AtomicInteger();
    private static final Duration HANG_LIMIT = Duration.ofMinutes(5);
    private ExecutorService handlers;
    private final List<String> requests = Collections.synchronizedList(new ArrayList<>());
    private final List<Instant> requestTimes = Collections.synchronizedList(new ArrayList<>());
    private final Random random = new Random(42);
    private final AtomicInteger windowViolations = new AtomicInteger();
    private final AtomicInteger retryAfterViolations = new AtomicInteger();
    private volatile Instant throttledUntil = Instant.MIN;
    private final AtomicInteger detailsRequests = new AtomicInteger();
    private final Set<String> detailsForgotten = ConcurrentHashMap.newKeySet();
    private String clientId = "demo-client";
    private volatile String clientSecret = "demo-secret";
    private Duration tokenLifetime = Duration.ofHours(1);
    private final Map<String, Instant> tokens = new ConcurrentHashMap<>();
    private final AtomicInteger tokenRequests = new AtomicInteger();
    private HttpServer server;
    private ScheduledExecutorService traffic;
    private long counter;

    public void start() throws IOException {
        released = new CountDownLatch(1);
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
        // a port chosen by the system (0) is kept, so that a stop and a start again serve on the same port
        port = server.getAddress().getPort();
        server.createContext("/", this::handle);
        // threads as needed: a hung request holds one until stop()
        handlers = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "simulated-api");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(handlers);
        server.start();
        if (messagesPerSecond > 0) {
            traffic = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "simulated-mailbox");
                t.setDaemon(true);
                return t;
            });
            long periodMs = (long) (1000 / messagesPerSecond);
            traffic.scheduleAtFixedRate(this::sendMessage, 0, periodMs, TimeUnit.MILLISECONDS);
        }
    }

    public void stop() {
        if (traffic != null) {
            traffic.shutdownNow();
            traffic = null;
        }
        released.countDown();
        if (server != null) {
            server.stop(0);
        }
        if (handlers != null) {
            handlers.shutdownNow();
        }
    }

    /** The port served on (the one chosen by the system, once started on port 0). */
    public int port() {
        return port;
    }

    /** Stops new mail; rows already received still become visible and change status. */
    public void stopTraffic() {
        if (traffic != null) {
            traffic.shutdownNow();
            traffic = null;
        }
    }

    /** The base URL to set as {@code trace.reporting.baseUrl}. */
    public String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/ecp/reportingwebservice/reporting.svc";
    }

    /**
     * Queues faults for the next requests: {@code 401}, {@code 401sp} (Graph: no service principal), {@code 403},
     * {@code 429} (Graph, Retry-After 2), {@code 500}, {@code 503} (no Retry-After), {@code malformed},
     * {@code truncated}, {@code hang} (the request is read and never answered), {@code stall} (reporting pages:
     * status, headers and half of the page are sent, the rest never), {@code ok} (no fault: lets a request through in a sequence).
     */
    public void failNext(String... kinds) {
        faults.addAll(List.of(kinds));
    }

    /**
     * Queues faults for the next requests of page {@code page} of a window (1 = the first page): each kind is used by
     * the next request for that page; requests for other pages pass by (and take from {@link #failNext} as usual).
     */
    public void failNextPage(int page, String... kinds) {
        for (String kind : kinds) {
            pageFaults.add(new Object[] {page, kind});
        }
    }

    /** Requests that were answered with {@code hang} or {@code stall} (never completed). */
    public int hungRequests() {
        return hung.get();
    }

    /** Every (messageTraceId|recipient|status) state that exists and is visible now, received up to {@code until}. */
    public Set<String> expectedKeys(Instant until) {
        Set<String> keys = new LinkedHashSet<>();
        Instant now = clock.instant();
        synchronized (rows) {
            for (Row r : rows) {
                if (!r.visibleFrom().isAfter(now) && !r.received().isAfter(until) && r.recipient() != null) {
                    keys.add(r.key());
                }
            }
        }
        return keys;
    }

    /** The newest visible state of every row: what a query over all time returns now (an unusable row has no key). */
    public Set<String> currentKeys() {
        Set<String> keys = new LinkedHashSet<>();
        query(Instant.EPOCH, Instant.MAX).stream().filter(r -> r.recipient() != null).forEach(r -> keys.add(r.key()));
        return keys;
    }

    /**
     * Adds a row that can never become a record: served like the others in its window, but without a recipient
     * address (as a broken API reply would have it). Returns its trace id.
     */
    public synchronized String sendUnusableRow(Instant received) {
        String id = new UUID(0x0bad0000_00000000L | counter++, random.nextLong()).toString();
        rows.add(new Row(id, "<" + id + "@fabrikam.com>", received, "mallory@fabrikam.com", null, "no recipient", 1000,
                "198.51.100.66", null, "Delivered", received));
        return id;
    }

    /** From now on getDetailsByRecipient answers 404 for this trace id (details kept for less time than rows). */
    public void forgetDetails(String id) {
        detailsForgotten.add(id);
    }

    /** Every row state ever created, by its key. */
    public Map<String, Row> rowsByKey() {
        Map<String, Row> byKey = new LinkedHashMap<>();
        synchronized (rows) {
            rows.forEach(r -> byKey.put(r.key(), r));
        }
        return byKey;
    }

    private void served(Row r) {
        served.add(r.key());
        lastServed.put(r.key(), Instant.now());
    }

    /** When the row of {@code key} was last served in a reply (tests: was it only in a page a killed client held?). */
    public Instant lastServed(String key) {
        return lastServed.get(key);
    }

    public Set<String> servedKeys() {
        synchronized (served) {
            return new LinkedHashSet<>(served);
        }
    }

    /** The most API requests (token requests excluded) that arrived within any {@code span}. */
    public int mostRequestsWithin(Duration span) {
        List<Instant> times;
        synchronized (requestTimes) {
            times = new ArrayList<>(requestTimes);
        }
        int most = 0;
        for (int i = 0, j = 0; i < times.size(); i++) {
            while (Duration.between(times.get(j), times.get(i)).compareTo(span) >= 0) {
                j++;
            }
            most = Math.max(most, i - j + 1);
        }
        return most;
    }

    public List<String> requests() {
        synchronized (requests) {
            return new ArrayList<>(requests);
        }
    }

    /**
     * Adds one message (1 to 3 recipients) received now, visible {@code lateBy} (plus up to {@code lateSpread}) later;
     * Pending ones settle later.
     */
    public void sendMessage() {
        Instant now = clock.instant();
        long spread = lateSpread.toMillis();
        sendMessage(now, now.plus(lateBy).plusMillis(spread > 0 ? (long) (random.nextDouble() * spread) : 0));
    }

    public synchronized void sendMessage(Instant received, Instant visibleFrom) {
        long n = counter++;
        String id = new UUID(0x08de5a1b2c000000L | n, random.nextLong()).toString();
        String sender = PEOPLE[random.nextInt(PEOPLE.length)] + "@fabrikam.com";
        String subject = SUBJECTS[(int) (n % SUBJECTS.length)];
        String messageId = "<" + UUID.randomUUID() + "@fabrikam.com>";
        int size = 1000 + random.nextInt(200_000);
        String fromIp = "198.51.100." + (1 + random.nextInt(250));
        int recipients = 1 + random.nextInt(3);
        for (int i = 0; i < recipients; i++) {
            String recipient = PEOPLE[(int) ((n + i) % PEOPLE.length)] + "@contoso.com";
            int dice = random.nextInt(10);
            String status = dice < 6 ? "Delivered" : dice < 8 ? "Pending" : dice < 9 ? "FilteredAsSpam" : "Failed";
            String toIp = status.equals("Failed") ? "203.0.113." + (1 + random.nextInt(250)) : null;
            rows.add(new Row(id, messageId, received, sender, recipient, subject, size, fromIp, toIp, status, visibleFrom));
            if (status.equals("Pending")) {
                String later = random.nextInt(4) == 0 ? "Failed" : "Delivered";
                rows.add(new Row(id, messageId, received, sender, recipient, subject, size, fromIp, toIp, later,
                        visibleFrom.plus(pendingFor)));
            }
        }
    }

    /**
     * Adds one message to one recipient, Delivered, with {@code subject} (a test's record of a given size), received
     * and visible at {@code received}. Returns its row's key.
     */
    public synchronized String sendMessage(Instant received, String subject) {
        String id = new UUID(0x08de5a1b2c000000L | counter++, random.nextLong()).toString();
        Row row = new Row(id, "<" + UUID.randomUUID() + "@fabrikam.com>", received, "alice@fabrikam.com", "bob@contoso.com",
                subject, 1000 + subject.length(), "198.51.100.7", null, "Delivered", received);
        rows.add(row);
        return row.key();
    }

    /** The rows a query for [start, end] sees now: the newest state of each visible row, newest first. */
    List<Row> query(Instant start, Instant end) {
        Instant now = clock.instant();
        Map<String, Row> current = new LinkedHashMap<>();
        synchronized (rows) {
            for (Row r : rows) {
                if (!r.visibleFrom().isAfter(now) && !r.received().isBefore(start) && !r.received().isAfter(end)) {
                    current.put(r.id() + "|" + r.recipient(), r); // a later state replaces the earlier one
                }
            }
        }
        List<Row> result = new ArrayList<>(current.values());
        result.sort(Comparator.comparing(Row::received).reversed().thenComparing(Row::id).thenComparing(Row::recipient, Comparator.nullsFirst(Comparator.naturalOrder())));
        return result;
    }

    private void handle(HttpExchange ex) throws IOException {
        boolean stall = false;
        try (ex) {
            URI uri = ex.getRequestURI();
            if (uri.getPath().endsWith("/token")) {
                token(ex);
                return;
            }
            requests.add(uri.toString());
            requestTimes.add(clock.instant());
            String fault = nextFault(uri);
            if ("hang".equals(fault)) {
                // the request was read; the reply never comes (until stop(), or HANG_LIMIT)
                hung.incrementAndGet();
                hold();
                return;
            }
            if ("401sp".equals(fault) || "403".equals(fault)) {
                // Graph onboarding errors: the first-party service principal is missing, or the permission is not consented
                ex.getResponseHeaders().add("Content-Type", "application/json");
                reply(ex, "403".equals(fault) ? 403 : 401, "403".equals(fault)
                        ? graphError("Forbidden", "Access is denied. Check credentials and try again.")
                        : graphError("Unauthorized", "Service principal-less authentication failed: The service principal for App ID "
                        + "8bd644d1-64a1-4d4b-ae52-2e0cbf64e373 was not found. Please create a service principal for this app in your tenant."
                        + " Provisioning may take several hours to complete."));
                return;
            }
            if (!authorized(ex.getRequestHeaders().getFirst("Authorization")) || "401".equals(fault)) {
                ex.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"\"");
                reply(ex, 401, "");
                return;
            }
            if ("500".equals(fault) || "503".equals(fault)) {
                // Graph errors carry a new request-id each time, as the real service's do
                boolean graphApi = uri.getPath().contains("/admin/exchange/tracing/");
                boolean unavailable = "503".equals(fault);
                if (graphApi) {
                    ex.getResponseHeaders().add("Content-Type", "application/json");
                }
                reply(ex, unavailable ? 503 : 500, graphApi
                        ? graphError(unavailable ? "ServiceUnavailable" : "InternalServerError", unavailable
                        ? "The service is temporarily unavailable." : "An internal server error occurred.")
                        : "{\"error\":{\"code\":\"\",\"message\":{\"lang\":\"en-US\",\"value\":\"" + (unavailable
                        ? "The service is temporarily unavailable." : "An internal server error occurred.") + "\"}}}");
                return;
            }
            if ("malformed".equals(fault)) {
                reply(ex, 200, "<html><body>Service Unavailable</body></html>");
                return;
            }
            if (uri.getPath().contains("/getDetailsByRecipient(")) {
                details(ex, uri);
                return;
            }
            if (uri.getPath().endsWith("/messageTraces")) {
                graph(ex, uri, fault);
                return;
            }
            if ("stall".equals(fault)) {
                fault = null; // the reporting page below is sent in part
                stall = true;
            }
            if (!uri.getPath().endsWith("/MessageTrace")) {
                reply(ex, 404, "");
                return;
            }
            Map<String, String> q = query(uri.getRawQuery());
            String filter = q.getOrDefault("$filter", "");
            Matcher s = START.matcher(filter);
            Matcher e = END.matcher(filter);
            Instant start;
            Instant end;
            if (s.find() && e.find()) {
                start = Instant.parse(s.group(1));
                end = Instant.parse(e.group(1));
            } else {
                end = clock.instant();
                start = end.minus(Duration.ofHours(48));
            }
            if (end.isBefore(start)) {
                reply(ex, 400, "{\"error\":{\"code\":\"\",\"message\":{\"lang\":\"en-US\",\"value\":\"EndDate is before StartDate.\"}}}");
                return;
            }
            int top = Integer.parseInt(q.getOrDefault("$top", "1000"));
            int skip = Integer.parseInt(q.getOrDefault("$skiptoken", "0"));
            List<Row> all = query(start, end);
            List<Row> page = all.subList(Math.min(skip, all.size()), Math.min(skip + top, all.size()));
            boolean verbose = switch (shape) {
                case "verbose" -> true;
                case "light" -> false;
                default -> (skip / Math.max(top, 1)) % 2 == 0;
            };
            String next = skip + top < all.size()
                    ? baseUrl() + "/MessageTrace?" + (verbose ? "" : "$format=json&") + "$filter=" + enc(filter) + "&$top=" + top
                    + "&$skiptoken=" + (skip + top)
                    : null;
            String body = verbose ? verbose(page, start, end, skip, next) : light(page, start, end, skip, next);
            if ("truncated".equals(fault)) {
                body = body.substring(0, body.length() / 2);
            } else if (!stall) {
                page.forEach(this::served);
            }
            ex.getResponseHeaders().add("Content-Type", "application/json;odata=" + (verbose ? "verbose" : "minimalmetadata") + ";charset=utf-8");
            if (stall) {
                stall(ex, body);
                return;
            }
            reply(ex, 200, body);
        } catch (RuntimeException e) {
            reply(ex, 500, "");
        }
    }

    /** The fault for this request: one aimed at its page number first, else the next of {@link #failNext}. */
    private String nextFault(URI uri) {
        synchronized (pageFaults) {
            Object[] head = pageFaults.peek();
            if (head != null && (Integer) head[0] == pageOf(uri)) {
                pageFaults.poll();
                return (String) head[1];
            }
        }
        String fault = faults.poll();
        return "ok".equals(fault) ? null : fault;
    }

    /** The page number of a page request (1 for a window's first page), from its {@code $skiptoken} and {@code $top}. */
    private static int pageOf(URI uri) {
        Map<String, String> q = query(uri.getRawQuery());
        String token = q.get("$skiptoken");
        if (token == null) {
            return 1;
        }
        int top = Math.max(1, Integer.parseInt(q.getOrDefault("$top", "1000")));
        String skip = token.matches("\\d+") ? token : new String(Base64.getDecoder().decode(token), StandardCharsets.UTF_8).substring(5);
        return Integer.parseInt(skip) / top + 1;
    }

    /** Blocks the calling handler thread until {@link #stop()} (at most {@link #HANG_LIMIT}). */
    private void hold() {
        try {
            released.await(HANG_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Sends a 200 with the page's full length announced and half of it written, then nothing more. */
    private void stall(HttpExchange ex, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        hung.incrementAndGet();
        ex.sendResponseHeaders(200, bytes.length);
        OutputStream out = ex.getResponseBody();
        out.write(bytes, 0, bytes.length / 2);
        out.flush();
        hold();
    }

    /** Graph {@code GET /admin/exchange/tracing/messageTraces}, with the service's window rules and throttling. */
    private void graph(HttpExchange ex, URI uri, String fault) throws IOException {
        Instant now = clock.instant();
        ex.getResponseHeaders().add("Content-Type", "application/json");
        if (now.isBefore(throttledUntil)) {
            retryAfterViolations.incrementAndGet();
            fault = "429";
        }
        if ("429".equals(fault)) {
            throttledUntil = now.plusSeconds(2);
            ex.getResponseHeaders().add("Retry-After", "2");
            reply(ex, 429, graphError("TooManyRequests", "Too many requests. Please retry after the time specified in the Retry-After header."));
            return;
        }
        Map<String, String> q = query(uri.getRawQuery());
        Matcher m = GRAPH_FILTER.matcher(q.getOrDefault("$filter", ""));
        int top = Integer.parseInt(q.getOrDefault("$top", "1000"));
        if (!m.find()) {
            windowViolations.incrementAndGet();
            reply(ex, 400, graphError("BadRequest", "Both receivedDateTime ge and receivedDateTime le are required."));
            return;
        }
        Instant start = Instant.parse(m.group(1));
        Instant end = Instant.parse(m.group(2));
        String broken = Duration.between(start, end).compareTo(Duration.ofDays(10)) > 0
                ? "The time range between receivedDateTime ge and receivedDateTime le must not exceed 10 days."
                : start.isBefore(now.minus(Duration.ofDays(90))) ? "receivedDateTime ge must be within the last 90 days."
                : end.isAfter(now.plusSeconds(60)) ? "receivedDateTime le must not be in the future."
                : top < 1 || top > 5000 ? "$top must be between 1 and 5000." : null;
        if (broken != null) {
            windowViolations.incrementAndGet();
            reply(ex, 400, graphError("BadRequest", broken));
            return;
        }
        int skip = q.containsKey("$skiptoken")
                ? Integer.parseInt(new String(Base64.getDecoder().decode(q.get("$skiptoken")), StandardCharsets.UTF_8).substring(5)) : 0;
        List<Row> all = query(start, end);
        List<Row> page = all.subList(Math.min(skip, all.size()), Math.min(skip + top, all.size()));
        ObjectNode root = MAPPER.createObjectNode();
        root.put("@odata.context", "https://graph.microsoft.com/v1.0/$metadata#admin/exchange/tracing/messageTraces");
        ArrayNode value = root.putArray("value");
        for (Row r : page) {
            ObjectNode o = value.addObject();
            o.put("id", r.id());
            o.put("senderAddress", r.sender());
            o.put("recipientAddress", r.recipient());
            o.put("messageId", r.messageId());
            o.put("receivedDateTime", r.received().toString());
            o.put("subject", r.subject());
            o.put("size", r.size());
            o.put("fromIP", r.fromIp());
            o.put("toIP", r.toIp() == null ? "" : r.toIp());
            o.put("status", Character.toLowerCase(r.status().charAt(0)) + r.status().substring(1));
        }
        if (skip + top < all.size()) {
            String token = Base64.getEncoder().encodeToString(("skip:" + (skip + top)).getBytes(StandardCharsets.UTF_8));
            root.put("@odata.nextLink", "http://127.0.0.1:" + server.getAddress().getPort() + uri.getPath() + "?$filter="
                    + enc(q.get("$filter")) + "&$top=" + top + "&$skiptoken=" + token);
        }
        page.forEach(this::served);
        reply(ex, 200, root.toString());
    }

    /** Graph {@code messageTraces/{id}/getDetailsByRecipient(recipientAddress='...')}: the events of one row. */
    private void details(HttpExchange ex, URI uri) throws IOException {
        detailsRequests.incrementAndGet();
        Matcher m = DETAILS.matcher(uri.getPath());
        if (!m.find()) {
            reply(ex, 400, graphError("BadRequest", "Malformed getDetailsByRecipient call."));
            return;
        }
        String id = m.group(1);
        String recipient = m.group(2).replace("''", "'");
        Row row = null;
        synchronized (rows) {
            for (Row r : rows) {
                if (!detailsForgotten.contains(id) && r.id().equals(id) && recipient.equals(r.recipient()) && !r.visibleFrom().isAfter(clock.instant())) {
                    row = r;
                }
            }
        }
        if (row == null) {
            reply(ex, 404, graphError("NotFound", "No message trace for that recipient."));
            return;
        }
        ObjectNode root = MAPPER.createObjectNode();
        ArrayNode value = root.putArray("value");
        String last = switch (row.status()) {
            case "Delivered" -> "Deliver";
            case "Failed" -> "Fail";
            case "Pending" -> "Defer";
            default -> "Spam Diagnostics";
        };
        String[][] events = {{"Receive", "Message received by: CH0PR11MB7777.namprd11.prod.outlook.com"}, {"Submit", "The message was submitted."},
            {last, "The message reached the " + last + " step."}};
        for (int i = 0; i < events.length; i++) {
            ObjectNode e = value.addObject();
            e.put("id", row.id());
            e.put("messageId", row.messageId());
            e.put("dateTime", row.received().plusSeconds(i).toString());
            e.put("event", events[i][0]);
            e.put("action", "");
            e.put("description", events[i][1]);
            e.put("data", "<root><MEP Name=\"ConnectorId\" String=\"Default\" /></root>");
        }
        ex.getResponseHeaders().add("Content-Type", "application/json");
        reply(ex, 200, root.toString());
    }

    /** getDetailsByRecipient calls received. */
    public int detailsRequests() {
        return detailsRequests.get();
    }

    private static String graphError(String code, String message) {
        return "{\"error\":{\"code\":\"" + code + "\",\"message\":\"" + message
                + "\",\"innerError\":{\"request-id\":\"" + UUID.randomUUID() + "\"}}}";
    }

    /** Graph requests that broke a window rule (answered 400). */
    public int windowViolations() {
        return windowViolations.get();
    }

    /** Requests that came before the Retry-After of a 429 had passed. */
    public int retryAfterViolations() {
        return retryAfterViolations.get();
    }

    /** The Graph root to set as {@code trace.graph.baseUrl}. */
    public String graphBaseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1.0";
    }

    private boolean authorized(String header) {
        String expected = "Basic " + Base64.getEncoder().encodeToString((username + ":" + password).getBytes(StandardCharsets.UTF_8));
        if (header != null && header.startsWith("Bearer ")) {
            Instant expires = tokens.get(header.substring("Bearer ".length()));
            return expires != null && clock.instant().isBefore(expires);
        }
        return expected.equals(header);
    }

    /** The OAuth2 client-credentials token endpoint: {@code POST .../oauth2/v2.0/token}. */
    private void token(HttpExchange ex) throws IOException {
        Map<String, String> form = query(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
        tokenRequests.incrementAndGet();
        if (!"client_credentials".equals(form.get("grant_type")) || !clientId.equals(form.get("client_id"))
                || !clientSecret.equals(form.get("client_secret")) || form.getOrDefault("scope", "").isEmpty()) {
            reply(ex, 401, "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret provided.\"}");
            return;
        }
        String token = "tok-" + UUID.randomUUID();
        tokens.put(token, clock.instant().plus(tokenLifetime));
        ex.getResponseHeaders().add("Content-Type", "application/json");
        reply(ex, 200, "{\"token_type\":\"Bearer\",\"expires_in\":" + tokenLifetime.toSeconds() + ",\"ext_expires_in\":"
                + tokenLifetime.toSeconds() + ",\"access_token\":\"" + token + "\"}");
    }

    /**
     * A token issued by another token endpoint (a fake Entra ID that checks certificates, in tests): valid here for the
     * token lifetime, as one of this simulator's own.
     */
    public String issueToken() {
        tokenRequests.incrementAndGet();
        String token = "tok-" + UUID.randomUUID();
        tokens.put(token, clock.instant().plus(tokenLifetime));
        return token;
    }

    /** The lifetime of the tokens issued. */
    public Duration tokenLifetime() {
        return tokenLifetime;
    }

    /** Token requests received so far. */
    public int tokenRequests() {
        return tokenRequests.get();
    }

    /** Revokes every token issued so far: the next API call with one is answered 401. */
    public void revokeTokens() {
        tokens.clear();
    }

    /** The URL to set as {@code trace.tokenUrl}. */
    public String tokenUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/contoso.onmicrosoft.com/oauth2/v2.0/token";
    }

    private String verbose(List<Row> page, Instant start, Instant end, int skip, String next) {
        ObjectNode d = MAPPER.createObjectNode();
        ArrayNode results = d.putArray("results");
        int i = skip;
        for (Row r : page) {
            ObjectNode o = results.addObject();
            ObjectNode meta = o.putObject("__metadata");
            meta.put("id", baseUrl() + "/MessageTrace(" + i + ")");
            meta.put("uri", baseUrl() + "/MessageTrace(" + i + ")");
            meta.put("type", "TenantReporting.MessageTrace");
            fill(o, r, "/Date(" + r.received().toEpochMilli() + ")/");
            o.put("StartDate", "/Date(" + start.toEpochMilli() + ")/");
            o.put("EndDate", "/Date(" + end.toEpochMilli() + ")/");
            o.put("Index", i++);
        }
        if (next != null) {
            d.put("__next", next);
        }
        ObjectNode root = MAPPER.createObjectNode();
        root.set("d", d);
        return root.toString();
    }

    private String light(List<Row> page, Instant start, Instant end, int skip, String next) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("odata.metadata", baseUrl() + "/$metadata#MessageTrace");
        ArrayNode value = root.putArray("value");
        int i = skip;
        for (Row r : page) {
            ObjectNode o = value.addObject();
            // 7 fractional digits and no zone, as the real light shape sends Received
            String received = r.received().toString().replace("Z", "");
            int dot = received.indexOf('.');
            String frac = dot < 0 ? "" : received.substring(dot + 1);
            received = (dot < 0 ? received : received.substring(0, dot)) + "." + (frac + "0000000").substring(0, 7);
            fill(o, r, received);
            o.put("StartDate", start.toString());
            o.put("EndDate", end.toString());
            o.put("Index", i++);
        }
        if (next != null) {
            root.put("odata.nextLink", next);
        }
        return root.toString();
    }

    private static void fill(ObjectNode o, Row r, String received) {
        o.put("Organization", "contoso.onmicrosoft.com");
        o.put("MessageId", r.messageId());
        o.put("Received", received);
        o.put("SenderAddress", r.sender());
        o.put("RecipientAddress", r.recipient());
        o.put("Subject", r.subject());
        o.put("Status", r.status());
        o.put("ToIP", r.toIp());
        o.put("FromIP", r.fromIp());
        o.put("Size", r.size());
        o.put("MessageTraceId", r.id());
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> q = new LinkedHashMap<>();
        if (raw == null) {
            return q;
        }
        for (String part : raw.split("&")) {
            int eq = part.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? part : part.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(part.substring(eq + 1).replace("+", "%2B"), StandardCharsets.UTF_8);
            q.put(k, v);
        }
        return q;
    }

    private static String enc(String s) {
        return java.net.URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20").replace("%27", "'");
    }

    private static void reply(HttpExchange ex, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    public void setPort(int port) {
        this.port = port;
    }

    public void setUsername(String username) {
        this.username = username;
    }

    public void setPassword(String password) {
        this.password = password;
    }

    public void setClientId(String clientId) {
        this.clientId = clientId;
    }

    public void setClientSecret(String clientSecret) {
        this.clientSecret = clientSecret;
    }

    public void setTokenLifetime(String tokenLifetime) {
        this.tokenLifetime = org.m365trace.Durations.parse("trace.demo.tokenLifetime", tokenLifetime);
    }

    public void setShape(String shape) {
        this.shape = shape;
    }

    public void setMessagesPerSecond(double messagesPerSecond) {
        this.messagesPerSecond = messagesPerSecond;
    }

    public void setLateSpread(String lateSpread) {
        this.lateSpread = org.m365trace.Durations.parse("trace.demo.lateSpread", lateSpread);
    }

    public void setLateBy(String lateBy) {
        this.lateBy = org.m365trace.Durations.parse("trace.demo.lateBy", lateBy);
    }

    public void setPendingFor(String pendingFor) {
        this.pendingFor = org.m365trace.Durations.parse("trace.demo.pendingFor", pendingFor);
    }

    public void setClock(Clock clock) {
        this.clock = clock;
    }
}
