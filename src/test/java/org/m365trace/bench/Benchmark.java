package org.m365trace.bench;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The benchmark of issue 14: {@code mvn -B -Pbench package -DskipTests -Dinvoker.skip [-Dbench.*=...]} (docs/benchmark.md).
 * Serves a generated message trace from an in-process fake API ({@link FakeTraceApi}), reads it with a bare client
 * ({@link BareClient}) and with the product's jar, and prints rows/s, the ratio, start-up, heap peak and GC pauses, the
 * rates of the product's stages ({@link StageBench}), and, with {@code -Dbench.budget=true}, a run against Graph's
 * request quota. The tables go to stdout and to {@code target/bench/results.md}.
 */
public final class Benchmark {

    static final List<String> ALL_RUNS = List.of("graph-file", "reporting-file", "graph-all", "graph-all-1m", "tenants", "stages", "budget");

    private final Path out = Path.of(option("bench.out", "target/bench"));
    private final Duration timeout = duration(option("bench.timeout", "600s"));
    private final int pageSize = intOption("bench.pageSize", 5000);
    private final Duration span = duration(option("bench.span", "2d"));
    private final Duration lookback = duration(option("bench.lookback", "3d"));
    private final Duration delay = duration(option("bench.delay", "15m"));
    private final Duration maxWindow = duration(option("bench.maxWindow", "1d"));
    private final String graphUrl = option("bench.graphUrl", "");
    private final String reportingUrl = option("bench.reportingUrl", "");
    private final boolean external = !graphUrl.isBlank() || !reportingUrl.isBlank();
    private final List<Row> rows = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private List<StageBench.Stage> stages = List.of();
    private Budget budget;
    private FakeTraceApi fake;
    private FirstRequestProxy proxy;
    private ProductRun product;
    private final String loadAtStart = loadAverage();
    private final Instant dataEnd = Instant.now().truncatedTo(ChronoUnit.SECONDS).minus(delay).minus(Duration.ofMinutes(5));

    /** A line of the main table. */
    record Row(String run, String api, boolean allSinks, long rows, BareClient.Result bare, BareClient.Result bareOwnJvm,
               ProductRun.Result product, String note) {
    }

    /** The budget run's outcome. */
    record Budget(int requests, Duration period, int productBudget, long latencyMillis, int pageSize, ProductRun.Result product,
                  int listRequests, int throttled, int maxInPeriod, String perPeriod) {
    }

    public static void main(String[] args) throws Exception {
        // the JDK's HTTP server (the HTTP sink's receiver, the first-request proxy of an external API) replies without
        // Nagle's delay, as real receivers do; read once, when the first such server is made: so before any is
        SinkReceivers.Http.replyWithoutDelay();
        new Benchmark().run();
    }

    private void run() throws Exception {
        Set<String> runs = selectedRuns();
        progress("runs: %s%s", String.join(", ", runs), external ? " (external API " + graphUrl + reportingUrl + ")" : "");
        Path jar = Path.of(option("bench.jar", "target/m365-trace-forwarder.jar"));
        if (!Files.exists(jar) && runs.stream().anyMatch(r -> !r.equals("stages"))) {
            throw new IllegalStateException(jar + " is missing: run the benchmark with 'package' (docs/benchmark.md)");
        }
        Files.createDirectories(out);
        List<String> jvmArgs = new ArrayList<>(option("bench.jvmArgs", "").isBlank() ? List.of()
                : Arrays.asList(option("bench.jvmArgs", "").trim().split("\\s+")));
        if (flag("bench.cds")) {
            jar = classDataSharing(jar, jvmArgs);
        }
        product = new ProductRun(jar, option("bench.heap", "256m"), jvmArgs, out);
        int n = intOption("bench.rows", 300_000);
        fake = new FakeTraceApi(data(n));
        try {
            if (external) {
                String target = !graphUrl.isBlank() ? graphUrl : reportingUrl;
                proxy = new FirstRequestProxy(URI.create(target).resolve("/"));
            } else {
                warmUp();
            }
            for (String run : runs) {
                switch (run) {
                    case "graph-file" -> instant(run, "graph", n, false);
                    case "reporting-file" -> instant(run, "reporting", n, false);
                    case "graph-all" -> instant(run, "graph", n, true);
                    case "graph-all-1m" -> instant(run, "graph", intOption("bench.millionRows", 1_000_000), true);
                    case "tenants" -> tenants(run, intOption("bench.tenants", 20), n);
                    case "stages" -> stages = new StageBench(fake, out.resolve("stages")).run();
                    case "budget" -> budgetRun();
                    default -> throw new IllegalArgumentException("unknown run " + run + " in bench.only; known: " + ALL_RUNS);
                }
                report(false);              // results.md after every run: a later failure keeps what was measured
            }
            report(true);
        } finally {
            fake.close();
            if (proxy != null) {
                proxy.close();
            }
        }
        progress("results in %s", out.resolve("results.md"));
    }

    private Set<String> selectedRuns() {
        String only = option("bench.only", "");
        Set<String> runs = new LinkedHashSet<>();
        if (!only.isBlank()) {
            for (String r : only.split(",")) {
                runs.add(r.trim());
            }
        } else {
            runs.addAll(List.of("graph-file", "reporting-file", "graph-all"));
            if (flag("bench.million")) {
                runs.add("graph-all-1m");
            }
            runs.add("stages");
            if (flag("bench.budget")) {
                runs.add("budget");
            }
        }
        if (external) {
            runs.removeIf(r -> r.equals("budget") || r.equals("graph-all-1m") || r.equals("tenants")
                    || (r.startsWith("graph") && graphUrl.isBlank()) || (r.startsWith("reporting") && reportingUrl.isBlank()));
        }
        return runs;
    }

    /** {@code rows} rows spread evenly over {@code bench.span} (2 days) ending 20 minutes ago: before the product's delay. */
    private TraceData data(int rows) {
        return new TraceData(rows, dataEnd.minus(span), dataEnd);
    }

    /** The JIT of the fake and the bare client: not measured. */
    private void warmUp() throws Exception {
        progress("warm-up (fake API and bare client, not measured)");
        fake.setData(data(100_000));
        for (String api : List.of("graph", "reporting")) {
            Path f = out.resolve("warm-up.ndjson");
            bare(api).run(f, false);
            Files.deleteIfExists(f);
        }
    }

    private BareClient bare(String api) {
        boolean graph = api.equals("graph");
        String base = external ? (graph ? graphUrl : reportingUrl) : graph ? fake.graphBaseUrl() : fake.reportingBaseUrl();
        return new BareClient(api, base, tokenUrl(), null, null, option("bench.clientId", FakeTraceApi.CLIENT_ID),
                option("bench.clientSecret", FakeTraceApi.CLIENT_SECRET), pageSize, lookback, delay, maxWindow);
    }

    private String tokenUrl() {
        return external ? option("bench.tokenUrl", "") : fake.tokenUrl();
    }

    /** The bare client, then the product, on the same rows of the instant fake. */
    private void instant(String run, String api, int n, boolean allSinks) throws Exception {
        fake.setLatency(Duration.ZERO);
        fake.setBudget(0, Duration.ZERO);
        TraceData d = data(n);
        fake.setData(d);
        progress("%s: bare client, %s", run, external ? "external API" : n + " rows");
        fake.reset();
        Path bareOut = out.resolve(run + "-bare.ndjson");
        // the best of a few tries: the baseline is what a plain client can do, not what a busy moment let it do
        BareClient.Result bare = null;
        int tries = intOption("bench.bareTries", 3);
        for (int i = 0; i < tries; i++) {
            BareClient.Result b = bare(api).run(bareOut, external && i == 0);
            if (bare == null || b.nanos() < bare.nanos()) {
                bare = new BareClient.Result(b.rows(), b.pages(), b.nanos(), bare == null ? b.keys() : bare.keys());
            }
        }
        Files.deleteIfExists(bareOut);
        String note = "";
        LongSet expected;
        if (external) {
            expected = bare.keys();
            if (bare.rows() != expected.size()) {
                note = "bare client read " + bare.rows() + " rows, " + expected.size() + " distinct";
            }
        } else {
            expected = new LongSet(n);
            for (int i = 0; i < n; i++) {
                expected.add(Keys.of(i));
            }
            if (bare.rows() != n) {
                note = "bare client read " + bare.rows() + " rows of " + n;
            }
        }
        progress("%s: bare client %,d rows in %.1f s = %,.0f rows/s (warm, best of %d); now in a JVM of its own", run, bare.rows(),
                bare.nanos() / 1e9, bare.rowsPerSecond(), tries);
        fake.reset();
        BareClient.Result own = bareOwnJvm(api, bareOut);
        Files.deleteIfExists(bareOut);
        if (own.rows() != bare.rows()) {
            note = join(note, "bare client in its own JVM read " + own.rows() + " rows");
        }
        progress("%s: bare client in its own JVM %,d rows in %.1f s = %,.0f rows/s; now the product (time-out %s)", run, own.rows(),
                own.nanos() / 1e9, own.rowsPerSecond(), timeout);
        ProductRun.Spec spec = new ProductRun.Spec(run, api, allSinks, pageSize, productBaseUrl(api), tokenUrl(), expected, timeout,
                Map.of(), external ? proxy::firstRequestNanos : fake::firstListNanos, external ? proxy::reset : fake::reset);
        ProductRun.Result r = product.run(spec);
        progress("%s: product %,d of %,d rows in %.1f s = %,.0f rows/s %s", run, r.done, r.expected, r.endToEnd, r.rowsPerSecond, r.verdict());
        rows.add(new Row(run, api, allSinks, expected.size(), bare, own, r, note));
    }

    /**
     * Java 17's application class-data sharing (docs/operations.md, "Fast start"): a copy of the jar (the archive belongs
     * to that file; {@code package} rebuilds the original), one 15 s training run of the demo writing the archive at its
     * exit, then every product run maps it ({@code -XX:SharedArchiveFile}). Returns the copy to run.
     */
    private Path classDataSharing(Path jar, List<String> jvmArgs) throws IOException, InterruptedException {
        Path dir = out.resolve("cds");
        deleteTree(dir);
        Files.createDirectories(dir);
        Path copy = dir.resolve("m365-trace-forwarder.jar").toAbsolutePath();
        Files.copy(jar, copy);
        Path archive = dir.resolve("forwarder.jsa").toAbsolutePath();
        progress("cds: training run of the demo (15 s) writing %s", archive);
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:ArchiveClassesAtExit=" + archive,
                "-Dcamel.main.profile=demo", "-Dtrace.api=graph", "-Dtrace.auth=oauth2", "-Dcamel.main.durationMaxSeconds=15",
                "-Dtrace.stateDir=" + dir.resolve("state").toAbsolutePath(), "-Dtrace.file.dir=" + dir.resolve("out").toAbsolutePath(),
                "-Dcamel.management.port=0", "-jar", copy.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("training.log").toFile()).start();
        if (p.waitFor() != 0 || !Files.exists(archive)) {
            throw new IOException("the class-data sharing training run failed: see " + dir.resolve("training.log"));
        }
        jvmArgs.add("-XX:SharedArchiveFile=" + archive);
        return copy;
    }

    /**
     * Many tenants in one instance (issue 16, docs/scaling.md): {@code tenants} tenants, each with its own dedupe store,
     * checkpoint and budget, read {@code total / tenants} rows each (the same rows: the fake has one tenant's data, the
     * records differ by their {@code tenant} field) to the file sink. The baseline is the bare client reading all
     * {@code total} rows for one tenant, in a JVM of its own: the same rows, without the cost of tenants.
     */
    private void tenants(String run, int tenants, int total) throws Exception {
        int each = total / tenants;
        fake.setLatency(Duration.ZERO);
        fake.setBudget(0, Duration.ZERO);
        fake.setData(data(each * tenants));
        progress("%s: bare client, %,d rows for one tenant, in a JVM of its own", run, each * tenants);
        fake.reset();
        Path bareOut = out.resolve(run + "-bare.ndjson");
        BareClient.Result own = bareOwnJvm("graph", bareOut);
        Files.deleteIfExists(bareOut);
        fake.setData(data(each));
        List<String> names = new ArrayList<>();
        for (int t = 1; t <= tenants; t++) {
            names.add(String.format(Locale.ROOT, "t%02d", t));
        }
        LongSet expected = new LongSet(each * tenants);
        for (String t : names) {
            for (int i = 0; i < each; i++) {
                expected.add(Keys.ofTenant(Keys.of(i), t));
            }
        }
        progress("%s: bare client %,d rows in %.1f s = %,.0f rows/s; now the product, %d tenants of %,d rows", run, own.rows(),
                own.nanos() / 1e9, own.rowsPerSecond(), tenants, each);
        // each tenant its own directory tenant (the fake serves any), as the product requires of tenants on one API
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("trace.tenants", String.join(",", names));
        for (String t : names) {
            String id = t + ".onmicrosoft.com";
            settings.put("trace.tenant." + t + ".tenantId", id);
            settings.put("trace.tenant." + t + ".tokenUrl", tokenUrl().replace(FakeTraceApi.TENANT, id));
        }
        fake.reset();
        ProductRun.Spec spec = new ProductRun.Spec(run, "graph", false, pageSize, productBaseUrl("graph"), tokenUrl(), expected, timeout,
                settings, fake::firstListNanos, fake::reset);
        Keys.perTenant = true;
        ProductRun.Result r;
        try {
            r = product.run(spec);
        } finally {
            Keys.perTenant = false;
        }
        progress("%s: product %,d of %,d rows in %.1f s = %,.0f rows/s %s", run, r.done, r.expected, r.endToEnd, r.rowsPerSecond, r.verdict());
        rows.add(new Row(run + " (" + tenants + " tenants)", "graph", false, expected.size(), own, own, r,
                "baseline: the bare client reading all rows for one tenant"));
    }

    /**
     * The bare client started as the product is: a JVM of its own with the same heap ({@code bench.heap}), cold, one run;
     * {@code bench.bareJvmArgs} adds options (for instance its own AOT cache when the product has one).
     */
    private BareClient.Result bareOwnJvm(String api, Path file) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + option("bench.heap", "256m")));
        String extra = option("bench.bareJvmArgs", "");
        if (!extra.isBlank()) {
            cmd.addAll(Arrays.asList(extra.trim().split("\\s+")));
        }
        cmd.addAll(List.of("-cp", BareClient.classpath(), BareClient.class.getName()));
        cmd.addAll(bare(api).mainArgs(file));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException("the bare client in its own JVM failed: " + output);
        }
        for (String line : output.split("\n")) {
            if (line.startsWith("bare-result ")) {
                String[] f = line.trim().split(" ");
                return new BareClient.Result(Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]), null);
            }
        }
        throw new IOException("the bare client in its own JVM printed no result: " + output);
    }

    private String productBaseUrl(String api) {
        if (!external) {
            return api.equals("graph") ? fake.graphBaseUrl() : fake.reportingBaseUrl();
        }
        return proxy.via(api.equals("graph") ? graphUrl : reportingUrl);
    }

    /** Graph's quota enforced by the fake with a latency per page; the product paced by its own budget. */
    private void budgetRun() throws Exception {
        int requests = intOption("bench.budgetRequests", 100);
        String periodText = option("bench.budgetPeriod", "5m");
        Duration period = duration(periodText);
        int productBudget = intOption("bench.productBudget", requests);
        Duration latency = duration(option("bench.latency", "300ms"));
        int size = intOption("bench.budgetPageSize", 1000);
        int n = intOption("bench.budgetRows", (int) Math.ceil(requests * 1.5) * size);
        fake.setData(data(n));
        fake.setLatency(latency);
        fake.setBudget(requests, period);
        LongSet expected = new LongSet(n);
        for (int i = 0; i < n; i++) {
            expected.add(Keys.of(i));
        }
        long pages = (long) Math.ceil(n / (double) size);
        Duration needs = period.multipliedBy(pages / requests).plus(Duration.ofMinutes(5));
        Duration limit = needs.compareTo(timeout) > 0 ? needs : timeout;
        progress("budget: %,d rows in pages of %d (%d+ requests), fake allows %d per %s with %d ms a page, product budget %d; time-out %s",
                n, size, pages, requests, periodText, latency.toMillis(), productBudget, limit);
        ProductRun.Spec spec = new ProductRun.Spec("budget", "graph", false, size, fake.graphBaseUrl(), fake.tokenUrl(), expected, limit,
                Map.of("trace.graph.budget", String.valueOf(productBudget), "trace.graph.budgetPeriod", periodText),
                fake::firstListNanos, fake::reset);
        ProductRun.Result r = product.run(spec);
        long[] arrivals = fake.arrivals();
        Set<Long> refusedAt = new java.util.HashSet<>();
        for (long a : fake.throttledArrivals()) {
            refusedAt.add(a);
        }
        List<String> perPeriod = new ArrayList<>();
        if (arrivals.length > 0) {
            // each list request as the fake saw it: ms after the first, and 429 when the quota refused it
            List<String> lines = new ArrayList<>();
            for (long a : arrivals) {
                lines.add(String.format(Locale.ROOT, "%10.1f %s", (a - arrivals[0]) / 1e6, refusedAt.contains(a) ? "429" : "200"));
            }
            Files.write(r.dir.resolve("arrivals.txt"), lines, StandardCharsets.UTF_8);
            long first = arrivals[0];
            int[] counts = new int[(int) ((arrivals[arrivals.length - 1] - first) / period.toNanos()) + 1];
            for (long a : arrivals) {
                counts[(int) ((a - first) / period.toNanos())]++;
            }
            for (int c : counts) {
                perPeriod.add(String.valueOf(c));
            }
        }
        budget = new Budget(requests, period, productBudget, latency.toMillis(), size, r, fake.listRequests(), fake.throttled(),
                fake.maxInPeriod(), String.join(", ", perPeriod));
        progress("budget: %d list requests, %d answered 429, at most %d in any %s; %s", fake.listRequests(), fake.throttled(),
                fake.maxInPeriod(), periodText, r.verdict());
        fake.setLatency(Duration.ZERO);
        fake.setBudget(0, Duration.ZERO);
    }

    // ------------------------------------------------------------------ report

    private void report(boolean print) throws IOException {
        StringBuilder b = new StringBuilder();
        b.append("## Benchmark of m365-trace-forwarder (issue 14)\n\n");
        b.append("Generated ").append(Instant.now().truncatedTo(ChronoUnit.SECONDS)).append(" by `mvn -B -Pbench package -DskipTests -Dinvoker.skip")
                .append(commandOptions()).append("`; columns explained in docs/benchmark.md.\n\n");
        if (!rows.isEmpty()) {
            b.append("### End to end\n\n");
            Table t = new Table("run", "rows", "product rows/s", "bare rows/s (own JVM)", "ratio", "bare rows/s (warm)", "ratio to warm",
                    "start-up s", "heap peak MB", "GC pause max ms", "missing", "doubled", "note");
            for (Row r : rows) {
                ProductRun.Result p = r.product();
                String note = join(p.verdict(), r.note(), p.unexpected > 0 ? p.unexpected + " unexpected" : "");
                t.add(r.run() + (r.allSinks() ? " (file+syslog+http)" : " (file)"), String.format(Locale.ROOT, "%,d", r.rows()),
                        num(p.rowsPerSecond, 0), num(r.bareOwnJvm().rowsPerSecond(), 0), num(r.bareOwnJvm().rowsPerSecond() / p.rowsPerSecond, 1) + "×",
                        num(r.bare().rowsPerSecond(), 0), num(r.bare().rowsPerSecond() / p.rowsPerSecond, 1) + "×",
                        num(p.startup, 2), num(p.gc.heapPeakMb(), 0), num(p.gc.pauseMaxMillis(), 1), String.valueOf(p.missing),
                        String.valueOf(p.doubled), note);
            }
            b.append(t).append('\n');
            b.append("### Details of the product runs\n\n");
            Table d = new Table("run", "end to end s", "each sink complete at s", "product CPU s", "rows per CPU s",
                    "GC pauses (count, total ms, full)", "SIGTERM to exit s", "windows (rows in s)", "bare: rows, pages, s");
            for (Row r : rows) {
                ProductRun.Result p = r.product();
                d.add(r.run(), num(p.endToEnd, 1), p.sinkDone.entrySet().stream().map(e -> e.getKey() + " " + num(e.getValue(), 1))
                                .collect(Collectors.joining(", ")),
                        num(p.cpuSeconds, 1), num(p.done / p.cpuSeconds, 0),
                        p.gc.pauses() + ", " + num(p.gc.pauseTotalMillis(), 0) + ", " + p.gc.fullGcs(), num(p.stop, 1),
                        p.windows.stream().map(w -> String.format(Locale.ROOT, "%,d in %.1f", w.rows(), w.seconds())).collect(Collectors.joining("; ")),
                        String.format(Locale.ROOT, "%,d, %d, %.1f", r.bare().rows(), r.bare().pages(), r.bare().nanos() / 1e9));
            }
            b.append(d).append('\n');
        }
        if (!stages.isEmpty()) {
            b.append("### Stages (in-process, the product's classes, one thread)\n\n");
            Table t = new Table("stage", "rows/s (fastest round)", "median round", "note");
            for (StageBench.Stage s : stages) {
                t.add(s.name(), num(s.rowsPerSecond(), 0), num(s.median(), 0), s.note());
            }
            b.append(t).append('\n');
        }
        if (budget != null) {
            ProductRun.Result p = budget.product();
            b.append("### Graph request budget (fake: ").append(budget.requests()).append(" list requests per ").append(option("bench.budgetPeriod", "5m"))
                    .append(", ").append(budget.latencyMillis()).append(" ms a page; product: trace.graph.budget=").append(budget.productBudget())
                    .append(")\n\n");
            Table t = new Table("rows", "pageSize", "list requests", "429s", "most in any period", "requests per period (from the first)",
                    "end to end s", "product rows/s", "missing", "doubled", "note");
            t.add(String.format(Locale.ROOT, "%,d", p.expected), String.valueOf(budget.pageSize()), String.valueOf(budget.listRequests()),
                    String.valueOf(budget.throttled()), budget.maxInPeriod() + " of " + budget.requests(), budget.perPeriod(),
                    num(p.endToEnd, 1), num(p.rowsPerSecond, 0), String.valueOf(p.missing), String.valueOf(p.doubled),
                    join(p.verdict(), budget.throttled() > 0 ? "quota exceeded: each request's time in " + out.relativize(p.dir.resolve("arrivals.txt")) : ""));
            b.append(t).append('\n');
        }
        b.append("### Machine\n\n").append(machine()).append('\n');
        if (!notes.isEmpty()) {
            b.append(notes.stream().map(n -> "- " + n).collect(Collectors.joining("\n"))).append('\n');
        }
        Files.writeString(out.resolve("results.md"), b.toString(), StandardCharsets.UTF_8);
        if (print) {
            System.out.println();
            System.out.println(b);
            System.out.flush();
        }
    }

    private static String commandOptions() {
        return System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith("bench.")).sorted()
                .map(k -> " -D" + k + "=" + System.getProperty(k)).collect(Collectors.joining());
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "?";
        }
    }

    private String machine() {
        String cpu = "?";
        try {
            cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElse("?");
        } catch (IOException ignored) {
            // not Linux
        }
        return "- " + Runtime.getRuntime().availableProcessors() + " cores (nproc), CPU " + cpu + ", "
                + Runtime.getRuntime().maxMemory() / (1 << 20) + " MB max heap of the benchmark JVM\n"
                + "- Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ", " + System.getProperty("java.vendor")
                + "), " + System.getProperty("os.name") + " " + System.getProperty("os.arch") + "\n"
                + "- load average (1, 5, 15 min) at the start: " + loadAtStart + ", at the end: " + loadAverage()
                + " (other work on the machine slows the product and the bare client alike, not always equally)\n";
    }

    private static String join(String... parts) {
        return Arrays.stream(parts).filter(s -> s != null && !s.isBlank()).collect(Collectors.joining("; "));
    }

    static String num(double v, int decimals) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return "n/a";
        }
        return String.format(Locale.ROOT, decimals == 0 ? "%,.0f" : "%,." + decimals + "f", v);
    }

    /** A Markdown table with padded columns: readable as plain text, pastable into the README. */
    static final class Table {
        private final List<String[]> lines = new ArrayList<>();

        Table(String... header) {
            lines.add(header);
        }

        void add(String... cells) {
            lines.add(cells);
        }

        @Override
        public String toString() {
            int cols = lines.get(0).length;
            int[] w = new int[cols];
            for (String[] l : lines) {
                for (int i = 0; i < cols; i++) {
                    w[i] = Math.max(w[i], i < l.length && l[i] != null ? l[i].length() : 0);
                }
            }
            StringBuilder b = new StringBuilder();
            for (int li = 0; li < lines.size(); li++) {
                String[] l = lines.get(li);
                b.append('|');
                for (int i = 0; i < cols; i++) {
                    String c = i < l.length && l[i] != null ? l[i] : "";
                    b.append(' ').append(c).append(" ".repeat(w[i] - c.length())).append(" |");
                }
                b.append('\n');
                if (li == 0) {
                    b.append('|');
                    for (int i = 0; i < cols; i++) {
                        b.append('-').append("-".repeat(w[i])).append("-|");
                    }
                    b.append('\n');
                }
            }
            return b.toString();
        }
    }

    // ------------------------------------------------------------------ options and helpers

    static String option(String key, String fallback) {
        String v = System.getProperty(key);
        return v == null || v.isBlank() ? fallback : v.trim();
    }

    static int intOption(String key, int fallback) {
        return Integer.parseInt(option(key, String.valueOf(fallback)).replace("_", "").replace(",", ""));
    }

    static boolean flag(String key) {
        String v = System.getProperty(key);
        return v != null && (v.isBlank() || Boolean.parseBoolean(v.trim()));
    }

    /** Product settings given as {@code -Dbench.set.<trace key>=value}. */
    static Map<String, String> passThrough() {
        Map<String, String> m = new LinkedHashMap<>();
        for (String k : System.getProperties().stringPropertyNames()) {
            if (k.startsWith("bench.set.")) {
                m.put(k.substring("bench.set.".length()), System.getProperty(k));
            }
        }
        return m;
    }

    /** {@code 300ms}, {@code 90s}, {@code 5m}, {@code 1h}, {@code 2d}; a bare number is seconds. */
    static Duration duration(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.endsWith("ms")) {
            return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
        }
        char unit = t.charAt(t.length() - 1);
        if (Character.isDigit(unit)) {
            return Duration.ofSeconds(Long.parseLong(t));
        }
        long v = Long.parseLong(t.substring(0, t.length() - 1));
        return switch (unit) {
            case 's' -> Duration.ofSeconds(v);
            case 'm' -> Duration.ofMinutes(v);
            case 'h' -> Duration.ofHours(v);
            case 'd' -> Duration.ofDays(v);
            default -> throw new IllegalArgumentException("not a duration: " + text);
        };
    }

    static void progress(String format, Object... args) {
        System.out.println("[bench " + Instant.now().truncatedTo(ChronoUnit.SECONDS).toString().substring(11, 19) + "] "
                + String.format(Locale.ROOT, format, args));
        System.out.flush();
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                try {
                    Files.delete(file);
                } catch (NoSuchFileException gone) {
                    // deleted meanwhile
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
