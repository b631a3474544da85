package org.m365trace.bench;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.m365trace.sinks.HttpPreset;
import org.m365trace.sinks.Rfc5424;
import org.m365trace.sinks.SinkSchema;
import org.m365trace.sinks.Spool;
import org.m365trace.sinks.SyslogSender;
import org.m365trace.sinks.TraceFiles;
import org.m365trace.source.TracePage;
import org.m365trace.source.TraceSource;
import org.m365trace.source.TraceWindows;
import org.m365trace.state.TraceSeenRepository;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The rates of the product's stages, in this JVM, one thread, with the product's own public classes as the routes wire
 * them (read routes/*.camel.yaml and the Kamelet): parse+normalise of a 5000-row page ({@link TraceSource#open}),
 * dedupe ({@link TraceSeenRepository}), and each sink up to the point where its bytes leave (file: {@link Spool} then
 * {@link TraceFiles}; syslog: {@link Rfc5424}, {@link Spool}, {@link SyslogSender} to a loopback receiver; http:
 * {@link Spool} and the json-array body of {@link HttpPreset}). Camel itself (exchanges, the splitter, the multicast,
 * the file consumer of the spools) is not in these numbers: the gap between them and the end-to-end rate is Camel's
 * and the routes' share. Each stage runs in rounds after a warm-up; the fastest round is reported (what the code can do
 * when the machine lets it) with the median beside it. Kept thin on purpose: the classes it calls are being optimised.
 */
final class StageBench {

    /** A stage's rate: its fastest round, and the median round. */
    record Stage(String name, double rowsPerSecond, double median, String note) {
    }

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final long MEASURE_NANOS = Duration.ofSeconds(Long.parseLong(Benchmark.option("bench.stageSeconds", "3"))).toNanos();

    private final FakeTraceApi fake;
    private final Path dir;
    private final List<Stage> stages = new ArrayList<>();

    StageBench(FakeTraceApi fake, Path dir) {
        this.fake = fake;
        this.dir = dir;
    }

    List<Stage> run() throws Exception {
        Benchmark.deleteTree(dir);
        Files.createDirectories(dir);
        TraceData data = new TraceData(200_000, Instant.now().minus(Duration.ofDays(2)), Instant.now().minus(Duration.ofMinutes(20)));
        fake.setData(data);
        fake.setLatency(Duration.ZERO);
        fake.setBudget(0, Duration.ZERO);
        Benchmark.progress("stages: fake API and parse+normalise");
        String graphUrl = firstPage("graph");
        String rwsUrl = firstPage("reporting");
        byte[] graphPage = fetch(graphUrl);
        byte[] rwsPage = fetch(rwsUrl);
        serve(graphUrl);
        parse("graph", graphPage, graphUrl);
        parse("reporting", rwsPage, rwsUrl);
        List<Map<String, Object>> records = records(graphPage, graphUrl);
        marshal(records);
        Benchmark.progress("stages: dedupe");
        dedupe();
        Benchmark.progress("stages: sinks");
        int n = 200_000;
        String[] lines = new String[n];
        String[] received = new String[n];
        String[] status = new String[n];
        for (int i = 0; i < n; i++) {
            Map<String, Object> r = record(data, i);
            lines[i] = MAPPER.writeValueAsString(r);
            received[i] = (String) r.get("received");
            status[i] = (String) r.get("status");
        }
        fileSink(lines);
        syslogSink(lines, received, status);
        httpSink(lines);
        Benchmark.deleteTree(dir);
        return stages;
    }

    private String firstPage(String api) {
        TraceSource source = new TraceSource();
        source.setApi(api);
        source.setGraphBaseUrl(fake.graphBaseUrl());
        source.setReportingBaseUrl(fake.reportingBaseUrl());
        source.setPageSize(5000);
        Instant end = Instant.now().minus(Duration.ofMinutes(15));
        return source.firstUrl(new TraceWindows.Window(end.minus(Duration.ofDays(3)), end));
    }

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private HttpRequest get(String url) throws IOException, InterruptedException {
        String token = MAPPER.readTree(http.send(HttpRequest.newBuilder(URI.create(fake.tokenUrl()))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("grant_type=client_credentials&client_id=" + FakeTraceApi.CLIENT_ID
                        + "&client_secret=" + FakeTraceApi.CLIENT_SECRET + "&scope=x")).build(),
                HttpResponse.BodyHandlers.ofString()).body()).path("access_token").asText();
        return HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + token).GET().build();
    }

    private byte[] fetch(String url) throws IOException, InterruptedException {
        return http.send(get(url), HttpResponse.BodyHandlers.ofByteArray()).body();
    }

    /** The fake's own speed: the same 5000-row page again and again over loopback (HttpURLConnection), bytes discarded. */
    private void serve(String url) throws Exception {
        String authorization = get(url).headers().firstValue("Authorization").orElseThrow();
        byte[] buf = new byte[1 << 16];
        long bytes0 = fake.bytesServed();
        long nanos0 = System.nanoTime();
        Rates r = rounds(() -> {
            java.net.HttpURLConnection c = (java.net.HttpURLConnection) URI.create(url).toURL().openConnection();
            c.setRequestProperty("Authorization", authorization);
            try (java.io.InputStream in = c.getInputStream()) {
                while (in.read(buf) > 0) {
                    // discard
                }
            }
            return 5000;
        });
        double mbs = (fake.bytesServed() - bytes0) / ((System.nanoTime() - nanos0) / 1e9) / 1e6;
        add("fake API: a 5000-row Graph page served over loopback, body discarded", r,
                String.format(Locale.ROOT, "about %.0f MB/s; the fake must outrun every client", mbs));
    }

    /** TraceSource.open (TracePage): the page streamed into normalized records, as the Kamelet's splitter iterates it. */
    private void parse(String api, byte[] page, String url) throws Exception {
        TraceSource source = new TraceSource();
        source.setApi(api);
        Rates r = rounds(() -> {
            long rows = 0;
            TracePage p = source.open(new ByteArrayInputStream(page), url);
            while (p.hasNext()) {
                p.next();
                rows++;
            }
            p.getNextLink();
            return rows;
        });
        add("parse+normalise " + api + " (TraceSource.open, 5000-row page)", r, (page.length / 5000) + " bytes a row");
    }

    private List<Map<String, Object>> records(byte[] page, String url) throws IOException {
        TraceSource source = new TraceSource();
        source.setApi("graph");
        List<Map<String, Object>> records = new ArrayList<>();
        TracePage p = source.open(new ByteArrayInputStream(page), url);
        while (p.hasNext()) {
            @SuppressWarnings("unchecked")
            Map<String, Object> r = (Map<String, Object>) p.next();
            records.add(r);
        }
        return records;
    }

    /** The record to its JSON line: the route's marshal (camel-jackson), approximated by a plain ObjectMapper. */
    private void marshal(List<Map<String, Object>> records) throws Exception {
        Rates r = rounds(() -> {
            for (Map<String, Object> record : records) {
                MAPPER.writeValueAsString(record);
            }
            return records.size();
        });
        add("record to JSON (ObjectMapper, as the route's marshal)", r, "camel-jackson's own mapper in the product");
    }

    /** TraceSeenRepository: add new keys, then ask for them; the memory a key costs at 1M and 3M keys. */
    private void dedupe() throws Exception {
        Rates[] rates = dedupeRates(1_000_000);
        String memory = String.format(Locale.ROOT, "heap a key: %.0f B at 1M keys, %.0f B at 3M (cacheSize = keys)",
                bytesPerKey(1_000_000), bytesPerKey(3_000_000));
        add("dedupe: TraceSeenRepository.add, then commit a page", rates[0], "1M keys; " + memory);
        add("dedupe: TraceSeenRepository.contains", rates[1], "1M keys held");
        Rates both = new Rates();
        both.add(1 / (1 / rates[0].best() + 1 / rates[1].best()));
        both.medianOverride = 1 / (1 / rates[0].median() + 1 / rates[1].median());
        add("dedupe: contains + add, as the idempotent consumer does", both, "from the two above");
    }

    /** Rounds of add (each key once, the first quarter warms up) and of contains, with cacheSize = n. */
    private Rates[] dedupeRates(int n) throws Exception {
        int slice = 50_000;
        String[] keys = new String[n];
        for (int i = 0; i < n; i++) {
            keys[i] = TraceData.key(i);
        }
        TraceSeenRepository repo = new TraceSeenRepository();
        Path file = dir.resolve("seen-rates.dat");
        repo.setFileStore(file.toString());
        repo.setCacheSize(n);
        repo.start();
        try {
            Rates add = new Rates();
            for (int from = 0; from < n; from += slice) {
                long t0 = System.nanoTime();
                for (int i = from; i < from + slice; i++) {
                    repo.add(keys[i]);
                }
                // stored as the route does once the sinks took the page: a slice is a page's keys
                repo.commit(java.util.Arrays.asList(keys).subList(from, from + slice));
                if (from >= n / 4) {
                    add.add(slice / ((System.nanoTime() - t0) / 1e9));
                }
            }
            int[] next = {0};
            Rates contains = rounds(() -> {
                int from = next[0];
                next[0] = (from + slice) % n;
                for (int i = from; i < from + slice; i++) {
                    if (!repo.contains(keys[i])) {
                        throw new IllegalStateException("the dedupe store lost " + keys[i]);
                    }
                }
                return slice;
            });
            return new Rates[] {add, contains};
        } finally {
            repo.stop();
            Files.deleteIfExists(file);
        }
    }

    /** Heap used after adding n keys to a store of cacheSize n, less before it was made, per key. */
    private double bytesPerKey(int n) throws Exception {
        Path file = dir.resolve("seen-memory.dat");
        long before = usedHeap();
        TraceSeenRepository repo = new TraceSeenRepository();
        repo.setFileStore(file.toString());
        repo.setCacheSize(n);
        repo.start();
        List<String> page = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String key = TraceData.key(i);
            repo.add(key);
            page.add(key);
            if (page.size() == 5_000 || i == n - 1) {       // reserved, then stored once its page was taken
                repo.commit(page);
                page.clear();
            }
        }
        long after = usedHeap();
        java.lang.ref.Reference.reachabilityFence(repo);       // held while measuring, else the JIT may drop it early
        repo.stop();
        Files.deleteIfExists(file);
        return (after - before) / (double) n;
    }

    private static long usedHeap() throws InterruptedException {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
        return rt.totalMemory() - rt.freeMemory();
    }

    /** Rounds of {@value #ROUND} records through a sink: the spool part, then the delivery of the sealed batches. */
    private static final int ROUND = 10_000;

    private interface Part {
        void run(int from, int to) throws Exception;
    }

    /** Each round spools records [i, i + ROUND) (rotating through the lines) and then delivers them; both timed. */
    private void sinkRounds(String sink, int lines, Part spool, Part deliver, String spoolName, String deliverName, String deliverNote)
            throws Exception {
        Rates a = new Rates();
        Rates d = new Rates();
        Rates both = new Rates();
        long warm = System.nanoTime() + WARM_NANOS;
        long end = 0;
        int rounds = 0;
        for (int from = 0; ; from = (from + ROUND) % lines) {
            long t0 = System.nanoTime();
            spool.run(from, from + ROUND);
            long t1 = System.nanoTime();
            deliver.run(from, from + ROUND);
            long t2 = System.nanoTime();
            if (t2 < warm && rounds == 0) {
                continue;
            }
            if (end == 0) {
                end = t2 + MEASURE_NANOS;
            }
            rounds++;
            a.add(ROUND / ((t1 - t0) / 1e9));
            d.add(ROUND / ((t2 - t1) / 1e9));
            both.add(ROUND / ((t2 - t0) / 1e9));
            if (t2 > end && rounds >= 5) {
                break;
            }
        }
        add(sink + " sink: spool (" + spoolName + ")", a, "");
        add(sink + " sink: delivery (" + deliverName + ")", d, deliverNote);
        add(sink + " sink: both", both, "");
    }

    /** sink-file: SinkSchema.document, Spool.append; sink-file-deliver: each sealed batch to TraceFiles.appendBatch. */
    private void fileSink(String[] lines) throws Exception {
        Path spoolDir = dir.resolve("spool-file");
        Spool spool = spool("file", spoolDir);
        SinkSchema schema = schema("file");
        TraceFiles files = new TraceFiles();
        files.setDir(dir.resolve("out").toString());
        sinkRounds("file", lines.length, (from, to) -> {
            for (int i = from; i < to; i++) {
                spool.append(schema.document(lines[i], null), "");
            }
            spool.seal();
        }, (from, to) -> check("file", deliver(spoolDir, spool, files::appendBatch), to - from),
                "SinkSchema.document + Spool.append", "TraceFiles.appendBatch of 500-record batches", "forces the file to disk a batch");
        files.close();
        Benchmark.deleteTree(dir.resolve("out"));
    }

    /** sink-syslog: document, Rfc5424.format, Spool.append; sink-syslog-deliver: SyslogSender.sendLines to loopback. */
    private void syslogSink(String[] lines, String[] received, String[] status) throws Exception {
        Path spoolDir = dir.resolve("spool-syslog");
        Spool spool = spool("syslog", spoolDir);
        SinkSchema schema = schema("syslog");
        Rfc5424 rfc = new Rfc5424();
        rfc.setFacility("local0");
        rfc.setAppName("m365-trace");
        Tally tally = new Tally("syslog", new LongSet(1));
        try (SinkReceivers.Syslog receiver = new SinkReceivers.Syslog(tally); SyslogSender sender = new SyslogSender()) {
            sender.setProtocol("tcp");
            sender.setHost("127.0.0.1");
            sender.setPort(String.valueOf(receiver.port()));
            sinkRounds("syslog", lines.length, (from, to) -> {
                for (int i = from; i < to; i++) {
                    spool.append(rfc.format(schema.document(lines[i], null), received[i], status[i]), "");
                }
                spool.seal();
            }, (from, to) -> {
                long target = tally.total() + (to - from);
                deliver(spoolDir, spool, batch -> {
                    sender.sendLines(batch);
                    return batch;
                });
                long deadline = System.nanoTime() + 30_000_000_000L;
                while (tally.total() < target && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                check("syslog", tally.total(), target);
            }, "document + Rfc5424.format + Spool.append", "SyslogSender.sendLines, TCP loopback, until received", "");
        }
    }

    /** sink-http: document, Spool.append; sink-http-deliver: the json-array body of each batch (HttpPreset.body). */
    private void httpSink(String[] lines) throws Exception {
        Path spoolDir = dir.resolve("spool-http");
        Spool spool = spool("http", spoolDir);
        SinkSchema schema = schema("http");
        HttpPreset preset = new HttpPreset();
        preset.setEnabled(true);
        preset.setPreset("generic");
        preset.setFormat("json-array");
        preset.setUrl("http://127.0.0.1:9/ingest");
        preset.validate();
        long[] bytes = new long[1];
        sinkRounds("http", lines.length, (from, to) -> {
            for (int i = from; i < to; i++) {
                spool.append(schema.document(lines[i], null), "");
            }
            spool.seal();
        }, (from, to) -> check("http", deliver(spoolDir, spool, batch -> {
            if (preset.oversized(batch) == null) {
                bytes[0] += preset.body(batch).length;
            }
            return batch;
        }), to - from), "document + Spool.append", "json-array body of each 500-record batch, HttpPreset.body",
                "the POST itself (camel-http) not included");
    }

    /** The lines of a batch (the spool writes no blank ones). */
    private static long lines(byte[] batch) {
        long n = 0;
        for (int i = 0; i < batch.length; i++) {
            if (batch[i] == '\n' || i == batch.length - 1) {
                n++;
            }
        }
        return n;
    }

    private interface Delivery {
        byte[] deliver(byte[] batch) throws IOException;
    }

    /** What each sink's deliver route does with Camel's file consumer: sealed batches in name order, read, delivered,
     *  taken off the spool, deleted. Returns the lines delivered. */
    private static long deliver(Path spoolDir, Spool spool, Delivery delivery) throws IOException {
        List<Path> batches = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(spoolDir, "*.ndjson")) {
            files.forEach(batches::add);
        }
        batches.sort(null);
        long lines = 0;
        for (Path b : batches) {
            byte[] batch = Files.readAllBytes(b);
            long n = lines(delivery.deliver(batch));
            lines += n;
            spool.taken(n);
            Files.delete(b);
        }
        return lines;
    }

    private static Spool spool(String sink, Path spoolDir) throws IOException {
        Files.createDirectories(spoolDir);
        Spool spool = new Spool();
        spool.setSink(sink);
        spool.setDir(spoolDir.toString());
        spool.setBatchSize(500);
        spool.setBatchTimeout("1s");
        spool.setMaxSize("1024");
        return spool;
    }

    private static SinkSchema schema(String sink) {
        SinkSchema schema = new SinkSchema();
        schema.setSink(sink);
        schema.setSchema("normalized");
        return schema;
    }

    private static void check(String sink, long got, long expected) {
        if (got != expected) {
            throw new IllegalStateException("stage " + sink + ": " + got + " records delivered of " + expected);
        }
    }

    /** Row {@code i} as the product's record (contract order), for the sinks' input. */
    private static Map<String, Object> record(TraceData d, int i) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("messageTraceId", TraceData.traceId(i));
        r.put("messageId", TraceData.messageId(i));
        r.put("received", new TraceData.Iso().format(d.receivedMillis(i)) + "Z");
        r.put("senderAddress", TraceData.sender(i));
        r.put("recipientAddress", TraceData.recipient(i));
        r.put("subject", TraceData.subject(i));
        r.put("status", TraceData.STATUS[TraceData.status(i)]);
        r.put("size", TraceData.size(i));
        r.put("fromIP", TraceData.fromIP(i));
        r.put("toIP", TraceData.toIP(i));
        r.put("api", "graph");
        return r;
    }

    private static final long WARM_NANOS = MEASURE_NANOS * 2 / 3;

    private interface Round {
        /** One round of work; returns the records it handled. */
        long run() throws Exception;
    }

    /** The rate of each round, best and median. */
    static final class Rates {
        private final List<Double> rates = new ArrayList<>();
        double medianOverride = Double.NaN;

        void add(double rate) {
            rates.add(rate);
        }

        double best() {
            return rates.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
        }

        double median() {
            if (!Double.isNaN(medianOverride)) {
                return medianOverride;
            }
            double[] r = rates.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            return r.length == 0 ? Double.NaN : r[r.length / 2];
        }
    }

    /** Rounds for the warm-up time (not counted), then rounds for the measuring time (at least five), each timed. */
    private static Rates rounds(Round round) throws Exception {
        long warm = System.nanoTime() + WARM_NANOS;
        int warmRounds = 0;
        while (System.nanoTime() < warm || warmRounds < 3) {
            round.run();
            warmRounds++;
        }
        Rates rates = new Rates();
        long end = System.nanoTime() + MEASURE_NANOS;
        int n = 0;
        while (System.nanoTime() < end || n < 5) {
            long t0 = System.nanoTime();
            long rows = round.run();
            rates.add(rows / ((System.nanoTime() - t0) / 1e9));
            n++;
        }
        return rates;
    }

    private void add(String name, Rates rates, String note) {
        stages.add(new Stage(name, rates.best(), rates.median(), note));
        Benchmark.progress("  %-72s %,10.0f rows/s (median %,.0f)  %s", name, rates.best(), rates.median(), note);
    }
}
