package org.m365trace.sinks;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.m365trace.SettingException;

/**
 * RFC 5424 messages of trace records: {@code <PRI>1 TIMESTAMP HOSTNAME APP-NAME - - - JSON}. PRI = facility x 8 +
 * severity (warning for Failed, notice for FilteredAsSpam and Quarantined, informational otherwise); TIMESTAMP is
 * the record's {@code received}. The JSON has no raw line break, so a message is always one line.
 */
public class Rfc5424 {

    private static final List<String> FACILITIES = List.of("kern", "user", "mail", "daemon", "auth", "syslog", "lpr",
            "news", "uucp", "cron", "authpriv", "ftp", "ntp", "audit", "alert", "clock",
            "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7");

    private int facility = 16;
    private String appName = "m365-trace";
    private String hostname = localHostname();

    /** The message for one record, given as its JSON line and its {@code received} and {@code status} fields. */
    public String format(String json, String received, String status) {
        return "<" + (facility * 8 + severity(status)) + ">1 " + (received == null ? "-" : received) + " " + hostname
                + " " + appName + " - - - " + json;
    }

    /**
     * The messages of a page's batch: {@code documents} (the sink's documents, in order) of {@code records} (each a
     * record's map, or a line replayed from the dead letters, whose {@code received} and {@code status} are read from
     * it when it has them).
     */
    public List<String> frames(List<String> documents, List<?> records) {
        List<String> out = new ArrayList<>(documents.size());
        for (int i = 0; i < documents.size(); i++) {
            Object record = records.get(i);
            String received;
            String status;
            if (record instanceof Map<?, ?> map) {
                received = (String) map.get("received");
                status = (String) map.get("status");
            } else {
                JsonNode line = SinkSchema.read(String.valueOf(record));
                received = line.path("received").asText(null);
                status = line.path("status").asText(null);
            }
            out.add(format(documents.get(i), received, status));
        }
        return out;
    }

    static int severity(String status) {
        if ("Failed".equals(status)) {
            return 4;
        }
        if ("FilteredAsSpam".equals(status) || "Quarantined".equals(status)) {
            return 5;
        }
        return 6;
    }

    public void setFacility(String name) {
        int i = FACILITIES.indexOf(name == null ? "" : name.trim().toLowerCase(Locale.ROOT));
        if (i < 0) {
            throw new SettingException("trace.syslog.facility", "one of kern, user, mail, daemon, auth, syslog, local0..local7", name);
        }
        this.facility = i;
    }

    public void setAppName(String appName) {
        String a = appName == null ? "" : appName.trim();
        if (a.isEmpty() || a.length() > 48 || !a.chars().allMatch(c -> c > 32 && c < 127)) {
            throw new SettingException("trace.syslog.appName", "1 to 48 printable ASCII characters without spaces", appName);
        }
        this.appName = a;
    }

    public void setHostname(String hostname) {
        this.hostname = hostname;
    }

    public String getHostname() {
        return hostname;
    }

    /** This host's name as RFC 5424 wants it: printable ASCII, at most 255 characters, "-" when unknown. */
    static String localHostname() {
        String name;
        try {
            name = InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            name = System.getenv().getOrDefault("HOSTNAME", "-");
        }
        name = name.replaceAll("[^\\x21-\\x7e]", "");
        return name.isEmpty() ? "-" : name.substring(0, Math.min(255, name.length()));
    }
}
