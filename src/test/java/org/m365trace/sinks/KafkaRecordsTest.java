package org.m365trace.sinks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KafkaRecordsTest {

    static final String NORMALIZED = "{\"messageTraceId\":\"3f2c1a7e-5b4d-4e8a-9c61-08de5a1b2c01\",\"received\":\"2026-11-20T08:57:12.000Z\","
            + "\"recipientAddress\":\"alice@contoso.com\",\"status\":\"Delivered\",\"api\":\"graph\"}";
    static final String ECS = "{\"@timestamp\":\"2026-11-20T08:57:12.000Z\",\"m365\":{\"message_trace\":{\"messageTraceId\":"
            + "\"5a6b7c8d-9e0f-4a1b-8c2d-08df2e3f4a01\",\"recipientAddress\":\"bob@contoso.com\",\"status\":\"Pending\"}}}";
    static final String RAW_RWS = "{\"MessageTraceId\":\"c4d5e6f7-2a3b-4c5d-9e8f-08de5a1b2c03\",\"RecipientAddress\":\"carol@contoso.com\","
            + "\"Status\":\"FilteredAsSpam\",\"api\":\"reporting\"}";

    @TempDir
    Path dir;

    final CamelContext context = new DefaultCamelContext();

    @AfterEach
    void close() throws Exception {
        context.close();
    }

    @Test
    void one_message_per_record_keyed_by_its_dedupe_key_in_any_schema() {
        Exchange exchange = new DefaultExchange(context);
        exchange.getMessage().setBody(NORMALIZED + "\n" + ECS + "\n\n" + RAW_RWS + "\n");
        List<Message> records = new KafkaRecords().records(exchange);
        assertEquals(3, records.size(), "blank lines are no records");
        assertEquals(List.of(NORMALIZED, ECS, RAW_RWS), records.stream().map(m -> m.getBody(String.class)).toList(), "as spooled");
        assertEquals(List.of("3f2c1a7e-5b4d-4e8a-9c61-08de5a1b2c01|alice@contoso.com|Delivered",
                        "5a6b7c8d-9e0f-4a1b-8c2d-08df2e3f4a01|bob@contoso.com|Pending",
                        "c4d5e6f7-2a3b-4c5d-9e8f-08de5a1b2c03|carol@contoso.com|FilteredAsSpam"),
                records.stream().map(m -> m.getHeader(KafkaConstants.KEY, String.class)).toList());
        records.forEach(m -> assertSame(exchange, m.getExchange(), "a failure of one record fails the batch's exchange"));
    }

    @Test
    void only_a_record_with_an_offset_was_acknowledged() {
        Exchange exchange = new DefaultExchange(context);
        Message none = exchange.getMessage();
        Message taken = record(exchange, "a", 42);
        Message failed = record(exchange, "b", -1);     // Kafka's metadata of a failed send: no offset
        assertFalse(KafkaRecords.acknowledged(none));
        assertTrue(KafkaRecords.acknowledged(taken));
        assertFalse(KafkaRecords.acknowledged(failed));
    }

    @Test
    void after_a_failed_send_the_taken_records_leave_the_batch_and_the_rest_stays() throws Exception {
        Spool spool = spool();
        spool.append("a");
        spool.append("b");
        spool.append("c");
        spool.seal();
        Path batch = sealed();
        SinkWatch watch = new SinkWatch();
        watch.setSink("kafka");
        watch.setSpool(spool);
        KafkaRecords kafka = new KafkaRecords();
        kafka.setSpool(spool);
        kafka.setWatch(watch);
        Exchange exchange = new DefaultExchange(context);
        TimeoutException failure = new TimeoutException("Expiring 2 record(s)");

        Exception thrown = assertThrows(Exception.class, () -> kafka.unacknowledged(List.of(record(exchange, "a", 7),
                record(exchange, "b", -1), new org.apache.camel.support.DefaultMessage(exchange) {{ setBody("c"); }}),
                batch.toString(), failure));
        assertSame(failure, thrown, "the send's own failure: logged once per episode, the batch delivered again");
        assertEquals("b\nc\n", Files.readString(batch, StandardCharsets.UTF_8), "only what the broker did not take is sent again");
        assertEquals(2, spool.pendingRecords(), "a left the spool");
    }

    @Test
    void nothing_taken_leaves_the_batch_as_it_is() throws Exception {
        Spool spool = spool();
        spool.append("a");
        spool.seal();
        Path batch = sealed();
        KafkaRecords kafka = new KafkaRecords();
        kafka.setSpool(spool);
        Exchange exchange = new DefaultExchange(context);
        assertThrows(TimeoutException.class, () -> kafka.unacknowledged(List.of(record(exchange, "a", -1)), batch.toString(),
                new TimeoutException("broker away")));
        assertEquals("a\n", Files.readString(batch, StandardCharsets.UTF_8));
        assertEquals(1, spool.pendingRecords());
    }

    @Test
    void every_record_taken_after_all_is_a_delivered_batch() throws Exception {
        KafkaRecords kafka = new KafkaRecords();
        Exchange exchange = new DefaultExchange(context);
        kafka.unacknowledged(List.of(record(exchange, "a", 1), record(exchange, "b", 2)), dir.resolve("gone.ndjson").toString(),
                new IllegalStateException("late"));
    }

    @Test
    void a_send_that_did_not_fail_is_left_alone() throws Exception {
        KafkaRecords kafka = new KafkaRecords();
        Exchange exchange = new DefaultExchange(context);
        // called after the send's doTry on every batch: without a failure it touches nothing (the batch file is gone)
        kafka.unacknowledged(List.of(record(exchange, "a", -1)), dir.resolve("gone.ndjson").toString(), null);
    }

    private Spool spool() {
        Spool spool = new Spool();
        spool.setDir(dir.toString());
        spool.setSink("kafka");
        spool.setBatchSize(100);
        return spool;
    }

    private Path sealed() throws IOException {
        try (var files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().matches("\\d.*\\.ndjson")).findFirst().orElseThrow();
        }
    }

    private static Message record(Exchange exchange, String body, long offset) {
        Message m = new org.apache.camel.support.DefaultMessage(exchange);
        m.setBody(body);
        m.setHeader(KafkaConstants.KAFKA_RECORD_META, List.of(new RecordMetadata(new TopicPartition("t", 0), offset, 0, 0L, 0, 0)));
        return m;
    }
}
