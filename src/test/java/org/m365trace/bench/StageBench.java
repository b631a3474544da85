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
 * and the routes' share. Kept thin on purpose: the classes it calls are being optimised.
 */
final class StageBench {

    record Stage(String name, double rowsPerSecond, String note) {
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
        int pages = 0;
        long bytes0 = fake.bytesServed();
        long t0 = System.nanoTime();
        long t;
        while ((t = System.nanoTime()) - t0 < MEASURE_NANOS || pages < 5) {
            java.net.HttpURLConnection c = (java.net.HttpURLConnection) URI.create(url).toURL().openConnection();
            c.setRequestProperty("Authorization", authorization);
            try (java.io.InputStream in = c.getInputStream()) {
                while (in.read(buf) > 0) {
                    // discard
                }
            }
            pages++;
        }
        double seconds = (t - t0) / 1e9;
        add("fake API: a 5000-row Graph page served over loopback, body discarded", pages * 5000 / seconds,
                String.format(Locale.ROOT, "%.0f MB/s; the fake must outrun every client", (fake.bytesServed() - bytes0) / seconds / 1e6));
    }

    /** TraceSource.open (TracePage): the page streamed into normalized records, as the Kamelet's splitter iterates it. */
    private void parse(String api, byte[] page, String url) {
        TraceSource source = new TraceSource();
        source.setApi(api);
        long rows = 0;
        int runs = 0;
        long t0 = 0;
        long t = 0;
        for (int pass = 0; pass < 2; pass++) {         // the first pass warms up
            rows = 0;
            runs = 0;
            t0 = System.nanoTime();
            while ((t = System.nanoTime()) - t0 < MEASURE_NANOS / 2 || runs < 3) {
                TracePage p = source.open(new ByteArrayInputStream(page), url);
                while (p.hasNext()) {
                    p.next();
                    rows++;
                }
                p.getNextLink();
                runs++;
            }
        }
        add("parse+normalise " + api + " (TraceSource.open, 5000-row page)", rows / ((t - t0) / 1e9),
                (page.length / 5000) + " bytes a row");
    }

    private List<Map<String, Object>> records(byte[] page, String url) {
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
    private void marshal(List<Map<String, Object>> records) throws IOException {
        long rows = 0;
        long t0 = 0;
        long t = 0;
        for (int pass = 0; pass < 2; pass++) {
            rows = 0;
            t0 = System.nanoTime();
            while ((t = System.nanoTime()) - t0 < MEASURE_NANOS / 2) {
                for (Map<String, Object> r : records) {
                    MAPPER.writeValueAsString(r);
                }
                rows += records.size();
            }
        }
        add("record to JSON (ObjectMapper, as the route's marshal)", rows / ((t - t0) / 1e9), "camel-jackson's own mapper in the product");
    }

    /** TraceSeenRepository: add new keys, then ask for them; the memory a key costs at 1M and 3M keys. */
    private void dedupe() throws Exception {
        int n = 1_000_000;
        String[] keys = new String[n];
        for (int i = 0; i < n; i++) {
            keys[i] = TraceData.key(i);
        }
        long before = usedHeap();
        TraceSeenRepository repo = new TraceSeenRepository();
        repo.setFileStore(dir.resolve("seen-1m.dat").toString());
        repo.setCacheSize(n);
        repo.start();
        long t0 = System.nanoTime();
        for (String k : keys) {
            repo.add(k);
        }
        long t1 = System.nanoTime();
        for (String k : keys) {
            if (!repo.contains(k)) {
                throw new IllegalStateException("the dedupe store lost " + k);
            }
        }
        long t2 = System.nanoTime();
        long after = usedHeap();
        java.lang.ref.Reference.reachabilityFence(keys);       // held during both measures, else the JIT may drop it early
        java.lang.ref.Reference.reachabilityFence(repo);
        double add = n / ((t1 - t0) / 1e9);
        double contains = n / ((t2 - t1) / 1e9);
        double perKey1m = (after - before) / (double) n;
        repo.stop();
        keys = null;
        Files.deleteIfExists(dir.resolve("seen-1m.dat"));

        int n3 = 3_000_000;
        long before3 = usedHeap();
        TraceSeenRepository repo3 = new TraceSeenRepository();
        repo3.setFileStore(dir.resolve("seen-3m.dat").toString());
        repo3.setCacheSize(n3);
        repo3.start();
        for (int i = 0; i < n3; i++) {
            repo3.add(TraceData.key(i));
        }
        long after3 = usedHeap();
        java.lang.ref.Reference.reachabilityFence(repo3);
        double perKey3m = (after3 - before3) / (double) n3;
        repo3.stop();
        Files.deleteIfExists(dir.resolve("seen-3m.dat"));
        String memory = String.format(Locale.ROOT, "heap a key: %.0f B at 1M keys, %.0f B at 3M (cacheSize = keys)", perKey1m, perKey3m);
        add("dedupe: TraceSeenRepository.add (new key, appended to seen.dat)", add, "1M keys; " + memory);
        add("dedupe: TraceSeenRepository.contains", contains, "1M keys held");
        add("dedupe: contains + add, as the idempotent consumer does", 1 / (1 / add + 1 / contains), "");
    }

    private static long usedHeap() throws InterruptedException {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
        return rt.totalMemory() - rt.freeMemory();
    }

    /** sink-file: SinkSchema.document, Spool.append; sink-file-deliver: each sealed batch to TraceFiles.appendBatch. */
    private void fileSink(String[] lines) throws IOException {
        Path spoolDir = dir.resolve("spool-file");
        Spool spool = spool("file", spoolDir);
        SinkSchema schema = schema("file");
        TraceFiles files = new TraceFiles();
        files.setDir(dir.resolve("out").toString());
        long t0 = System.nanoTime();
        for (String line : lines) {
            spool.append(schema.document(line, null), "");
        }
        spool.seal();
        long t1 = System.nanoTime();
        long written = deliver(spoolDir, spool, batch -> files.appendBatch(batch));
        long t2 = System.nanoTime();
        files.close();
        check("file", written, lines.length);
        double append = lines.length / ((t1 - t0) / 1e9);
        double deliver = lines.length / ((t2 - t1) / 1e9);
        add("file sink: spool (SinkSchema.document + Spool.append)", append, "");
        add("file sink: delivery (TraceFiles.appendBatch of 500-record batches)", deliver, "fsync per batch");
        add("file sink: both", lines.length / ((t2 - t0) / 1e9), "");
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
            long t0 = System.nanoTime();
            for (int i = 0; i < lines.length; i++) {
                spool.append(rfc.format(schema.document(lines[i], null), received[i], status[i]), "");
            }
            spool.seal();
            long t1 = System.nanoTime();
            deliver(spoolDir, spool, batch -> {
                sender.sendLines(batch);
                return batch;
            });
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (tally.total() < lines.length && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            long t2 = System.nanoTime();
            check("syslog", tally.total(), lines.length);
            add("syslog sink: spool (document + Rfc5424.format + Spool.append)", lines.length / ((t1 - t0) / 1e9), "");
            add("syslog sink: delivery (SyslogSender.sendLines, TCP loopback, until received)", lines.length / ((t2 - t1) / 1e9), "");
            add("syslog sink: both", lines.length / ((t2 - t0) / 1e9), "");
        }
    }

    /** sink-http: document, Spool.append; sink-http-deliver: the json-array body of each batch (HttpPreset.body). */
    private void httpSink(String[] lines) throws IOException {
        Path spoolDir = dir.resolve("spool-http");
        Spool spool = spool("http", spoolDir);
        SinkSchema schema = schema("http");
        HttpPreset preset = new HttpPreset();
        preset.setEnabled(true);
        preset.setPreset("generic");
        preset.setFormat("json-array");
        preset.setUrl("http://127.0.0.1:9/ingest");
        preset.validate();
        long t0 = System.nanoTime();
        for (String line : lines) {
            spool.append(schema.document(line, null), "");
        }
        spool.seal();
        long t1 = System.nanoTime();
        long[] bytes = new long[1];
        deliver(spoolDir, spool, batch -> {
            if (preset.oversized(batch) == null) {
                bytes[0] += preset.body(batch).length();
            }
            return batch;
        });
        long t2 = System.nanoTime();
        add("http sink: spool (document + Spool.append)", lines.length / ((t1 - t0) / 1e9), "");
        add("http sink: json-array body of each 500-record batch (HttpPreset.body)", lines.length / ((t2 - t1) / 1e9),
                "the POST itself (camel-http) not included");
    }

    private interface Delivery {
        String deliver(String batch) throws IOException;
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
            String batch = Files.readString(b, StandardCharsets.UTF_8);
            lines += Spool.lines(delivery.deliver(batch));
            spool.taken(batch);
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

    private void add(String name, double rowsPerSecond, String note) {
        stages.add(new Stage(name, rowsPerSecond, note));
        Benchmark.progress("  %-70s %,12.0f rows/s  %s", name, rowsPerSecond, note);
    }
}
