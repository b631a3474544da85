package org.m365trace.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import org.apache.camel.health.HealthCheck;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.m365trace.sinks.SinkWatch;
import org.m365trace.sinks.Spool;
import org.m365trace.state.TraceCheckpoint;

/**
 * The Kafka broker ({@link KafkaBroker}) stops mid-run, longer than trace.kafka.deliveryTimeout, while the simulated
 * Microsoft Graph has new mail every second: the records wait in the Kafka spool (trace-sink-kafka DOWN, the failure
 * logged once) while the file sink goes on; once the broker is back, every record is in the topic, none twice.
 */
class KafkaBrokerRestartIT extends SimulatorTestSupport {

    static final String TOPIC = "m365-trace-restart-it";

    KafkaBroker broker;

    @Override
    protected Properties settings() {
        api = Fixtures.simulator(4);
        Properties p = Fixtures.graphProperties(api, tmp);
        broker = Fixtures.unchecked(KafkaBroker::shared);
        Fixtures.unchecked(() -> broker.sinkTo(p, TOPIC, 3));
        // short, so that the outage outlasts them: the batch in flight fails and is sent again, from the spool
        p.put("trace.kafka.requestTimeout", "2s");
        p.put("trace.kafka.deliveryTimeout", "3s");
        p.put("trace.kafka.maxBlock", "2s");
        p.put("trace.health.sinkBacklogFor", "1s");
        p.put("trace.pageSize", "100");
        p.put("trace.graph.budget", "100000");      // polls every second: no pacing of the simulated Graph
        return p;
    }

    @Test
    void a_broker_restart_loses_nothing_and_doubles_nothing() throws Exception {
        await().atMost(Duration.ofSeconds(30)).until(() -> broker.records(TOPIC).size() >= 10);
        int inTopic = broker.records(TOPIC).size();

        broker.stop();
        try {
            // the pages read meanwhile wait in the Kafka spool; the windows are committed and the file sink goes on
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                assertTrue(spool().pendingRecords() > 0, "records wait in the Kafka spool");
                assertTrue(sealedBatches() > 0, "as sealed batches");
                assertEquals(HealthCheck.State.DOWN, health().getState(), "trace-sink-kafka is DOWN after trace.health.sinkBacklogFor");
                assertTrue(Sinks.files(out()).size() > inTopic + 10, "the file sink goes on");
            });
            // the batch in flight waits in the producer until the broker is back (its idempotent producer needs the
            // broker before it lets records time out), or fails after trace.kafka.deliveryTimeout: logged once then
            assertTrue(logs.forwarder("WARN", "sink-kafka-deliver: delivery failed").size() <= 1, logs.forwarder("WARN").toString());
        } finally {
            broker.start();
        }
        api.stopTraffic();
        Instant last = Instant.now();
        TraceCheckpoint checkpoint = checkpoint();
        await().atMost(Duration.ofSeconds(40)).until(() -> {
            Instant cp = checkpoint.read();
            return cp != null && cp.isAfter(last.plusSeconds(3));
        });
        // every status the API served and every current one, asked again each time: a Pending row that becomes
        // Delivered after the traffic stopped is expected in both (as TenantsIT and ClusterIT expect)
        AtomicReference<Set<String>> expected = new AtomicReference<>();
        await().atMost(Duration.ofSeconds(40)).untilAsserted(() -> {
            Set<String> keys = new HashSet<>(api.servedKeys());
            keys.addAll(api.currentKeys());
            expected.set(keys);
            assertEquals(expected.get(), KafkaSinkIT.keys(broker.records(TOPIC)));
        });
        List<ConsumerRecord<String, String>> records = broker.records(TOPIC);
        assertEquals(expected.get().size(), records.size(), "none twice: " + duplicates(records));
        await().atMost(Duration.ofSeconds(10)).until(() -> spool().pendingRecords() == 0 && sealedBatches() == 0);
        assertEquals(HealthCheck.State.UP, health().getState());
        assertEquals(logs.forwarder("WARN", "sink-kafka-deliver: delivery failed").size(),
                logs.forwarder("INFO", "sink-kafka-deliver: works again").size(), "a failure episode ends in one line");
    }

    private Spool spool() {
        return context.getRegistry().lookupByNameAndType("kafkaSpool", Spool.class);
    }

    private HealthCheck.Result health() {
        return context.getRegistry().lookupByNameAndType("kafkaWatch", SinkWatch.class).healthCheck().call(Map.of());
    }

    private long sealedBatches() throws Exception {
        Path dir = tmp.resolve("state").resolve("spool").resolve("kafka");
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().matches("\\d.*\\.ndjson")).count();
        }
    }

    private static List<String> duplicates(List<ConsumerRecord<String, String>> records) {
        Set<String> seen = new HashSet<>();
        return records.stream().map(ConsumerRecord::key).filter(k -> !seen.add(k)).toList();
    }
}
