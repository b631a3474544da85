package org.m365trace.sinks;

import java.nio.charset.StandardCharsets;

/**
 * The lines of a spool batch read as UTF-8 bytes, without decoding them: a batch is a few MB, and as a Java string
 * (UTF-16 once a subject is not Latin-1) it would be twice that, copied again for every step that reads it.
 */
final class Utf8Lines {

    /**
     * Receives a line: {@code bytes[start, end)} without its line break (nor a carriage return before it); {@code next}
     * is where the next line starts.
     */
    interface Line {
        void accept(int start, int end, int next);
    }

    private Utf8Lines() {
    }

    /** Calls {@code line} for each line of {@code bytes} that is not blank, in order. */
    static void forEach(byte[] bytes, Line line) {
        for (int start = 0; start < bytes.length; ) {
            int end = start;
            while (end < bytes.length && bytes[end] != '\n') {
                end++;
            }
            int next = end < bytes.length ? end + 1 : end;
            if (!isBlank(bytes, start, end)) {
                line.accept(start, bytes[end - 1] == '\r' ? end - 1 : end, next);
            }
            start = next;
        }
    }

    /** Whether there is a line that is not blank (stops at the first). */
    static boolean any(byte[] bytes) {
        for (byte b : bytes) {
            if (b != ' ' && b != '\t' && b != '\r' && b != '\n') {
                return true;
            }
        }
        return false;
    }

    /** The lines that are not blank. */
    static long count(byte[] bytes) {
        long[] n = {0};
        forEach(bytes, (s, e, next) -> n[0]++);
        return n[0];
    }

    /**
     * The text of field {@code "name":"…"} in the line {@code bytes[start, end)}, or null; such a field inside a JSON
     * string would be escaped, so it cannot be mistaken for it.
     */
    static String field(byte[] bytes, int start, int end, byte[] name) {
        return valueAt(bytes, indexOf(bytes, start, end, name), end, name);
    }

    /**
     * As {@link #field}, searched from the end of the line: for the fields a record has last ({@code api},
     * {@code tenant}). A field of that name inside a string would be escaped; one of a nested object written after
     * them would be found instead (Graph's {@code events}, the only such field, has neither name).
     */
    static String lastField(byte[] bytes, int start, int end, byte[] name) {
        return valueAt(bytes, lastIndexOf(bytes, start, end, name), end, name);
    }

    private static final String[] KNOWN = {"graph", "reporting"};
    private static final byte[][] KNOWN_BYTES = {KNOWN[0].getBytes(StandardCharsets.US_ASCII), KNOWN[1].getBytes(StandardCharsets.US_ASCII)};

    private static String valueAt(byte[] bytes, int at, int end, byte[] name) {
        if (at < 0) {
            return null;
        }
        int from = at + name.length;
        for (int i = from; i < end; i++) {
            if (bytes[i] == '"') {
                for (int k = 0; k < KNOWN.length; k++) {      // the api of every line: not a new string each time
                    if (java.util.Arrays.equals(bytes, from, i, KNOWN_BYTES[k], 0, KNOWN_BYTES[k].length)) {
                        return KNOWN[k];
                    }
                }
                return new String(bytes, from, i - from, StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    /** {@code "name":"} as bytes, for {@link #field}. */
    static byte[] key(String name) {
        return ("\"" + name + "\":\"").getBytes(StandardCharsets.US_ASCII);
    }

    private static int indexOf(byte[] bytes, int start, int end, byte[] pattern) {
        outer:
        for (int i = start; i + pattern.length <= end; i++) {
            for (int k = 0; k < pattern.length; k++) {
                if (bytes[i + k] != pattern[k]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static int lastIndexOf(byte[] bytes, int start, int end, byte[] pattern) {
        outer:
        for (int i = end - pattern.length; i >= start; i--) {
            for (int k = 0; k < pattern.length; k++) {
                if (bytes[i + k] != pattern[k]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static boolean isBlank(byte[] bytes, int from, int to) {
        for (int i = from; i < to; i++) {
            if (bytes[i] != ' ' && bytes[i] != '\t' && bytes[i] != '\r') {
                return false;
            }
        }
        return true;
    }
}
