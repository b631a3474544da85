package org.m365trace.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import org.apache.camel.health.HealthCheck;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.m365trace.sinks.DocumentId;
import org.m365trace.sinks.SinkWatch;
import org.m365trace.sinks.Spool;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The real route files against the simulated Microsoft Graph and a real Kafka broker ({@link KafkaBroker}): every row
 * reaches the topic once, keyed by its dedupe key, in trace.kafka.schema (ecs here), and the producer's secret is
 * never logged.
 */
class KafkaSinkIT extends SimulatorTestSupport {

    static final String JAAS_SECRET = "K4fka-S3cret-Not-Logged";
    static final String TOPIC = "m365-trace-sink-it";

    KafkaBroker broker;

    @Override
    protected Properties settings() {
        api = Fixtures.seededSimulator(60);
        Properties p = Fixtures.oneWindow(Fixtures.graphProperties(api, tmp), api, 3);
        broker = Fixtures.unchecked(KafkaBroker::shared);
        Fixtures.unchecked(() -> broker.sinkTo(p, TOPIC, 3));
        p.put("trace.kafka.schema", "ecs");
        // a secret of the producer: given to it, never logged (PLAINTEXT does not use it)
        p.put("trace.kafka.saslJaasConfig",
                "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"trace\" password=\"" + JAAS_SECRET + "\";");
        return p;
    }

    @Test
    void every_row_reaches_the_topic_once_keyed_by_its_dedupe_key() throws Exception {
        Set<String> expected = api.currentKeys();
        assertTrue(expected.size() > 60, "the seeded mail has more than one recipient per message");
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertEquals(expected, keys(broker.records(TOPIC))));
        List<ConsumerRecord<String, String>> records = broker.records(TOPIC);
        assertEquals(expected.size(), records.size(), "none twice");
        for (ConsumerRecord<String, String> r : records) {
            JsonNode doc = Sinks.MAPPER.readTree(r.value());
            JsonNode trace = doc.path("m365").path("message_trace");
            assertTrue(doc.has("@timestamp") && trace.isObject(), "an ECS document: " + r.value());
            assertEquals(trace.get("messageTraceId").asText() + "|" + trace.get("recipientAddress").asText() + "|"
                    + trace.get("status").asText(), r.key(), "the key is the record's dedupe key");
            assertEquals(DocumentId.key(doc), r.key());
            assertFalse(r.headers().iterator().hasNext(), "no Camel headers on the records");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> spool().pendingRecords() == 0);
        assertEquals(HealthCheck.State.UP, health().getState());
        assertFalse(String.join("\n", logs.lines()).contains(JAAS_SECRET), "the JAAS secret reached the log");
    }

    private Spool spool() {
        return context.getRegistry().lookupByNameAndType("kafkaSpool", Spool.class);
    }

    private HealthCheck.Result health() {
        return context.getRegistry().lookupByNameAndType("kafkaWatch", SinkWatch.class).healthCheck().call(Map.of());
    }

    static Set<String> keys(List<ConsumerRecord<String, String>> records) {
        Set<String> keys = new HashSet<>();
        records.forEach(r -> keys.add(r.key()));
        return keys;
    }
}
