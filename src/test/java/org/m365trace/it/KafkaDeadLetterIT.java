package org.m365trace.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Stream;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.m365trace.Meters;
import org.m365trace.Replay;
import org.m365trace.sinks.Spool;

/**
 * A record the broker refuses for good does not hold the Kafka spool up: against a real broker whose topic takes at
 * most 16 KB a record, a trace row with a 40 KB subject becomes a dead letter with Kafka's reason, as does a spool line
 * that is not a JSON record (a damaged batch left by an earlier run); every other record reaches the topic once, the
 * spool empties, and the dead letters are there for a replay run like the other sinks'.
 */
class KafkaDeadLetterIT extends SimulatorTestSupport {

    static final String TOPIC = "m365-trace-dead-letter-it";
    /** A record of the damaged batch that is one: it is delivered, its unreadable neighbour is not. */
    static final String SPOOLED = "{\"messageTraceId\":\"0d0d0d0d-1111-4222-8333-444455556666\",\"received\":\"2026-11-20T08:57:12.000Z\","
            + "\"recipientAddress\":\"dave@contoso.com\",\"status\":\"Delivered\",\"api\":\"graph\"}";
    static final String SPOOLED_KEY = "0d0d0d0d-1111-4222-8333-444455556666|dave@contoso.com|Delivered";
    static final String DAMAGED = "{\"messageTraceId\":\"0e0e0e0e-cut";

    KafkaBroker broker;
    String largeKey;

    @Override
    protected Properties settings() {
        api = Fixtures.seededSimulator(40);
        largeKey = api.sendMessage(Instant.now().minusSeconds(120), "Large ".repeat(40 * 1024 / 6));
        Properties p = Fixtures.oneWindow(Fixtures.graphProperties(api, tmp), api, 3);
        broker = Fixtures.unchecked(KafkaBroker::shared);
        // the topic takes a record batch of at most 16 KB (the producer's batches are smaller: batch.size 16384)
        Fixtures.unchecked(() -> {
            broker.createTopic(TOPIC, 3, Map.of("max.message.bytes", String.valueOf(16 * 1024 + 512)));
            return null;
        });
        p.put("trace.kafka.enabled", "true");
        p.put("trace.kafka.bootstrapServers", broker.bootstrapServers());
        p.put("trace.kafka.topic", TOPIC);
        // a batch an earlier run left in the spool, damaged: one line is not a JSON record
        Fixtures.unchecked(() -> {
            Path spool = Files.createDirectories(tmp.resolve("state/spool/kafka"));
            return Files.writeString(spool.resolve("0000000000001-000000.ndjson"), DAMAGED + "\n" + SPOOLED + "\n", StandardCharsets.UTF_8);
        });
        return p;
    }

    @Test
    void a_record_refused_for_good_is_a_dead_letter_and_the_rest_reaches_the_topic_once() throws Exception {
        Set<String> expected = new HashSet<>(api.currentKeys());
        assertTrue(expected.remove(largeKey));
        expected.add(SPOOLED_KEY);
        Path deadLetters = tmp.resolve("state/deadletter/kafka");

        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            assertEquals(expected, KafkaSinkIT.keys(broker.records(TOPIC)));
            assertEquals(0, spool().pendingRecords(), "the spool moved on");
            assertEquals(List.of(), spoolFiles(), "no batch left in the spool");
            assertEquals(2, replay().deadLetters("kafka").size(), "both dead letters complete (with their reason)");
        });
        List<ConsumerRecord<String, String>> records = broker.records(TOPIC);
        assertEquals(expected.size(), records.size(), "none twice");

        String all = "";
        String reasons = "";
        for (Path letter : replay().deadLetters("kafka")) {
            all += Files.readString(letter, StandardCharsets.UTF_8);
            reasons += Files.readString(letter.resolveSibling(letter.getFileName() + ".reason"), StandardCharsets.UTF_8);
        }
        List<String> lines = all.lines().toList();
        assertEquals(2, lines.size(), all);
        assertTrue(lines.contains(DAMAGED), "the damaged line is kept as it was");
        assertTrue(lines.stream().anyMatch(l -> l.contains("Large Large") && l.length() > 40_000), "the large record is kept whole");
        assertTrue(reasons.contains("RecordTooLargeException") && reasons.contains(largeKey), reasons);
        assertTrue(reasons.contains("not a JSON record"), reasons);

        assertEquals(2.0, Meters.of(context).find("trace.dead.letters").tag("sink", "kafka").counters().stream()
                .mapToDouble(c -> c.count()).sum(), "counted as dead letters");
        long warnings = logs.lines().stream().filter(l -> l.contains("WARN") && l.contains("the kafka sink refused")).count();
        assertEquals(2, warnings, "one line per dead letter: " + logs.lines());
        assertTrue(Files.isDirectory(deadLetters));
    }

    private Spool spool() {
        return context.getRegistry().lookupByNameAndType("kafkaSpool", Spool.class);
    }

    private Replay replay() {
        return context.getRegistry().lookupByNameAndType("replay", Replay.class);
    }

    private List<Path> spoolFiles() throws IOException {
        try (Stream<Path> files = Files.list(tmp.resolve("state/spool/kafka"))) {
            return files.filter(f -> f.getFileName().toString().endsWith(".ndjson")).toList();
        }
    }
}
