package org.m365trace.it.siem;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;

import static org.m365trace.it.siem.Loopback.JSON;

/**
 * Splunk's HTTP Event Collector, as documented in "Format events for HTTP Event Collector", "HTTP Event Collector
 * REST API endpoints" and "About HTTP Event Collector Indexer Acknowledgment" (docs.splunk.com): {@code POST
 * /services/collector/event} with {@code Authorization: Splunk <token>}, a body of one or more JSON event envelopes
 * ({@code time, host, source, sourcetype, index, fields, event}) simply concatenated, and replies
 * {@code {"text":..,"code":..}} with HEC's status codes (2 token required, 3 invalid authorization, 4 invalid token,
 * 5 no data, 6 invalid data format + {@code invalid-event-number}, 9 server busy, 10 data channel missing,
 * 11 invalid data channel, 12 event field required, 13 event field blank, 14 ACK disabled, 15 error in handling
 * indexed fields). A request with one bad event is refused whole: nothing of it is indexed.
 * <p>
 * With indexer acknowledgement on, each request must name a channel (a GUID, header
 * {@code X-Splunk-Request-Channel} or query {@code ?channel=}) and gets an {@code ackId}, counted from 0 per
 * channel; its events are indexed, and {@link #events()} shows them, only when the ack turns true
 * ({@link #ackDelay} after the request). {@code POST /services/collector/ack} {@code {"acks":[..]}} answers
 * {@code {"acks":{"0":true,..}}}; an id reported true is forgotten, so asking again gives false, and an unknown
 * id is false, as on a real indexer. Without acknowledgement events are indexed at once.
 * <p>
 * Events are kept as sent (the fake fills in none of Splunk's defaults), so a test sees what the product set.
 */
public final class FakeSplunkHec implements AutoCloseable {

    private static final Pattern GUID = Pattern.compile(
            "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}");
    private static final Pattern NUMBER = Pattern.compile("\\d+(\\.\\d+)?");

    /** The events of one acknowledged request, indexed once {@code due} has passed unless the indexer lost them. */
    private static final class Batch {
        final List<JsonNode> events;
        final Instant due;
        final boolean lost;
        boolean indexed;

        Batch(List<JsonNode> events, Instant due, boolean lost) {
            this.events = events;
            this.due = due;
            this.lost = lost;
        }
    }

    private final String token;
    private final boolean ackEnabled;
    private final Loopback server;
    private final List<JsonNode> indexed = new ArrayList<>();
    private final List<Batch> pending = new ArrayList<>();
    private final Map<String, Map<Long, Batch>> acks = new HashMap<>();
    private final Map<String, Long> nextAckId = new HashMap<>();
    private final Set<String> channels = new LinkedHashSet<>();
    private Duration ackDelay = Duration.ZERO;
    private Predicate<JsonNode> rejectEvents = event -> false;
    private int loseAcks;
    private int busy;
    private int eventRequests;
    private int ackPolls;

    /** A collector that accepts {@code token}; {@code ackEnabled} is the token's "Enable indexer acknowledgement". */
    public FakeSplunkHec(String token, boolean ackEnabled) throws IOException {
        this.token = Objects.requireNonNull(token, "token");
        this.ackEnabled = ackEnabled;
        server = new Loopback("fake-splunk-hec", this::handle);
    }

    public String eventUrl() {
        return server.base() + "/services/collector/event";
    }

    public String ackUrl() {
        return server.base() + "/services/collector/ack";
    }

    /** From now on an ackId turns true (and its events are indexed) only {@code delay} after its request. */
    public synchronized void ackDelay(Duration delay) {
        ackDelay = delay;
    }

    /** The next {@code n} accepted requests get an ackId that never turns true; their events are never indexed. */
    public synchronized void loseNextAcks(int n) {
        loseAcks = n;
    }

    /** The next {@code n} event requests are answered 503 {@code {"text":"Server is busy","code":9}}. */
    public synchronized void busyNext(int n) {
        busy = n;
    }

    /** A request holding an event for which {@code event} (the whole envelope) holds is refused, code 6. */
    public synchronized void rejectEventsWhere(Predicate<JsonNode> event) {
        rejectEvents = event;
    }

    /** The indexed envelopes, as sent, in the order they were indexed; a copy. */
    public synchronized List<JsonNode> events() {
        settle();
        return List.copyOf(indexed);
    }

    /** Every POST to the event endpoint, refused ones included. */
    public synchronized int eventRequests() {
        return eventRequests;
    }

    /** Every POST to the ack endpoint, refused ones included. */
    public synchronized int ackPolls() {
        return ackPolls;
    }

    /** The valid channels seen on either endpoint, in order of first use. */
    public synchronized Set<String> channels() {
        return Collections.unmodifiableSet(new LinkedHashSet<>(channels));
    }

    @Override
    public void close() {
        server.close();
    }

    private synchronized void handle(HttpExchange ex, byte[] raw) throws IOException {
        String path = ex.getRequestURI().getPath();
        boolean event = path.equals("/services/collector/event") || path.equals("/services/collector/event/1.0");
        boolean ack = path.equals("/services/collector/ack");
        if (!event && !ack || !ex.getRequestMethod().equals("POST")) {
            reply(ex, 404, "The requested URL was not found on this server.", 404);
            return;
        }
        if (event) {
            eventRequests++;
        } else {
            ackPolls++;
        }
        String authorization = ex.getRequestHeaders().getFirst("Authorization");
        if (authorization == null || authorization.isBlank()) {
            reply(ex, 401, "Token is required", 2);
            return;
        }
        String[] scheme = authorization.trim().split("\\s+", 2);
        if (scheme.length != 2 || !scheme[0].equalsIgnoreCase("Splunk")) {
            reply(ex, 401, "Invalid authorization", 3);
            return;
        }
        if (!scheme[1].equals(token)) {
            reply(ex, 403, "Invalid token", 4);
            return;
        }
        if (event && busy > 0) {
            busy--;
            reply(ex, 503, "Server is busy", 9);
            return;
        }
        String channel = ex.getRequestHeaders().getFirst("X-Splunk-Request-Channel");
        if (channel == null) {
            channel = Loopback.form(ex.getRequestURI().getRawQuery()).get("channel");
        }
        if (channel != null && GUID.matcher(channel).matches()) {
            channels.add(channel);
        }
        if (ack && !ackEnabled) {
            reply(ex, 400, "ACK is disabled", 14);
            return;
        }
        if (ackEnabled && (channel == null || channel.isEmpty())) {
            reply(ex, 400, "Data channel is missing", 10);
            return;
        }
        if (ackEnabled && !GUID.matcher(channel).matches()) {
            reply(ex, 400, "Invalid data channel", 11);
            return;
        }
        byte[] body = Loopback.isGzip(ex) ? Loopback.gunzip(raw, Integer.MAX_VALUE) : raw;
        if (ack) {
            answerAcks(ex, channel, body);
        } else {
            acceptEvents(ex, channel, body);
        }
    }

    private void acceptEvents(HttpExchange ex, String channel, byte[] body) throws IOException {
        if (new String(body, StandardCharsets.UTF_8).isBlank()) {
            reply(ex, 400, "No data", 5);
            return;
        }
        List<JsonNode> events = new ArrayList<>();
        try (JsonParser parser = JSON.createParser(body)) {
            while (parser.nextToken() != null) { // concatenated envelopes; a root array is one bad event
                JsonNode envelope = JSON.readTree(parser);
                int number = events.size();
                ObjectNode refusal = check(envelope, number);
                if (refusal != null) {
                    Loopback.reply(ex, 400, refusal);
                    return;
                }
                events.add(envelope);
            }
        } catch (IOException | RuntimeException e) {
            Loopback.reply(ex, 400, status("Invalid data format", 6).put("invalid-event-number", events.size()));
            return;
        }
        if (!ackEnabled) {
            indexed.addAll(events);
            Loopback.reply(ex, 200, status("Success", 0));
            return;
        }
        boolean lost = loseAcks > 0;
        if (lost) {
            loseAcks--;
        }
        Batch batch = new Batch(events, Instant.now().plus(ackDelay), lost);
        pending.add(batch);
        long ackId = nextAckId.merge(channel, 1L, Long::sum) - 1;
        acks.computeIfAbsent(channel, c -> new HashMap<>()).put(ackId, batch);
        Loopback.reply(ex, 200, status("Success", 0).put("ackId", ackId));
    }

    /** Why HEC refuses one envelope (numbered from 0 in its request), or null when it takes it. */
    private ObjectNode check(JsonNode envelope, int number) {
        if (envelope == null || !envelope.isObject()) {
            return status("Invalid data format", 6).put("invalid-event-number", number);
        }
        JsonNode event = envelope.get("event");
        if (event == null || event.isNull()) {
            return status("Event field is required", 12).put("invalid-event-number", number);
        }
        if (event.isTextual() && event.asText().isBlank()) {
            return status("Event field cannot be blank", 13).put("invalid-event-number", number);
        }
        JsonNode time = envelope.get("time");
        if (time != null && !time.isNumber() && !(time.isTextual() && NUMBER.matcher(time.asText()).matches())) {
            return status("Invalid data format", 6).put("invalid-event-number", number);
        }
        JsonNode fields = envelope.get("fields");
        if (fields != null && (!fields.isObject() || hasNested(fields))) {
            return status("Error in handling indexed fields", 15).put("invalid-event-number", number);
        }
        if (rejectEvents.test(envelope)) {
            return status("Invalid data format", 6).put("invalid-event-number", number);
        }
        return null;
    }

    /** Indexed fields are flat: a value is a scalar or an array of scalars. */
    private static boolean hasNested(JsonNode fields) {
        for (JsonNode value : fields) {
            if (value.isObject()) {
                return true;
            }
            if (value.isArray()) {
                for (JsonNode element : value) {
                    if (element.isContainerNode()) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    private void answerAcks(HttpExchange ex, String channel, byte[] body) throws IOException {
        JsonNode ids;
        try {
            ids = JSON.readTree(body).get("acks");
        } catch (IOException | RuntimeException e) {
            ids = null;
        }
        if (ids == null || !ids.isArray()) {
            Loopback.reply(ex, 400, status("Invalid data format", 6));
            return;
        }
        settle();
        Map<Long, Batch> ofChannel = acks.getOrDefault(channel, new HashMap<>());
        ObjectNode reply = JSON.createObjectNode();
        ObjectNode statuses = reply.putObject("acks");
        for (JsonNode id : ids) {
            Batch batch = id.canConvertToLong() ? ofChannel.get(id.asLong()) : null;
            boolean done = batch != null && batch.indexed;
            if (done) {
                ofChannel.remove(id.asLong());
            }
            statuses.put(id.asText(), done);
        }
        Loopback.reply(ex, 200, reply);
    }

    /** Indexes, in request order, the events of every acknowledged request that is due and not lost. */
    private void settle() {
        Instant now = Instant.now();
        for (Iterator<Batch> it = pending.iterator(); it.hasNext(); ) {
            Batch batch = it.next();
            if (!batch.lost && !batch.due.isAfter(now)) {
                indexed.addAll(batch.events);
                batch.indexed = true;
                it.remove();
            }
        }
    }

    private static ObjectNode status(String text, int code) {
        return JSON.createObjectNode().put("text", text).put("code", code);
    }

    private static void reply(HttpExchange ex, int status, String text, int code) throws IOException {
        Loopback.reply(ex, status, status(text, code));
    }
}
