package org.m365trace.sinks;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The {@code elastic-bulk} preset: Elasticsearch's (and OpenSearch's) {@code _bulk} API. Each document goes with a
 * {@code create} action and an {@code _id} that is a digest of its dedupe key ({@link DocumentId}): a document sent
 * again (a retry, a restart, a replay) is answered 409 and never becomes a second document. A 200 reply with
 * {@code "errors": true} is read item by item.
 */
final class ElasticBulk {

    private ElasticBulk() {
    }

    /** The NDJSON body: a create action and the document, for each line of the batch; ends with a newline. */
    static String body(String batch, String index) {
        StringBuilder out = new StringBuilder(batch.length() * 2);
        String action = "{\"create\":{\"_index\":" + HttpPreset.MAPPER.valueToTree(index) + ",\"_id\":\"";
        for (String line : lines(batch)) {
            out.append(action).append(DocumentId.of(SinkSchema.read(line))).append("\"}}\n").append(line).append('\n');
        }
        return out.toString();
    }

    /**
     * A 2xx reply, item by item: 2xx and 409 (the document is there already) are delivered; 429 and 5xx are sent again,
     * alone; any other item error (a mapping error, 400) is a dead letter with Elasticsearch's reason.
     */
    static HttpReply reply(String body, byte[] batch) {
        JsonNode reply = SinkSchema.read(body);
        if (!reply.path("errors").asBoolean(false)) {
            return HttpReply.ofDelivered(batch);
        }
        List<String> lines = lines(new String(batch, StandardCharsets.UTF_8));
        JsonNode items = reply.path("items");
        if (items.size() != lines.size()) {
            return HttpReply.ofFailed();      // not a reply to this request: send it all again (409s make that safe)
        }
        StringBuilder delivered = new StringBuilder();
        StringBuilder retry = new StringBuilder();
        StringBuilder dead = new StringBuilder();
        List<String> reasons = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            JsonNode item = items.get(i).elements().hasNext() ? items.get(i).elements().next() : items.get(i);
            int status = item.path("status").asInt(500);
            String line = lines.get(i) + "\n";
            if (status / 100 == 2 || status == 409) {
                delivered.append(line);
            } else if (status == 429 || status >= 500) {
                retry.append(line);
            } else {
                dead.append(line);
                reasons.add("document " + item.path("_id").asText("?") + ": " + status + " " + error(item.path("error")));
            }
        }
        String reason = reasons.isEmpty() ? "" : "Elasticsearch refused " + reasons.size() + " of " + lines.size()
                + " documents for good: " + String.join("; ", reasons);
        return HttpReply.ofParts(delivered.toString(), retry.toString(), dead.toString(), reason);
    }

    /** An item's error as Elasticsearch words it: its type and reason, and the reason it was caused by. */
    private static String error(JsonNode error) {
        if (!error.isObject()) {
            return error.asText("no reason given");
        }
        String text = error.path("type").asText("error") + ": " + error.path("reason").asText("");
        JsonNode cause = error.path("caused_by");
        return cause.isObject() ? text + " (caused by " + cause.path("type").asText("") + ": " + cause.path("reason").asText("") + ")" : text;
    }

    static List<String> lines(String batch) {
        return batch.lines().filter(l -> !l.isBlank()).toList();
    }
}
