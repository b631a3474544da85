package org.m365trace.source;

import java.io.IOException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * Maps one row of either message-trace API to the contract's record (docs/contract.md, "Records").
 * Stateless; every method is a pure function.
 */
public final class TraceRecords {

    public static final String REPORTING = "reporting";
    public static final String GRAPH = "graph";

    private static final ObjectMapper JSON = new ObjectMapper();

    private static final Pattern MS_DATE = Pattern.compile("^/Date\\((-?\\d+)([+-]\\d{4})?\\)/$");
    private static final DateTimeFormatter ISO_OPTIONAL_ZONE = new DateTimeFormatterBuilder()
            .append(DateTimeFormatter.ISO_LOCAL_DATE_TIME)
            .optionalStart().appendOffsetId().optionalEnd()
            .toFormatter(Locale.ROOT);
    private static final DateTimeFormatter ISO_MILLIS = new DateTimeFormatterBuilder()
            .appendPattern("uuuu-MM-dd'T'HH:mm:ss")
            .appendFraction(ChronoField.MILLI_OF_SECOND, 3, 3, true)
            .appendLiteral('Z')
            .toFormatter(Locale.ROOT).withZone(ZoneOffset.UTC);

    private static final Map<String, String> STATUSES = Map.of(
            "delivered", "Delivered", "pending", "Pending", "expanded", "Expanded", "failed", "Failed",
            "filteredasspam", "FilteredAsSpam", "quarantined", "Quarantined", "gettingstatus", "GettingStatus",
            "none", "None");

    private TraceRecords() {
    }

    /** The statuses a record can have once normalized (Delivered, Pending, Failed, ...). */
    public static java.util.Collection<String> statuses() {
        return STATUSES.values();
    }

    /** The normalized record of one API row, fields in contract order. */
    public static Map<String, Object> normalize(JsonNode row, String api) {
        return normalize(row, api, new LinkedHashMap<>());
    }

    /** As {@link #normalize(JsonNode, String)}, into the empty map {@code r}. */
    static Map<String, Object> normalize(JsonNode row, String api, Map<String, Object> r) {
        return normalize(row::get, api, r);
    }

    /** A row's fields by name: a String (a JSON string), a JsonNode (any other value), or null when absent. */
    interface Fields {
        Object value(String field);
    }

    /** As {@link #normalize(JsonNode, String)}, of a row given by its fields ({@link RowFields}: no tree per row). */
    static Map<String, Object> normalize(Fields row, String api, Map<String, Object> r) {
        boolean rws = REPORTING.equals(api);
        r.put("messageTraceId", text(row, rws ? "MessageTraceId" : "id"));
        r.put("messageId", text(row, rws ? "MessageId" : "messageId"));
        String received = text(row, rws ? "Received" : "receivedDateTime");
        r.put("received", received == null ? null : received(received));
        r.put("senderAddress", text(row, rws ? "SenderAddress" : "senderAddress"));
        r.put("recipientAddress", text(row, rws ? "RecipientAddress" : "recipientAddress"));
        Object subject = row.value(rws ? "Subject" : "subject");
        r.put("subject", subject instanceof String s ? s : subject == null || ((JsonNode) subject).isNull() ? null : ((JsonNode) subject).asText());
        r.put("status", status(text(row, rws ? "Status" : "status")));
        r.put("size", row.value(rws ? "Size" : "size") instanceof JsonNode size && !size.isNull() && size.canConvertToLong() ? size.asLong() : null);
        r.put("fromIP", text(row, rws ? "FromIP" : "fromIP"));
        r.put("toIP", text(row, rws ? "ToIP" : "toIP"));
        if (rws) {
            r.put("organization", text(row, "Organization"));
        }
        r.put("api", rws ? REPORTING : GRAPH);
        if (r.get("messageTraceId") == null || r.get("recipientAddress") == null || r.get("received") == null) {
            throw new MalformedPageException("a row has no trace id, recipient or received date: "
                    + r.get("messageTraceId") + " / " + r.get("recipientAddress"));
        }
        return r;
    }

    /** A text value, or null when absent, JSON null or empty (the contract never writes "" or "null"). */
    static String text(JsonNode row, String field) {
        return text(row::get, field);
    }

    private static String text(Fields row, String field) {
        Object v = row.value(field);
        String s;
        if (v instanceof String text) {
            s = text;
        } else if (v == null || ((JsonNode) v).isNull()) {
            return null;
        } else {
            s = ((JsonNode) v).asText();
        }
        return s.isEmpty() ? null : s;
    }

    /** PascalCase status of the admin guide, compared case-insensitively; unknown values pass with a capital. */
    public static String status(String raw) {
        if (raw == null) {
            return null;
        }
        String known = STATUSES.get(raw.toLowerCase(Locale.ROOT));
        if (known != null) {
            return known;
        }
        return Character.toUpperCase(raw.charAt(0)) + raw.substring(1);
    }

    /**
     * The record's {@code received} of a row's date: {@code formatInstant(parseDate(raw))}, and for the common form
     * ({@link #parseUtc}) the same text made without a date object (the field of every row).
     */
    static String received(String raw) {
        if (!utcForm(raw)) {
            long ms = msDate(raw);
            return ms != Long.MIN_VALUE ? formatMillis(ms) : formatInstant(parseDate(raw));
        }
        int end = zoneAt(raw);
        char[] c = new char[24];
        raw.getChars(0, 19, c, 0);
        c[19] = '.';
        for (int i = 0; i < 3; i++) {
            c[20 + i] = 20 + i < end ? raw.charAt(20 + i) : '0';
        }
        c[23] = 'Z';
        return new String(c);
    }

    /** Parses {@code /Date(ms)/}, {@code /Date(ms+0000)/} and ISO-8601 with 0-7 fractional digits, zone optional (UTC). */
    public static Instant parseDate(String value) {
        Instant utc = parseUtc(value);
        if (utc != null) {
            return utc;
        }
        Matcher m = MS_DATE.matcher(value);
        if (m.matches()) {
            // OData v2: the offset only annotates the local time; the milliseconds are already UTC
            return Instant.ofEpochMilli(Long.parseLong(m.group(1)));
        }
        try {
            var parsed = ISO_OPTIONAL_ZONE.parseBest(value, OffsetDateTime::from, LocalDateTime::from);
            return parsed instanceof OffsetDateTime o ? o.toInstant() : ((LocalDateTime) parsed).toInstant(ZoneOffset.UTC);
        } catch (DateTimeParseException e) {
            throw new MalformedPageException("unreadable date '" + value + "'");
        }
    }

    /**
     * The common case of every row, read without a formatter: {@code yyyy-MM-ddTHH:mm:ss}, an optional fraction of
     * 1-9 digits, {@code Z} or no zone, which is UTC (Graph's {@code receivedDateTime}; the Reporting Web Service's
     * {@code Received} in JSON, with 7 digits and no zone); null for any other form, left to the formatter (whose
     * {@code parseBest} throws and catches an exception for every date without a zone: a third of a Reporting page's
     * time).
     */
    static Instant parseUtc(String v) {
        if (!utcForm(v)) {
            return null;
        }
        int end = zoneAt(v);
        int nanos = end == 19 ? 0 : digits(v, 20, end) * (int) Math.pow(10, 9 - (end - 20));
        return LocalDateTime.of(digits(v, 0, 4), digits(v, 5, 7), digits(v, 8, 10), digits(v, 11, 13), digits(v, 14, 16),
                digits(v, 17, 19), nanos).toInstant(ZoneOffset.UTC);
    }

    /** Whether {@code v} has {@link #parseUtc}'s form, with a day its month has. */
    private static boolean utcForm(String v) {
        int end = zoneAt(v);
        if (end < 19 || end > 29 || v.charAt(4) != '-' || v.charAt(7) != '-' || v.charAt(10) != 'T'
                || v.charAt(13) != ':' || v.charAt(16) != ':') {
            return false;
        }
        if (end > 19) {
            int digits = end - 20;
            if (v.charAt(19) != '.' || digits < 1 || digits > 9) {
                return false;
            }
            int f = digits(v, 20, end);
            if (f < 0) {
                return false;
            }
        }
        int year = digits(v, 0, 4);
        int month = digits(v, 5, 7);
        int day = digits(v, 8, 10);
        int hour = digits(v, 11, 13);
        int minute = digits(v, 14, 16);
        int second = digits(v, 17, 19);
        if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0
                || minute > 59 || second < 0 || second > 59) {
            return false;
        }
        return day <= java.time.Month.of(month).length(java.time.Year.isLeap(year));   // 31 February: left to the formatter
    }

    /** Where the date-time {@code v} ends before its {@code Z}; without one, its length (a time without a zone is UTC). */
    private static int zoneAt(String v) {
        int n = v.length();
        return n > 0 && v.charAt(n - 1) == 'Z' ? n - 1 : n;
    }

    /** The number written by the decimal digits v[from, to), or -1 when one is not a digit. */
    private static int digits(String v, int from, int to) {
        int x = 0;
        for (int i = from; i < to; i++) {
            char c = v.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            x = x * 10 + (c - '0');
        }
        return x;
    }

    /** The milliseconds of the Reporting Web Service's {@code /Date(ms)/} (no offset), or Long.MIN_VALUE for another form. */
    private static long msDate(String v) {
        int n = v.length();
        if (n < 9 || !v.startsWith("/Date(") || !v.endsWith(")/")) {
            return Long.MIN_VALUE;
        }
        boolean negative = v.charAt(6) == '-';
        long ms = 0;
        int from = negative ? 7 : 6;
        if (from >= n - 2 || n - 2 - from > 15) {
            return Long.MIN_VALUE;          // no digits, or more than years up to 9999 need: the general path says so
        }
        for (int i = from; i < n - 2; i++) {
            char c = v.charAt(i);
            if (c < '0' || c > '9') {
                return Long.MIN_VALUE;
            }
            ms = ms * 10 + (c - '0');
        }
        return negative ? -ms : ms;
    }

    /**
     * {@link #formatInstant} of epoch milliseconds, by arithmetic (days to civil date, as in H. Hinnant's
     * {@code civil_from_days}): no date objects for the field of every Reporting row.
     */
    static String formatMillis(long ms) {
        long seconds = Math.floorDiv(ms, 1000L);
        long days = Math.floorDiv(seconds, 86_400L);
        int secondOfDay = (int) (seconds - days * 86_400L);
        long z = days + 719_468;
        long era = Math.floorDiv(z, 146_097L);
        long doe = z - era * 146_097;
        long yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        long mp = (5 * doy + 2) / 153;
        int day = (int) (doy - (153 * mp + 2) / 5 + 1);
        int month = (int) (mp < 10 ? mp + 3 : mp - 9);
        long year = yoe + era * 400 + (month <= 2 ? 1 : 0);
        if (year < 0 || year > 9999) {
            return formatInstant(Instant.ofEpochMilli(ms));
        }
        char[] c = new char[24];
        put(c, 0, (int) year, 4);
        c[4] = '-';
        put(c, 5, month, 2);
        c[7] = '-';
        put(c, 8, day, 2);
        c[10] = 'T';
        put(c, 11, secondOfDay / 3600, 2);
        c[13] = ':';
        put(c, 14, secondOfDay / 60 % 60, 2);
        c[16] = ':';
        put(c, 17, secondOfDay % 60, 2);
        c[19] = '.';
        put(c, 20, (int) Math.floorMod(ms, 1000L), 3);
        c[23] = 'Z';
        return new String(c);
    }

    /** ISO-8601 UTC with milliseconds and Z: {@code 2022-07-28T15:09:56.164Z}. */
    public static String formatInstant(Instant instant) {
        LocalDateTime t = LocalDateTime.ofEpochSecond(instant.getEpochSecond(), 0, ZoneOffset.UTC);
        int year = t.getYear();
        if (year < 0 || year > 9999) {
            return ISO_MILLIS.format(instant.truncatedTo(ChronoUnit.MILLIS));
        }
        char[] c = new char[24];
        put(c, 0, year, 4);
        c[4] = '-';
        put(c, 5, t.getMonthValue(), 2);
        c[7] = '-';
        put(c, 8, t.getDayOfMonth(), 2);
        c[10] = 'T';
        put(c, 11, t.getHour(), 2);
        c[13] = ':';
        put(c, 14, t.getMinute(), 2);
        c[16] = ':';
        put(c, 17, t.getSecond(), 2);
        c[19] = '.';
        put(c, 20, instant.getNano() / 1_000_000, 3);
        c[23] = 'Z';
        return new String(c);
    }

    private static void put(char[] c, int at, int value, int width) {
        for (int i = at + width - 1; i >= at; i--) {
            c[i] = (char) ('0' + value % 10);
            value /= 10;
        }
    }

    /** A record's JSON, as the sinks' normalized schema writes it (a {@link TracePage.Row} writes its own once). */
    public static String json(Map<?, ?> record) {
        return record instanceof TracePage.Row row ? row.json() : write(record);
    }

    /**
     * The record's JSON, its fields in order, as Jackson writes it (the same escapes: {@code \" \\ \b \t \n \f \r},
     * other control characters as six-character unicode escapes, everything else as it is): strings, numbers and null written here
     * into one builder, anything else (Graph's events) by the object mapper. This is the text of every record, so it
     * is made without a generator and its buffers per record.
     */
    static String write(Map<?, ?> record) {
        StringBuilder b = new StringBuilder(512);
        b.append('{');
        boolean first = true;
        for (Map.Entry<?, ?> field : record.entrySet()) {
            if (!first) {
                b.append(',');
            }
            first = false;
            quote(b, String.valueOf(field.getKey()));
            b.append(':');
            Object value = field.getValue();
            if (value == null) {
                b.append("null");
            } else if (value instanceof String text) {
                quote(b, text);
            } else if (value instanceof Long || value instanceof Integer) {
                b.append(value);
            } else {
                try {
                    b.append(JSON.writeValueAsString(value));
                } catch (IOException e) {
                    throw new IllegalStateException("a record cannot be written as JSON: " + e.getMessage(), e);
                }
            }
        }
        return b.append('}').toString();
    }

    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    /** {@code s} as a JSON string, escaped as Jackson's default generator escapes it. */
    static void quote(StringBuilder b, String s) {
        b.append('"');
        int n = s.length();
        int first = 0;
        while (first < n && s.charAt(first) >= 0x20 && s.charAt(first) != '"' && s.charAt(first) != '\\') {
            first++;
        }
        if (first == n) {
            b.append(s).append('"');        // nothing to escape: the text as a whole (an array copy)
            return;
        }
        int from = 0;
        for (int i = first; i < n; i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c != '"' && c != '\\') {
                continue;
            }
            b.append(s, from, i).append('\\');
            switch (c) {
                case '"' -> b.append('"');
                case '\\' -> b.append('\\');
                case '\b' -> b.append('b');
                case '\t' -> b.append('t');
                case '\n' -> b.append('n');
                case '\f' -> b.append('f');
                case '\r' -> b.append('r');
                default -> b.append("u00").append(HEX[c >> 4]).append(HEX[c & 0xf]);
            }
            from = i + 1;
        }
        b.append(s, from, n).append('"');
    }

    /** The dedupe key: one record per (messageTraceId, recipientAddress, status), the same for both APIs. */
    public static String key(Map<?, ?> record) {
        return record instanceof TracePage.Row row ? row.key() : keyOf(record);
    }

    static String keyOf(Map<?, ?> record) {
        return record.get("messageTraceId") + "|" + record.get("recipientAddress") + "|" + record.get("status");
    }
}
