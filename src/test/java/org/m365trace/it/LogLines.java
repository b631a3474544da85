package org.m365trace.it;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The log lines written while a test runs. The product logs with logback to {@code System.err}
 * ({@code src/forwarder/resources/logback.xml}), whose console appender looks {@code System.err} up for every line
 * (logback's {@code ConsoleTarget.SystemErr}), so replacing {@code System.err} with a tee sees every line and still
 * shows it in the test output. The appender writes a line with one {@code write}, which {@link PrintStream} makes
 * atomic, so lines of different threads do not mix.
 */
final class LogLines implements AutoCloseable {

    private final PrintStream original;
    private final ByteArrayOutputStream captured = new ByteArrayOutputStream();

    private LogLines() {
        original = System.err;
        OutputStream tee = new OutputStream() {
            @Override
            public void write(int b) {
                synchronized (captured) {
                    captured.write(b);
                }
                original.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                synchronized (captured) {
                    captured.write(b, off, len);
                }
                original.write(b, off, len);
            }

            @Override
            public void flush() {
                original.flush();
            }
        };
        System.setErr(new PrintStream(tee, true, StandardCharsets.UTF_8));
    }

    /** Starts capturing; {@link #close()} puts the previous {@code System.err} back. */
    static LogLines capture() {
        return new LogLines();
    }

    /** Every complete line so far. */
    List<String> lines() {
        String all;
        synchronized (captured) {
            all = captured.toString(StandardCharsets.UTF_8);
        }
        return all.substring(0, all.lastIndexOf('\n') + 1).lines().toList();
    }

    /**
     * The lines of the forwarder's own logger ({@code org.m365trace}) at {@code level} (a regex: {@code WARN},
     * {@code (WARN|INFO)}) that match {@code regex}.
     */
    List<String> forwarder(String level, String regex) {
        Pattern marker = Pattern.compile(" " + level + " m365trace - ");
        Pattern p = Pattern.compile(regex);
        return lines().stream().filter(l -> marker.matcher(l).find() && p.matcher(l).find()).toList();
    }

    /** Every line of the forwarder's own logger at {@code level}. */
    List<String> forwarder(String level) {
        return forwarder(level, "");
    }

    @Override
    public void close() {
        System.setErr(original);
    }
}
