package org.m365trace.chaos;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * What reached one sink, as records, plus what is wrong with it on the way (lines that are not JSON, syslog headers
 * that do not match their record, HTTP bodies that are not JSON arrays). Records are checked against the served
 * rows by {@link Verdict}.
 */
final class SinkContents {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** {@code <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG} (RFC 5424 section 6). */
    private static final Pattern RFC5424 = Pattern.compile(
            "<(\\d{1,3})>1 (\\S+) (\\S+) (\\S+) (\\S+) (\\S+) (-|(?:\\[[^\\]]*\\])+) (.*)", Pattern.DOTALL);
    private static final int LOCAL0 = 16;

    private final String name;
    private final List<JsonNode> records = new ArrayList<>();
    private final List<String> problems = new ArrayList<>();

    private SinkContents(String name) {
        this.name = name;
    }

    String name() {
        return name;
    }

    List<JsonNode> records() {
        return records;
    }

    List<String> problems() {
        return problems;
    }

    /** How often each key (messageTraceId|recipientAddress|status) arrived. */
    Map<String, Integer> keyCounts() {
        Map<String, Integer> counts = new HashMap<>();
        records.forEach(r -> counts.merge(Contract.key(r), 1, Integer::sum));
        return counts;
    }

    /** Records beyond the first of each key. */
    int duplicates() {
        return records.size() - keyCounts().size();
    }

    /**
     * The NDJSON files {@code trace-YYYY-MM-DD.ndjson} of {@code dir}. While the forwarder runs ({@code settled}
     * false) a last line without its line break may still be being written and is skipped; once it has stopped it is
     * a problem.
     */
    static SinkContents files(Path dir, boolean settled) throws IOException {
        SinkContents sink = new SinkContents("file");
        if (!Files.isDirectory(dir)) {
            return sink;
        }
        List<Path> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.sorted().toList();
        }
        for (Path file : files) {
            String fileName = file.getFileName().toString();
            if (!fileName.matches("trace-\\d{4}-\\d{2}-\\d{2}\\.ndjson")) {
                sink.problems.add(fileName + ": not a trace-YYYY-MM-DD.ndjson file");
                continue;
            }
            String text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
            String[] lines = text.split("\n", -1);
            for (int i = 0; i < lines.length; i++) {
                boolean last = i == lines.length - 1;
                if (last && (lines[i].isEmpty() || !settled)) {
                    break;               // after the final line break, or a line still being written
                }
                String where = fileName + ":" + (i + 1);
                if (last) {
                    sink.problems.add(where + ": last line has no line break");
                }
                JsonNode record = sink.parse(where, lines[i]);
                String received = record == null ? "" : record.path("received").asText("");
                if (record != null && !(received.length() >= 10 && fileName.equals("trace-" + received.substring(0, 10) + ".ndjson"))) {
                    sink.problems.add(where + ": received " + record.path("received") + " belongs in another day's file");
                }
            }
        }
        return sink;
    }

    /** Syslog messages: RFC 5424 header (PRI from the status, TIMESTAMP = received, APP-NAME) and a JSON MSG. */
    static SinkContents syslog(List<String> messages, List<String> framingErrors, String appName) {
        SinkContents sink = new SinkContents("syslog");
        framingErrors.forEach(e -> sink.problems.add("framing: " + e));
        for (int i = 0; i < messages.size(); i++) {
            String where = "message " + (i + 1);
            Matcher m = RFC5424.matcher(messages.get(i));
            if (!m.matches()) {
                sink.problems.add(where + ": not RFC 5424: " + abbreviate(messages.get(i)));
                continue;
            }
            String msg = m.group(8).startsWith("\uFEFF") ? m.group(8).substring(1) : m.group(8);
            if (msg.contains("\n")) {
                sink.problems.add(where + ": MSG is more than one line");
            }
            JsonNode record = sink.parse(where, msg);
            if (record == null) {
                continue;
            }
            int pri = LOCAL0 * 8 + Contract.severity(record.path("status").asText());
            if (Integer.parseInt(m.group(1)) != pri) {
                sink.problems.add(where + ": PRI " + m.group(1) + " but local0 and status " + record.path("status") + " give " + pri);
            }
            if (!m.group(2).equals(record.path("received").asText())) {
                sink.problems.add(where + ": TIMESTAMP " + m.group(2) + " is not the record's received " + record.path("received"));
            }
            if (!m.group(4).equals(appName)) {
                sink.problems.add(where + ": APP-NAME " + m.group(4) + " is not " + appName);
            }
        }
        return sink;
    }

    /** HTTP bodies: each an {@code application/json} array of records. */
    static SinkContents http(List<FakeHttpSink.Post> posts) {
        SinkContents sink = new SinkContents("http");
        for (int i = 0; i < posts.size(); i++) {
            FakeHttpSink.Post post = posts.get(i);
            String where = "POST " + (i + 1);
            if (post.contentType() == null || !post.contentType().startsWith("application/json")) {
                sink.problems.add(where + ": Content-Type " + post.contentType());
            }
            JsonNode body;
            try {
                body = JSON.readTree(post.body());
            } catch (IOException e) {
                sink.problems.add(where + ": body is not JSON: " + abbreviate(post.body()));
                continue;
            }
            if (body == null || !body.isArray()) {
                sink.problems.add(where + ": body is not a JSON array: " + abbreviate(post.body()));
                continue;
            }
            for (int j = 0; j < body.size(); j++) {
                sink.add(where + "[" + j + "]", body.get(j));
            }
        }
        return sink;
    }

    private JsonNode parse(String where, String text) {
        try {
            JsonNode record = JSON.readTree(text);
            if (record == null) {
                problems.add(where + ": empty");
                return null;
            }
            return add(where, record);
        } catch (IOException e) {
            problems.add(where + ": not JSON: " + abbreviate(text));
            return null;
        }
    }

    private JsonNode add(String where, JsonNode record) {
        Contract.shapeProblems(record).forEach(p -> problems.add(where + ": " + p));
        if (record.isObject()) {
            records.add(record);
        }
        return record;
    }

    private static String abbreviate(String s) {
        return s.length() <= 300 ? s : s.substring(0, 300) + "...(" + s.length() + " chars)";
    }
}
