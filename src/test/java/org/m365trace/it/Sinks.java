package org.m365trace.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** Reads back what reached each sink, as parsed records. */
final class Sinks {

    static final ObjectMapper MAPPER = new ObjectMapper();

    private Sinks() {
    }

    /** Every complete line (ending in a line break) of every *.ndjson file in {@code dir} (a spool's hidden open batch
     *  too), parsed; a line still being appended while the test reads is left for the next read, as a log shipper
     *  tailing the file would. */
    static List<JsonNode> files(Path dir) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".ndjson")).filter(Files::isRegularFile).sorted().toList()) {
                String content = Files.readString(f, StandardCharsets.UTF_8);
                String complete = content.substring(0, content.lastIndexOf('\n') + 1);
                for (String line : complete.split("\n")) {
                    if (!line.isEmpty()) {
                        out.add(MAPPER.readTree(line));
                    }
                }
            }
        }
        return out;
    }

    /** The MSG part (the record) of every RFC 5424 message. */
    static List<JsonNode> syslog(SyslogReceiver receiver) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String m : receiver.messages()) {
            out.add(MAPPER.readTree(Rfc5424Message.parse(m).msg()));
        }
        return out;
    }

    /** Every record of every accepted POST (json-array or ndjson bodies). */
    static List<JsonNode> http(HttpReceiver receiver) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (HttpReceiver.Post p : receiver.accepted()) {
            if (p.body().startsWith("[")) {
                MAPPER.readTree(p.body()).forEach(out::add);
            } else {
                for (String line : p.body().split("\n")) {
                    if (!line.isBlank()) {
                        out.add(MAPPER.readTree(line));
                    }
                }
            }
        }
        return out;
    }

    static List<String> keys(List<JsonNode> records) {
        return records.stream()
                .map(r -> r.get("messageTraceId").asText() + "|" + r.get("recipientAddress").asText() + "|" + r.get("status").asText())
                .toList();
    }

    /** An RFC 5424 message split into its header fields and MSG. */
    record Rfc5424Message(int pri, String version, String timestamp, String hostname, String appName, String procId,
                          String msgId, String structuredData, String msg) {
        static Rfc5424Message parse(String m) {
            if (!m.startsWith("<")) {
                throw new IllegalArgumentException("no PRI: " + m);
            }
            int close = m.indexOf('>');
            int pri = Integer.parseInt(m.substring(1, close));
            String[] f = m.substring(close + 1).split(" ", 8);
            return new Rfc5424Message(pri, f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]);
        }
    }
}
