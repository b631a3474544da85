package org.m365trace.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The pauses of a unified GC log ({@code -Xlog:gc*:file=...}): lines such as
 * {@code [1.234s][info][gc] GC(3) Pause Young (Normal) (G1 Evacuation Pause) 120M->30M(256M) 12.345ms}.
 * Heap peak is the largest before-value, pause max the longest pause (Young, Remark, Cleanup and Full alike).
 */
record GcLog(int pauses, double pauseMaxMillis, double pauseTotalMillis, double heapPeakMb, int fullGcs) {

    private static final Pattern PAUSE = Pattern.compile(
            "\\bGC\\(\\d+\\) (Pause [^\\n]*?) (\\d+)([KMG])->(\\d+)([KMG])\\((\\d+)([KMG])\\) ([\\d.]+)ms");

    static GcLog parse(Path file) throws IOException {
        if (!Files.exists(file)) {
            return new GcLog(0, 0, 0, 0, 0);
        }
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        int pauses = 0;
        int full = 0;
        double max = 0;
        double total = 0;
        double peak = 0;
        for (String line : lines) {
            Matcher m = PAUSE.matcher(line);
            if (!m.find()) {
                continue;
            }
            pauses++;
            if (m.group(1).startsWith("Pause Full")) {
                full++;
            }
            double ms = Double.parseDouble(m.group(8));
            max = Math.max(max, ms);
            total += ms;
            peak = Math.max(peak, mb(m.group(2), m.group(3)));
        }
        return new GcLog(pauses, max, total, peak, full);
    }

    private static double mb(String value, String unit) {
        double v = Double.parseDouble(value);
        return switch (unit) {
            case "K" -> v / 1024;
            case "G" -> v * 1024;
            default -> v;
        };
    }
}
