package org.m365trace.chaos;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * The packaged product, {@code java -Xmx256m -jar target/m365-trace-forwarder.jar}, forked with {@code -D}
 * settings. Each start is a new <em>generation</em> with its own log file ({@code forwarder-<n>.log}, stdout and
 * stderr together); {@link #kill()} is SIGKILL ({@link Process#destroyForcibly()} on Linux), {@link #stop} is
 * SIGTERM.
 */
final class ForwarderProcess implements AutoCloseable {

    private final Path jar;
    private final Path logDir;
    private final Map<String, String> settings;
    private final List<Path> logs = new ArrayList<>();
    private Process process;
    private int generation = -1;
    private boolean hooked;

    ForwarderProcess(Path jar, Path logDir, Map<String, String> settings) {
        this.jar = jar;
        this.logDir = logDir;
        this.settings = new TreeMap<>(settings);
    }

    /** Starts the next generation; returns its number (0 for the first start). */
    synchronized int start() throws IOException {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("generation " + generation + " is still running");
        }
        generation++;
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx256m");
        command.add("-Dcamel.management.port=0");     // a free port: generations may overlap for a moment
        settings.forEach((k, v) -> command.add("-D" + k + "=" + v));
        command.add("-jar");
        command.add(jar.toString());
        Path log = logDir.resolve("forwarder-" + generation + ".log");
        logs.add(log);
        process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!hooked) {
            // also when the test JVM itself is stopped (Ctrl-C, a fork time-out): no forwarder is left running
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                Process p = process;
                if (p != null) {
                    p.destroyForcibly();
                }
            }, "forwarder-reaper"));
            hooked = true;
        }
        return generation;
    }

    synchronized int generation() {
        return generation;
    }

    synchronized boolean isAlive() {
        return process != null && process.isAlive();
    }

    synchronized long pid() {
        return process.pid();
    }

    /** kill -9, and wait until the process is gone. */
    synchronized void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("generation " + generation + " survived SIGKILL for 30 s");
        }
    }

    /** SIGTERM; true when the process ended within {@code timeout}. */
    synchronized boolean stop(Duration timeout) throws InterruptedException {
        if (process == null || !process.isAlive()) {
            return true;
        }
        process.destroy();
        return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    synchronized Integer exitCode() {
        return process == null || process.isAlive() ? null : process.exitValue();
    }

    /** The last {@code lines} lines of every generation's log, oldest generation first. */
    synchronized String tail(int lines) {
        StringBuilder out = new StringBuilder();
        for (Path log : logs) {
            out.append("----- ").append(log).append(" (last ").append(lines).append(" lines)\n");
            try {
                List<String> all = readLines(log);
                all.subList(Math.max(0, all.size() - lines), all.size()).forEach(l -> out.append(l).append('\n'));
            } catch (IOException e) {
                out.append("(unreadable: ").append(e).append(")\n");
            }
        }
        return out.toString();
    }

    /** Lines of every generation's log containing {@code text}. */
    synchronized List<String> grep(String text) {
        List<String> found = new ArrayList<>();
        for (Path log : logs) {
            try {
                readLines(log).stream().filter(l -> l.contains(text))
                        .forEach(l -> found.add(log.getFileName() + ": " + l));
            } catch (IOException e) {
                found.add(log.getFileName() + ": (unreadable: " + e + ")");
            }
        }
        return found;
    }

    /** A log's lines; bytes that are not UTF-8 become U+FFFD rather than failing. */
    private static List<String> readLines(Path log) throws IOException {
        return new String(Files.readAllBytes(log), StandardCharsets.UTF_8).lines().toList();
    }

    /** Never leaves a JVM behind. */
    @Override
    public synchronized void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }
    }
}
