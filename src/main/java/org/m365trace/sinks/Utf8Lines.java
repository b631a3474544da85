package org.m365trace.sinks;

import java.nio.charset.StandardCharsets;

/**
 * The lines of a spool batch read as UTF-8 bytes, without decoding them: a batch is a few MB, and as a Java string
 * (UTF-16 once a subject is not Latin-1) it would be twice that, copied again for every step that reads it.
 */
final class Utf8Lines {

    /** Receives a line: {@code bytes[start, end)} without its line break; {@code next} is where the next line starts. */
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
                line.accept(start, end, next);
            }
            start = next;
        }
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
        int at = indexOf(bytes, start, end, name);
        if (at < 0) {
            return null;
        }
        int from = at + name.length;
        for (int i = from; i < end; i++) {
            if (bytes[i] == '"') {
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

    private static boolean isBlank(byte[] bytes, int from, int to) {
        for (int i = from; i < to; i++) {
            if (bytes[i] != ' ' && bytes[i] != '\t' && bytes[i] != '\r') {
                return false;
            }
        }
        return true;
    }
}
