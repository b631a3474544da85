package org.m365trace.chaos;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What {@code docs/contract.md} says a forwarded record looks like, as checks: the fields of a Graph record, the
 * status names, the syslog severity; and whether a record says exactly what the fake served for its row.
 */
final class Contract {

    /** The fields of a record from Graph ({@code organization} is for the Reporting Web Service only). */
    static final Set<String> GRAPH_FIELDS = Set.of("messageTraceId", "messageId", "received", "senderAddress",
            "recipientAddress", "subject", "status", "size", "fromIP", "toIP", "api");

    private static final Pattern STATUS = Pattern.compile("^[A-Z][A-Za-z]*$");
    private static final Pattern RECEIVED = Pattern.compile("^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?Z$");

    /** Graph's lower-camel values and the admin guide's PascalCase names (contract, microsoft-apis.md section 5). */
    private static final Map<String, String> STATUSES = Map.of(
            "delivered", "Delivered", "pending", "Pending", "expanded", "Expanded", "failed", "Failed",
            "filteredasspam", "FilteredAsSpam", "quarantined", "Quarantined", "gettingstatus", "GettingStatus",
            "none", "None");

    private Contract() {
    }

    /** The contract's status for a Graph status: case-insensitive table, else the value with its first letter upper-cased. */
    static String status(String graphStatus) {
        String known = STATUSES.get(graphStatus.toLowerCase(Locale.ROOT));
        return known != null ? known : Character.toUpperCase(graphStatus.charAt(0)) + graphStatus.substring(1);
    }

    /** RFC 5424 severity of a record: warning for Failed, notice for FilteredAsSpam and Quarantined, else informational. */
    static int severity(String status) {
        return switch (status) {
            case "Failed" -> 4;
            case "FilteredAsSpam", "Quarantined" -> 5;
            default -> 6;
        };
    }

    /** The dedupe key of a record: messageTraceId|recipientAddress|status. */
    static String key(JsonNode record) {
        return record.path("messageTraceId").asText() + "|" + record.path("recipientAddress").asText() + "|"
                + record.path("status").asText();
    }

    /** How {@code record} breaks the contract, on its own (field set and formats). */
    static List<String> shapeProblems(JsonNode record) {
        List<String> problems = new ArrayList<>();
        if (!record.isObject()) {
            problems.add("not a JSON object");
            return problems;
        }
        Set<String> fields = new TreeSet<>();
        for (Iterator<String> it = record.fieldNames(); it.hasNext(); ) {
            fields.add(it.next());
        }
        if (!fields.equals(GRAPH_FIELDS)) {
            Set<String> missing = new TreeSet<>(GRAPH_FIELDS);
            missing.removeAll(fields);
            Set<String> extra = new TreeSet<>(fields);
            extra.removeAll(GRAPH_FIELDS);
            problems.add("fields: missing " + missing + ", unexpected " + extra);
        }
        for (String f : GRAPH_FIELDS) {
            JsonNode v = record.path(f);
            if (f.equals("size")) {
                if (!v.isIntegralNumber()) {
                    problems.add("size is not an integer: " + v);
                }
            } else if (!v.isNull() && !v.isTextual()) {
                problems.add(f + " is neither a string nor null: " + v);
            } else if (v.isTextual() && (v.asText().equals("null") || (v.asText().isEmpty() && !f.equals("subject")))) {
                problems.add(f + " is " + v + ": absent values must be JSON null");
            }
        }
        if (!RECEIVED.matcher(record.path("received").asText()).matches()) {
            problems.add("received " + record.path("received") + " is not ISO-8601 UTC ending in Z");
        }
        if (!STATUS.matcher(record.path("status").asText()).matches()) {
            problems.add("status " + record.path("status") + " is not PascalCase");
        }
        if (!"graph".equals(record.path("api").asText())) {
            problems.add("api is " + record.path("api") + ", not \"graph\"");
        }
        return problems;
    }

    /**
     * How {@code record} differs from what the fake served for {@code row} in the record's status; empty when every
     * field is the row's value as the contract maps it ({@code toIP ""} to null, status PascalCase, received to the ms).
     */
    static List<String> contentProblems(JsonNode record, TraceDataset.Row row) {
        List<String> problems = new ArrayList<>();
        expect(problems, record, "messageTraceId", row.id());
        expect(problems, record, "messageId", row.messageId());
        expect(problems, record, "senderAddress", row.senderAddress());
        expect(problems, record, "recipientAddress", row.recipientAddress());
        expect(problems, record, "subject", row.subject());
        expect(problems, record, "fromIP", row.fromIP());
        expect(problems, record, "toIP", row.toIP().isEmpty() ? null : row.toIP());
        if (record.path("size").asLong(-1) != row.size()) {
            problems.add("size " + record.path("size") + " != " + row.size());
        }
        try {
            Instant received = Instant.parse(record.path("received").asText());
            if (!received.equals(row.received().truncatedTo(ChronoUnit.MILLIS))) {
                problems.add("received " + record.path("received") + " != served " + row.receivedText());
            }
        } catch (RuntimeException e) {
            problems.add("received " + record.path("received") + " is not an instant");
        }
        boolean statusServed = row.phases().stream().anyMatch(p -> status(p.status()).equals(record.path("status").asText()));
        if (!statusServed) {
            problems.add("status " + record.path("status") + " was never the row's status " + row.phases());
        }
        return problems;
    }

    private static void expect(List<String> problems, JsonNode record, String field, String expected) {
        JsonNode v = record.path(field);
        String actual = v.isNull() || v.isMissingNode() ? null : v.asText();
        if (!Objects.equals(actual, expected)) {
            problems.add(field + " " + v + " != served " + (expected == null ? "null" : "\"" + expected + "\""));
        }
    }
}
