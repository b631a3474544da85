package org.m365trace.sinks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;

import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.health.HealthCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SinkWatchTest {

    @TempDir
    Path dir;

    private final Spool spool = new Spool();

    private SinkWatch watch(String tenants, Instant now) {
        spool.setDir(dir.toString());
        spool.setSink("http");
        spool.setBatchSize(1);
        SinkWatch w = new SinkWatch();
        w.setSink("http");
        w.setSpool(spool);
        w.setTenants(tenants);
        w.setBacklogFor("15m");
        w.setClock(Clock.fixed(now, ZoneOffset.UTC));
        return w;
    }

    @Test
    void labelsComeFromTheRecordsJsonFields() {
        SinkWatch w = watch("", Instant.now());
        assertEquals(Tags.of("sink", "http", "api", "reporting"),
                w.labels("{\"subject\":\"say \\\"api\\\":\\\"graph\\\"\",\"api\":\"reporting\",\"tenant\":\"a\"}"),
                "a subject quoting the field is escaped, so it is not mistaken for it");
        SinkWatch withTenants = watch("a,b", Instant.now());
        assertEquals(Tags.of("sink", "http", "api", "graph", "tenant", "b"),
                withTenants.labels("<134>1 2026-11-30T10:00:00.000Z host m365-trace - - - {\"api\":\"graph\",\"tenant\":\"b\"}"),
                "an RFC 5424 message carries the record as its MSG");
        assertEquals(Tags.of("sink", "http", "api", "graph", "tenant", ""), withTenants.labels("{\"api\":\"graph\"}"),
                "a record spooled before tenants were configured keeps the same label names");
    }

    @Test
    void downOnceTheOldestRecordWaitedLongerThanTheThreshold() throws IOException {
        SinkWatch fresh = watch("", Instant.now());
        assertEquals(HealthCheck.State.UP, fresh.healthCheck().call().getState(), "an empty spool");
        spool.append("{\"api\":\"graph\"}");
        assertEquals(HealthCheck.State.UP, fresh.healthCheck().call().getState(), "a record that just arrived");

        SinkWatch later = watch("", Instant.now().plus(Duration.ofMinutes(16)));
        HealthCheck.Result down = later.healthCheck().call();
        assertEquals(HealthCheck.State.DOWN, down.getState());
        assertTrue(down.getMessage().orElse("").contains("trace.health.sinkBacklogFor"), down.getMessage().toString());
        assertEquals("trace-sink-http", later.healthCheck().getId());
        assertTrue(later.healthCheck().isReadiness() && !later.healthCheck().isLiveness(), "a readiness check only");
    }

    @Test
    void downWhileTheSpoolIsFull() throws IOException {
        SinkWatch w = watch("", Instant.now());
        spool.setMaxSize("1");
        String big = "{\"pad\":\"" + "x".repeat(700_000) + "\"}";
        spool.append(big);
        assertThrows(IOException.class, () -> spool.append(big.replace("pad", "pad2")));
        HealthCheck.Result down = w.healthCheck().call();
        assertEquals(HealthCheck.State.DOWN, down.getState());
        assertTrue(down.getMessage().orElse("").contains("full"), down.getMessage().toString());
    }

    @Test
    void countsWhatTheSinkTookAndWhatItRefusedAndTheyLeaveTheSpoolCount() throws Exception {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        CamelContext context = new DefaultCamelContext();
        context.getRegistry().bind("meters", meters);
        SinkWatch w = watch("a,b", Instant.now());
        w.setCamelContext(context);
        for (int n = 1; n <= 4; n++) {
            spool.append("{\"api\":\"graph\",\"tenant\":\"" + (n < 4 ? "a" : "b") + "\",\"n\":" + n + "}");
        }
        assertEquals(4, spool.pendingRecords());
        String batch = "{\"api\":\"graph\",\"tenant\":\"a\",\"n\":1}\n{\"api\":\"graph\",\"tenant\":\"a\",\"n\":2}\n";
        w.written(utf8("{\"api\":\"graph\",\"tenant\":\"a\",\"n\":2}\n"), utf8(batch));     // n 1 was written before a crash
        w.delivered(utf8("{\"api\":\"graph\",\"tenant\":\"b\",\"n\":4}\n  \n"));       // a blank line is no record
        w.deadLettered(utf8("{\"api\":\"graph\",\"tenant\":\"a\",\"n\":3}\n"));
        assertEquals(1.0, meters.get("trace.records.forwarded").tags("sink", "http", "api", "graph", "tenant", "a").counter().count());
        assertEquals(1.0, meters.get("trace.records.forwarded").tags("tenant", "b").counter().count());
        w.written(utf8("{\"subject\":\"\\\"tenant\\\":\\\"b\\\"\",\"api\":\"reporting\",\"tenant\":\"c\"}\n"
                + "{\"api\":\"reporting\",\"tenant\":\"c\"}"), utf8(""));
        assertEquals(2.0, meters.get("trace.records.forwarded").tags("api", "reporting", "tenant", "c").counter().count(),
                "each line's own fields, a last line without a line break too");
        assertEquals(1.0, meters.get("trace.dead.letters").tags("sink", "http", "tenant", "a").counter().count());
        assertEquals(0, spool.pendingRecords(), "every batch left the spool");
        assertEquals(0.0, meters.get("trace.sink.pending").tags("sink", "http").gauge().value());
        try (var files = Files.list(dir)) {
            assertTrue(files.findAny().isPresent(), "the files themselves are the delivery route's to delete");
        }
    }

    private static byte[] utf8(String text) {
        return text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
}
