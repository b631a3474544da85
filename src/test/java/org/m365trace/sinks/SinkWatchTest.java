package org.m365trace.sinks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;

import io.micrometer.core.instrument.Tags;
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
        try {
            spool.append(big.replace("pad", "pad2"));
        } catch (IOException full) {
            // refused
        }
        HealthCheck.Result down = w.healthCheck().call();
        assertEquals(HealthCheck.State.DOWN, down.getState());
        assertTrue(down.getMessage().orElse("").contains("full"), down.getMessage().toString());
    }

    @Test
    void aBatchTakenLeavesTheSpoolCount() throws IOException {
        SinkWatch w = watch("", Instant.now());
        spool.append("{\"api\":\"graph\",\"n\":1}");
        spool.append("{\"api\":\"graph\",\"n\":2}");
        assertEquals(2, spool.pendingRecords());
        w.delivered("{\"api\":\"graph\",\"n\":1}\n");
        w.deadLettered("{\"api\":\"graph\",\"n\":2}\n");
        assertEquals(0, spool.pendingRecords());
        try (var files = Files.list(dir)) {
            assertTrue(files.findAny().isPresent(), "the files themselves are the delivery route's to delete");
        }
    }
}
