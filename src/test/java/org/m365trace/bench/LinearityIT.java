package org.m365trace.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Properties;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.apache.camel.main.Main;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.m365trace.TraceForwarder;

/**
 * The cost of a row does not grow with the rows the window already held (issue 14): in one window of 200,000 rows
 * (40 pages of 5,000), through the real routes and the file sink against the benchmark's instant fake Graph, the
 * pages near its end take at most 1.5 times as long as the pages near its start. A page's time is from its request
 * to the next page's request, as the fake saw them; the first page of the window (the JIT still warming up on it) is
 * left out, and a first window of 20,000 rows warms the JIT up.
 * <p>
 * The median of eight pages is compared, not the sum of a few: a cost that grows with the window slows every late
 * page, while a garbage collection or another process on a shared CI machine slows one or two (a sum of four pages
 * once failed at 2.4 times for that reason alone).
 */
class LinearityIT {

    private static final int PAGE = 5_000;
    private static final int PAGES_COMPARED = 8;        // 40,000 rows at each end

    @TempDir
    Path tmp;

    @Test
    void lateRowsOfA200000RowWindowCostNoMoreThanEarlyOnes() throws Exception {
        window("warm-up", 20_000);
        long[] requests = window("large", 200_000);
        assertEquals(40, requests.length, "one window of 40 pages");
        double[] pages = new double[requests.length - 1];      // pages[i]: the time of page i, from its request to the next
        for (int i = 0; i < pages.length; i++) {
            pages[i] = (requests[i + 1] - requests[i]) / 1e9;
        }
        double early = median(Arrays.copyOfRange(pages, 1, 1 + PAGES_COMPARED));
        double late = median(Arrays.copyOfRange(pages, pages.length - PAGES_COMPARED, pages.length));
        String times = Arrays.stream(pages).mapToObj(t -> String.format("%.3f", t)).collect(Collectors.joining(" "));
        System.out.printf("5,000-row page of a 200,000-row window: median %.3f s early, %.3f s late; all pages: %s%n", early, late, times);
        assertTrue(late <= 1.5 * early, String.format(
                "a late page of the window took %.3f s (median), an early one %.3f s: the cost of a row grows with the window (pages: %s)",
                late, early, times));
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** Reads one window of {@code rows} rows to the file sink; returns when each list request arrived (ns). */
    private long[] window(String name, int rows) throws Exception {
        Instant end = Instant.now().minus(Duration.ofMinutes(20));
        TraceData data = new TraceData(rows, end.minus(Duration.ofHours(2)), end);
        Path dir = tmp.resolve(name);
        try (FakeTraceApi api = new FakeTraceApi(data)) {
            Properties p = new Properties();
            p.put("trace.api", "graph");
            p.put("trace.graph.baseUrl", api.graphBaseUrl());
            p.put("trace.tokenUrl", api.tokenUrl());
            p.put("trace.tenantId", FakeTraceApi.TENANT);
            p.put("trace.clientId", FakeTraceApi.CLIENT_ID);
            p.put("trace.clientSecret", FakeTraceApi.CLIENT_SECRET);
            p.put("trace.pageSize", String.valueOf(PAGE));
            p.put("trace.initialLookback", "3h");     // one window: the rows span 2 hours, maxWindow is a day
            p.put("trace.graph.budget", "100000");    // the fake does not throttle
            p.put("trace.stateDir", dir.resolve("state").toString());
            p.put("trace.file.dir", dir.resolve("out").toString());
            p.put("camel.management.port", "0");
            Main main = new Main(TraceForwarder.class);
            main.setOverrideProperties(p);
            main.start();
            try {
                Awaitility.await().atMost(Duration.ofMinutes(3)).until(() -> Files.exists(dir.resolve("state/checkpoint")));
                assertEquals(rows, api.rowsServed(), "one window, every row read once");
                Awaitility.await().atMost(Duration.ofMinutes(1)).until(() -> lines(dir.resolve("out")) == rows);
                return api.arrivals();
            } finally {
                main.stop();
            }
        }
    }

    private static long lines(Path out) throws Exception {
        if (!Files.isDirectory(out)) {
            return 0;
        }
        long n = 0;
        try (Stream<Path> files = Files.list(out)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                try (Stream<String> l = Files.lines(f)) {
                    n += l.count();
                }
            }
        }
        return n;
    }
}
