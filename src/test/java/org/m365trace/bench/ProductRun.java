package org.m365trace.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One run of the product as users start it: {@code java -Xmx256m -jar target/m365-trace-forwarder.jar} in its own JVM,
 * settings as {@code -D} options, a fresh {@code trace.stateDir} and {@code trace.file.dir} under
 * {@code target/bench/<run>}, the GC log and the product's output kept there. The run ends when every enabled sink holds
 * every expected row (the file sink's folder is read every 100 ms, the syslog and HTTP receivers book records as they
 * come), or at the time-out; then the process gets SIGTERM.
 */
final class ProductRun {

    private static final Pattern WINDOW = Pattern.compile(
            "window (\\S+): (\\d+) pages, (\\d+) rows fetched, (\\d+) forwarded.*? in ([\\d.]+) s");

    /** What to run. {@code firstRequest}: System.nanoTime() of the API's first page request since {@code resetFirst}. */
    record Spec(String name, String api, boolean allSinks, int pageSize, String baseUrl, String tokenUrl,
                LongSet expected, Duration timeout, Map<String, String> settings, LongSupplier firstRequest,
                Runnable resetFirst) {
    }

    /** One window as the product's log line reports it. */
    record Window(String window, int pages, long rows, double seconds) {
    }

    /** What came of it; times in seconds, NaN when unknown. */
    static final class Result {
        String name;
        long expected;
        boolean timedOut;
        boolean died;
        int exitCode;
        double startup = Double.NaN;
        double endToEnd = Double.NaN;
        double stop = Double.NaN;
        double rowsPerSecond = Double.NaN;
        double cpuSeconds = Double.NaN;  // the product process's CPU time (user + system) when the run ended
        long done;                       // rows every sink holds (the least of the sinks)
        long missing;
        long doubled;
        long unexpected;
        boolean oom;
        GcLog gc;
        final Map<String, Tally> sinks = new LinkedHashMap<>();
        final Map<String, Double> sinkDone = new LinkedHashMap<>();
        final List<Window> windows = new ArrayList<>();
        Path dir;

        String verdict() {
            if (oom) {
                return "OutOfMemoryError";
            }
            if (died) {
                return "process ended (exit " + exitCode + "), see " + dir.resolve("product.log");
            }
            if (timedOut) {
                return "timed out at " + done + " rows";
            }
            return "";
        }
    }

    private final Path jar;
    private final String heap;
    private final List<String> jvmArgs;
    private final Path out;

    ProductRun(Path jar, String heap, List<String> jvmArgs, Path out) {
        this.jar = jar;
        this.heap = heap;
        this.jvmArgs = jvmArgs;
        this.out = out;
    }

    Result run(Spec spec) throws IOException, InterruptedException {
        Result r = new Result();
        r.name = spec.name();
        r.expected = spec.expected().size();
        Path dir = out.resolve(spec.name());
        r.dir = dir;
        Benchmark.deleteTree(dir);
        Files.createDirectories(dir);

        Tally file = new Tally("file", spec.expected());
        r.sinks.put("file", file);
        SinkReceivers.FileTail tail = new SinkReceivers.FileTail(dir.resolve("out"), file);
        SinkReceivers.Syslog syslog = null;
        SinkReceivers.Http http = null;
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("trace.api", spec.api());
        settings.put(spec.api().equals("graph") ? "trace.graph.baseUrl" : "trace.reporting.baseUrl", spec.baseUrl());
        settings.put("trace.auth", "oauth2");
        settings.put("trace.tokenUrl", spec.tokenUrl());
        settings.put("trace.tenantId", Benchmark.option("bench.tenantId", FakeTraceApi.TENANT));
        settings.put("trace.clientId", Benchmark.option("bench.clientId", FakeTraceApi.CLIENT_ID));
        settings.put("trace.clientSecret", Benchmark.option("bench.clientSecret", FakeTraceApi.CLIENT_SECRET));
        settings.put("trace.pageSize", String.valueOf(spec.pageSize()));
        settings.put("trace.maxWindow", Benchmark.option("bench.maxWindow", "1d"));
        settings.put("trace.initialLookback", Benchmark.option("bench.lookback", "3d"));
        settings.put("trace.graph.budget", "1000000");          // the instant fake does not throttle: nothing to pace
        settings.put("trace.stateDir", dir.resolve("state").toAbsolutePath().toString());
        settings.put("trace.file.dir", dir.resolve("out").toAbsolutePath().toString());
        settings.put("camel.management.port", "0");             // a free port, not 9876
        try {
            if (spec.allSinks()) {
                Tally s = new Tally("syslog", spec.expected());
                Tally h = new Tally("http", spec.expected());
                r.sinks.put("syslog", s);
                r.sinks.put("http", h);
                syslog = new SinkReceivers.Syslog(s);
                http = new SinkReceivers.Http(h);
                settings.put("trace.syslog.enabled", "true");
                settings.put("trace.syslog.host", "127.0.0.1");
                settings.put("trace.syslog.port", String.valueOf(syslog.port()));
                settings.put("trace.syslog.protocol", "tcp");
                settings.put("trace.http.enabled", "true");
                settings.put("trace.http.url", http.url());
            }
            settings.putAll(spec.settings());
            settings.putAll(Benchmark.passThrough());

            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx" + heap, "-Xlog:gc*:file=" + dir.resolve("gc.log").toAbsolutePath()));
            cmd.addAll(jvmArgs);
            settings.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
            cmd.addAll(List.of("-jar", jar.toAbsolutePath().toString()));
            Files.write(dir.resolve("command.txt"), List.of(String.join(" \\\n  ", cmd)), StandardCharsets.UTF_8);

            spec.resetFirst().run();
            long started = System.nanoTime();
            Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("product.log").toFile()).start();
            long deadline = started + spec.timeout().toNanos();
            long lastReport = started;
            while (true) {
                Thread.sleep(100);
                tail.poll();
                boolean complete = r.sinks.values().stream().allMatch(t -> t.completeAt() != 0);
                if (complete) {
                    break;
                }
                if (!p.isAlive()) {
                    r.died = true;
                    break;
                }
                long now = System.nanoTime();
                if (now > deadline) {
                    r.timedOut = true;
                    break;
                }
                if (now - lastReport > 30_000_000_000L) {
                    lastReport = now;
                    Benchmark.progress("  %s: %.0f s, %s", spec.name(), (now - started) / 1e9, counts(r));
                }
            }
            long ended = System.nanoTime();
            long first = spec.firstRequest().getAsLong();
            r.cpuSeconds = p.info().totalCpuDuration().map(d -> d.toNanos() / 1e9).orElse(Double.NaN);

            long stopAt = System.nanoTime();
            if (p.isAlive()) {
                p.destroy();                                   // SIGTERM: the product stops gracefully
                if (!p.waitFor(45, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
                r.stop = (System.nanoTime() - stopAt) / 1e9;
            }
            r.exitCode = p.exitValue();
            Thread.sleep(300);                                 // the receivers' last reads
            tail.poll();

            long completeAt = 0;
            for (Tally t : r.sinks.values()) {
                completeAt = Math.max(completeAt, t.completeAt());
                if (t.completeAt() != 0 && first != 0) {
                    r.sinkDone.put(t.sink, (t.completeAt() - first) / 1e9);
                }
            }
            r.done = r.sinks.values().stream().mapToLong(Tally::matched).min().orElse(0);
            r.missing = r.sinks.values().stream().mapToLong(Tally::missing).max().orElse(0);
            r.doubled = r.sinks.values().stream().mapToLong(Tally::doubled).max().orElse(0);
            r.unexpected = r.sinks.values().stream().mapToLong(Tally::unexpected).max().orElse(0);
            if (first != 0) {
                r.startup = (first - started) / 1e9;
                long end = r.timedOut || r.died || completeAt == 0 ? ended : completeAt;
                r.endToEnd = (end - first) / 1e9;
                r.rowsPerSecond = r.done / r.endToEnd;
            }
        } finally {
            if (syslog != null) {
                syslog.close();
            }
            if (http != null) {
                http.close();
            }
        }
        r.gc = GcLog.parse(dir.resolve("gc.log"));
        String log = Files.readString(dir.resolve("product.log"), StandardCharsets.UTF_8);
        r.oom = log.contains("OutOfMemoryError");
        Matcher m = WINDOW.matcher(log);
        while (m.find()) {
            r.windows.add(new Window(m.group(1), Integer.parseInt(m.group(2)), Long.parseLong(m.group(3)), Double.parseDouble(m.group(5))));
        }
        if (!Benchmark.flag("bench.keep")) {                    // the NDJSON and spools are large; the logs stay
            Benchmark.deleteTree(dir.resolve("out"));
            Benchmark.deleteTree(dir.resolve("state"));
        }
        return r;
    }

    private static String counts(Result r) {
        StringBuilder b = new StringBuilder();
        r.sinks.values().forEach(t -> b.append(b.length() == 0 ? "" : ", ").append(t.sink).append(' ').append(t.matched()));
        return b.append(" of ").append(r.expected).toString();
    }
}
