package org.m365trace;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Camel-style durations ({@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h30m}, {@code 10d}) or plain milliseconds. */
public final class Durations {

    private static final Pattern PART = Pattern.compile("(\\d+)(ms|d|h|m|s)");
    private static final Pattern WHOLE = Pattern.compile("((\\d+)(ms|d|h|m|s))+");

    private Durations() {
    }

    /** @throws SettingException naming {@code property} when the value is not a duration */
    public static Duration parse(String property, String value) {
        try {
            return parseUnchecked(property, value);
        } catch (ArithmeticException | NumberFormatException e) {
            throw new SettingException(property, "a duration such as 30s, 5m, 1h or 10d", value);
        }
    }

    private static Duration parseUnchecked(String property, String value) {
        String v = value == null ? "" : value.trim().toLowerCase();
        if (v.matches("\\d+")) {
            return Duration.ofMillis(Long.parseLong(v));
        }
        if (!WHOLE.matcher(v).matches()) {
            throw new SettingException(property, "a duration such as 30s, 5m, 1h or 10d", value);
        }
        Duration d = Duration.ZERO;
        Matcher m = PART.matcher(v);
        while (m.find()) {
            long n = Long.parseLong(m.group(1));
            d = d.plus(switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
            });
        }
        return d;
    }
}
