package org.m365trace.it.siem;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;

import static org.m365trace.it.siem.Loopback.JSON;
import static org.m365trace.it.siem.Loopback.ONE_VALUE;

/**
 * The {@code _bulk} API of Elasticsearch 8 / OpenSearch 2, as documented in "Bulk API" (elastic.co, docs for
 * {@code POST /_bulk}): {@code POST /_bulk} or {@code POST /<index>/_bulk}, NDJSON pairs of an action line and a
 * document line, {@code Content-Type: application/x-ndjson}, the body ending with a newline.
 * <ul>
 * <li>Whole-request refusals, with ES's shapes: a wrong Content-Type is 406
 * {@code {"error":"Content-Type header [..] is not supported","status":406}}; no final newline is 400
 * {@code illegal_argument_exception}; an action line that is not JSON, names an unknown action or parameter or no
 * index is 400 ({@code x_content_parse_exception}, {@code illegal_argument_exception},
 * {@code action_request_validation_exception}). Nothing of such a request is stored.</li>
 * <li>Otherwise 200 {@code {"took":1,"errors":..,"items":[..]}}, one item per action in request order, and each item
 * stands alone: {@code create} of an id the index holds is 409 {@code version_conflict_engine_exception} (the stored
 * document stays); {@code index} overwrites (200 "updated", version + 1); a document line that is not a JSON object,
 * or a {@code source.ip} that is not an IPv4/IPv6 literal (the {@code ip} field type of ECS), is 400
 * {@code document_parsing_exception} as ES reports a mapping error, and is not stored.</li>
 * </ul>
 * Scripted faults: {@link #throttleNextItems} (item 429 {@code es_rejected_execution_exception}, as a node under
 * indexing pressure answers) and {@link #failNextRequests} (the whole request, e.g. 503 or 429). The fake checks no
 * credentials; it records each request's Authorization header.
 */
public final class FakeElasticsearch implements AutoCloseable {

    private static final Set<String> ACTIONS = Set.of("create", "index");
    private static final Set<String> OTHER_ACTIONS = Set.of("update", "delete");
    private static final Set<String> PARAMETERS = Set.of("_index", "_id", "routing", "pipeline", "require_alias",
            "require_data_stream", "dynamic_templates", "if_seq_no", "if_primary_term", "version", "version_type");
    private static final Pattern IPV4 = Pattern.compile("((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)");
    private static final Pattern IPV6_CHARS = Pattern.compile("[0-9A-Fa-f:][0-9A-Fa-f:.]*");

    /** A document as stored: its source and version. */
    private record Stored(JsonNode source, int version) {
    }

    /** A checked document, or why the mapping refuses it ({@code document_parsing_exception}'s error). */
    private final List<Function<JsonNode, ObjectNode>> rules = new ArrayList<>();
    private final Map<String, Map<String, Stored>> indices = new HashMap<>();
    private final Map<String, Integer> attempts = new HashMap<>();
    private final List<String> authorizations = new ArrayList<>();
    private final Loopback server;
    private int seqNo;
    private int throttleItems;
    private int failRequests;
    private int failStatus;
    private int requests;
    private String lastBody;

    public FakeElasticsearch() throws IOException {
        rules.add(FakeElasticsearch::sourceIpIsAnIp);
        server = new Loopback("fake-elasticsearch", this::handle);
    }

    /** {@code http://127.0.0.1:<port>/_bulk}. */
    public String url() {
        return server.base() + "/_bulk";
    }

    /** A mapping rule more: a document for which {@code doc} holds is refused, item 400 with {@code reason} ({@code <id>} in it becomes the id). */
    public synchronized void rejectWhere(Predicate<JsonNode> doc, String reason) {
        rules.add(source -> doc.test(source) ? error("document_parsing_exception", reason) : null);
    }

    /** The next {@code n} items (across requests) are refused with item status 429 and not stored. */
    public synchronized void throttleNextItems(int n) {
        throttleItems = n;
    }

    /** The next {@code n} requests are refused whole with {@code status} (429, 503, ...); nothing is stored. */
    public synchronized void failNextRequests(int n, int status) {
        failRequests = n;
        failStatus = status;
    }

    /** The documents of {@code index}, id to source, in the order they were first stored; a copy. */
    public synchronized Map<String, JsonNode> documents(String index) {
        Map<String, JsonNode> copy = new LinkedHashMap<>();
        indices.getOrDefault(index, Map.of()).forEach((id, stored) -> copy.put(id, stored.source()));
        return copy;
    }

    /** How many items named {@code _id} {@code id} (any index) got an item reply, whatever the outcome. */
    public synchronized int createAttempts(String id) {
        return attempts.getOrDefault(id, 0);
    }

    /** Every request that reached {@code /_bulk}, refused ones included. */
    public synchronized int requests() {
        return requests;
    }

    public synchronized String lastRequestBody() {
        return lastBody;
    }

    /** The Authorization header of each request, in order; null where there was none. */
    public synchronized List<String> authorizations() {
        return Collections.unmodifiableList(new ArrayList<>(authorizations));
    }

    @Override
    public void close() {
        server.close();
    }

    private synchronized void handle(HttpExchange ex, byte[] raw) throws IOException {
        String path = ex.getRequestURI().getPath();
        String[] parts = path.substring(1).split("/");
        boolean bulk = path.equals("/_bulk") || parts.length == 2 && parts[1].equals("_bulk") && !parts[0].isEmpty();
        if (!bulk) {
            refuse(ex, 400, "no handler found for uri [" + path + "] and method [" + ex.getRequestMethod() + "]");
            return;
        }
        if (!ex.getRequestMethod().equals("POST") && !ex.getRequestMethod().equals("PUT")) {
            refuse(ex, 405, "Incorrect HTTP method for uri [" + path + "] and method [" + ex.getRequestMethod()
                    + "], allowed: [POST, PUT]");
            return;
        }
        String body = new String(raw, StandardCharsets.UTF_8);
        requests++;
        lastBody = body;
        authorizations.add(ex.getRequestHeaders().getFirst("Authorization"));
        if (failRequests > 0) {
            failRequests--;
            refuse(ex, failStatus, failStatus == 429
                    ? error("es_rejected_execution_exception", "rejected execution of coordinating operation")
                    : error("cluster_block_exception", "blocked by: [SERVICE_UNAVAILABLE/2/no master];"));
            return;
        }
        String type = ex.getRequestHeaders().getFirst("Content-Type");
        String media = Loopback.mediaType(ex);
        if (!media.equals("application/x-ndjson") && !media.equals("application/vnd.elasticsearch+x-ndjson")) {
            refuse(ex, 406, "Content-Type header [" + (type == null ? "" : type) + "] is not supported");
            return;
        }
        if (body.isEmpty()) {
            refuse(ex, 400, error("parse_exception", "request body is required"));
            return;
        }
        if (!body.endsWith("\n")) {
            refuse(ex, 400, error("illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]"));
            return;
        }
        String defaultIndex = parts.length == 2 ? parts[0] : null;
        List<Action> actions = new ArrayList<>();
        String[] lines = body.split("\n", -1);
        for (int i = 0; i < lines.length - 1; i++) {
            if (lines[i].isBlank()) {
                continue;
            }
            Object parsed = action(lines, i, defaultIndex);
            if (parsed instanceof ObjectNode refusal) {
                refuse(ex, 400, refusal);
                return;
            }
            actions.add((Action) parsed);
            i++;
        }
        if (actions.isEmpty()) {
            refuse(ex, 400, error("action_request_validation_exception", "Validation Failed: 1: no requests added;"));
            return;
        }
        ObjectNode reply = JSON.createObjectNode().put("took", 1).put("errors", false);
        ArrayNode items = reply.putArray("items");
        boolean errors = false;
        for (Action action : actions) {
            ObjectNode item = item(action);
            errors |= item.has("error");
            items.addObject().set(action.name(), item);
        }
        reply.put("errors", errors);
        Loopback.reply(ex, 200, reply);
    }

    /** One parsed action: its name, index, id and document line (not parsed yet: a bad one fails its item only). */
    private record Action(String name, String index, String id, String source, int line) {
    }

    /** The action at {@code lines[i]} and its document line, or the whole request's 400 error. */
    private static Object action(String[] lines, int i, String defaultIndex) {
        JsonNode line;
        try {
            line = ONE_VALUE.readTree(lines[i]);
        } catch (JsonProcessingException e) {
            return error("x_content_parse_exception", "[" + (i + 1) + ":1] " + e.getOriginalMessage());
        }
        if (line == null || !line.isObject() || line.size() != 1) {
            return error("illegal_argument_exception", "Malformed action/metadata line [" + (i + 1)
                    + "], expected a simple value for field [" + (line == null ? "" : line) + "] but found [START_OBJECT]");
        }
        String name = line.fieldNames().next();
        if (OTHER_ACTIONS.contains(name)) {
            return error("illegal_argument_exception", "The fake bulk API has no [" + name + "] action");
        }
        if (!ACTIONS.contains(name)) {
            return error("illegal_argument_exception", "Malformed action/metadata line [" + (i + 1)
                    + "], expected field [create, delete, index, update] but found [" + name + "]");
        }
        JsonNode meta = line.get(name);
        if (!meta.isObject()) {
            return error("illegal_argument_exception", "Malformed action/metadata line [" + (i + 1)
                    + "], expected START_OBJECT but found [" + meta.getNodeType() + "]");
        }
        for (String field : (Iterable<String>) meta::fieldNames) {
            if (!PARAMETERS.contains(field)) {
                return error("illegal_argument_exception", "Action/metadata line [" + (i + 1)
                        + "] contains an unknown parameter [" + field + "]");
            }
        }
        String index = meta.hasNonNull("_index") ? meta.get("_index").asText() : defaultIndex;
        if (index == null || index.isEmpty()) {
            return error("action_request_validation_exception", "Validation Failed: 1: index is missing;");
        }
        if (i + 1 >= lines.length - 1) {
            return error("action_request_validation_exception", "Validation Failed: 1: source is missing;");
        }
        String id = meta.hasNonNull("_id") ? meta.get("_id").asText() : null;
        return new Action(name, index, id, lines[i + 1], i + 2);
    }

    /** Applies one action and returns its item (status, result or error). */
    private ObjectNode item(Action action) {
        String id = action.id() != null ? action.id() : UUID.randomUUID().toString().replace("-", "").substring(0, 20);
        attempts.merge(id, 1, Integer::sum);
        ObjectNode item = JSON.createObjectNode().put("_index", action.index()).put("_id", id);
        if (throttleItems > 0) {
            throttleItems--;
            return failed(item, 429, error("es_rejected_execution_exception", "rejected execution of coordinating "
                    + "operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, "
                    + "coordinating_operation_bytes=" + action.source().length() + ", max_coordinating_and_primary_bytes=0]"));
        }
        JsonNode source;
        try {
            source = ONE_VALUE.readTree(action.source());
        } catch (JsonProcessingException e) {
            source = null;
        }
        if (source == null || !source.isObject()) {
            return failed(item, 400, error("document_parsing_exception", "[" + action.line() + ":1] failed to parse")
                    .set("caused_by", error("x_content_parse_exception", "the document is not a JSON object")));
        }
        for (Function<JsonNode, ObjectNode> rule : rules) {
            ObjectNode refusal = rule.apply(source);
            if (refusal != null) {
                refusal.put("reason", refusal.get("reason").asText().replace("<id>", id));
                return failed(item, 400, refusal);
            }
        }
        Map<String, Stored> docs = indices.computeIfAbsent(action.index(), k -> new LinkedHashMap<>());
        Stored old = docs.get(id);
        if (old != null && action.name().equals("create")) {
            return failed(item, 409, error("version_conflict_engine_exception", "[" + id
                    + "]: version conflict, document already exists (current version [" + old.version() + "])")
                    .put("index_uuid", indexUuid(action.index())).put("shard", "0").put("index", action.index()));
        }
        int version = old == null ? 1 : old.version() + 1;
        docs.put(id, new Stored(source, version));
        item.put("_version", version).put("result", old == null ? "created" : "updated");
        item.putObject("_shards").put("total", 2).put("successful", 1).put("failed", 0);
        return item.put("_seq_no", seqNo++).put("_primary_term", 1).put("status", old == null ? 201 : 200);
    }

    /** The ECS mapping's {@code source.ip} is of type {@code ip}: a value that is no IP literal fails the document. */
    private static ObjectNode sourceIpIsAnIp(JsonNode doc) {
        JsonNode ip = doc.path("source").path("ip");
        List<JsonNode> values = new ArrayList<>();
        if (ip.isArray()) {
            ip.forEach(values::add);
        } else if (!ip.isMissingNode() && !ip.isNull()) {
            values.add(ip);
        }
        for (JsonNode value : values) {
            if (!value.isTextual() || !isIpLiteral(value.asText())) {
                String text = value.asText();
                return error("document_parsing_exception", "[1:1] failed to parse field [source.ip] of type [ip] in "
                        + "document with id '<id>'. Preview of field's value: '" + text + "'")
                        .set("caused_by", error("illegal_argument_exception", "'" + text + "' is not an IP string literal."));
            }
        }
        return null;
    }

    /** An IPv4 dotted quad or an IPv6 literal; never a name (no DNS look-up). */
    static boolean isIpLiteral(String text) {
        if (IPV4.matcher(text).matches()) {
            return true;
        }
        if (!text.contains(":") || !IPV6_CHARS.matcher(text).matches()) {
            return false;
        }
        try {
            InetAddress.getByName(text); // with a ':' the JDK parses an IPv6 literal or throws; it looks nothing up
            return true;
        } catch (UnknownHostException e) {
            return false;
        }
    }

    private static String indexUuid(String index) {
        return UUID.nameUUIDFromBytes(index.getBytes(StandardCharsets.UTF_8)).toString().replace("-", "").substring(0, 22);
    }

    private static ObjectNode failed(ObjectNode item, int status, ObjectNode error) {
        item.put("status", status).set("error", error);
        return item;
    }

    private static ObjectNode error(String type, String reason) {
        return JSON.createObjectNode().put("type", type).put("reason", reason);
    }

    /** A whole request refused: {@code {"error":<error or message>,"status":<status>}}. */
    private static void refuse(HttpExchange ex, int status, Object error) throws IOException {
        ObjectNode reply = JSON.createObjectNode();
        if (error instanceof ObjectNode node) {
            ObjectNode wrapped = reply.putObject("error");
            wrapped.putArray("root_cause").add(node);
            wrapped.setAll(node);
        } else {
            reply.put("error", String.valueOf(error));
        }
        Loopback.reply(ex, status, reply.put("status", status));
    }
}
