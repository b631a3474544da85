package org.m365trace.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/** The packaged jar in its own JVM, as a user starts it: settings as -D options, output kept in a log file. */
final class ForwarderJar implements AutoCloseable {

    static final Path JAR = Path.of("target/m365-trace-forwarder.jar");

    private final Process process;
    private final Path log;

    private ForwarderJar(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /** Starts the jar with {@code settings} (plus {@code extra}), in {@code dir}, its output to {@code dir/<name>.log}. */
    static ForwarderJar start(Path dir, String name, Properties settings, Map<String, String> extra) throws IOException {
        return start(dir, name, settings, extra, Map.of());
    }

    /** As {@link #start(Path, String, Properties, Map)}, with {@code environment} added to the process's environment. */
    static ForwarderJar start(Path dir, String name, Properties settings, Map<String, String> extra, Map<String, String> environment)
            throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m"));
        cmd.add("-Dcamel.management.port=0");     // a free port: tests may run two forwarders at once
        settings.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
        extra.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
        cmd.addAll(List.of("-jar", JAR.toAbsolutePath().toString()));
        Path log = dir.resolve(name + ".log");
        ProcessBuilder builder = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().putAll(environment);
        Process p = builder.start();
        return new ForwarderJar(p, log);
    }

    /** Waits for the process to end by itself; -1 when it did not within {@code seconds}. */
    int waitFor(int seconds) throws InterruptedException {
        return process.waitFor(seconds, TimeUnit.SECONDS) ? process.exitValue() : -1;
    }

    /** SIGTERM, then waits for the exit code. */
    int stop(int seconds) throws InterruptedException {
        process.destroy();
        return waitFor(seconds);
    }

    String output() {
        return Fixtures.unchecked(() -> Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "");
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
