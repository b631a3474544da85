package org.m365trace.source;

import java.util.List;

import org.m365trace.state.DigestSet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A row of a well-formed page that cannot become a record: it has no trace id, recipient or received date, or a date
 * that cannot be read. It can be neither deduplicated nor placed in a window, and the API serves it the same way each
 * time the window is read, so instead of holding up its window (and every later one) for ever it is kept as it came,
 * with the reason, in the dead letters of the source.
 */
public final class UnusableRow {

    /** Fields that describe the query that returned a row (RWS), not the row: a name ignores them. */
    private static final List<String> QUERY_FIELDS = List.of("__metadata", "StartDate", "EndDate", "Index");

    private final String json;
    private final String reason;
    private final String name;

    public UnusableRow(String json, String reason, String name) {
        this.json = json;
        this.reason = reason;
        this.name = name;
    }

    /** The row as served, named after what it says about the message, so that every read of it has one name. */
    public static UnusableRow of(JsonNode row, String reason) {
        JsonNode identity = row;
        if (row instanceof ObjectNode o) {
            identity = o.deepCopy().remove(QUERY_FIELDS);
        }
        return new UnusableRow(row.toString(), reason, "row-" + DigestSet.digest(identity.toString()) + ".ndjson");
    }

    /** The row as the API served it, one line of JSON. */
    public String getJson() {
        return json;
    }

    public String getReason() {
        return reason;
    }

    /** The dead letter's file name: a window read again keeps the row once, not once per read. */
    public String getName() {
        return name;
    }

    @Override
    public String toString() {
        return "unusable row (" + reason + ")";
    }
}
