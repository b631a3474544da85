package org.m365trace.sinks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
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
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.InvalidTimestampException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.NotEnoughReplicasException;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
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
        records.forEach(m -> assertNotSame(exchange, m.getExchange(), "each record's failure is its own"));
        assertEquals(List.of(), exchange.getVariable(KafkaRecords.UNSENDABLE));
    }

    @Test
    void a_line_that_is_not_a_json_record_is_a_dead_letter_and_the_rest_of_the_batch_is_delivered() throws Exception {
        Spool spool = spool();
        Path batch = batch(spool, NORMALIZED, "{\"messageTraceId\":\"cut short", "42", ECS);
        KafkaRecords kafka = kafka(spool);
        Exchange exchange = new DefaultExchange(context);
        exchange.getMessage().setBody(spool.read(batch.toString()));

        List<Message> records = kafka.records(exchange);
        assertEquals(List.of(NORMALIZED, ECS), records.stream().map(m -> m.getBody(String.class)).toList(), "only records are sent");
        records.forEach(r -> ack(r, 3));
        KafkaRecords.Sent sent = kafka.sent(records, exchange.getVariable(KafkaRecords.UNSENDABLE, List.class), null);

        assertEquals("{\"messageTraceId\":\"cut short\n42\n", sent.getDeadLetters());
        assertTrue(sent.getReason().startsWith("the kafka sink refused 2 of 4 records for good: not a JSON record: "), sent.getReason());
        assertTrue(sent.getReason().contains("not an object"), sent.getReason());
        assertEquals(NORMALIZED + "\n" + ECS + "\n", sent.getDelivered());
        assertEquals(List.of(), sent.getRetry());
        kafka.settle(sent, batch.toString());       // returns: the file consumer deletes the batch
        assertEquals(0, spool.pendingRecords(), "the spool moves on");
        assertTrue(kafka.deadLetterName(batch.getFileName().toString(), sent).matches("\\d{13}-\\d{6}-refused-[\\w-]{12}\\.ndjson"));
    }

    @Test
    void only_a_record_with_an_offset_was_acknowledged() {
        Exchange exchange = new DefaultExchange(context);
        Message none = exchange.getMessage();
        Message taken = record(new DefaultExchange(context), "a", 42);
        Message failed = record(new DefaultExchange(context), "b", -1);     // Kafka's metadata of a failed send: no offset
        assertFalse(KafkaRecords.acknowledged(none));
        assertTrue(KafkaRecords.acknowledged(taken));
        assertFalse(KafkaRecords.acknowledged(failed));
    }

    @Test
    void only_a_failure_of_the_record_itself_is_for_good() {
        assertTrue(KafkaRecords.refusedForGood(new RecordTooLargeException("The request included a message larger than the max message size")));
        assertTrue(KafkaRecords.refusedForGood(new InvalidRecordException("compacted topic without key")));
        assertTrue(KafkaRecords.refusedForGood(new InvalidTimestampException("out of range")));
        assertTrue(KafkaRecords.refusedForGood(new KafkaException("wrapped", new RecordTooLargeException("too large"))));
        // the same for every record, or passing: the batch is sent again
        assertFalse(KafkaRecords.refusedForGood(null));
        assertFalse(KafkaRecords.refusedForGood(new TimeoutException("Expiring 2 record(s)")));
        assertFalse(KafkaRecords.refusedForGood(new NotEnoughReplicasException("too few in-sync replicas")));
        assertFalse(KafkaRecords.refusedForGood(new InvalidTopicException("bad topic")));
        assertFalse(KafkaRecords.refusedForGood(new TopicAuthorizationException("Not authorized to access topics: [t]")));
        assertFalse(KafkaRecords.refusedForGood(new ClusterAuthorizationException("idempotent write")));
        assertFalse(KafkaRecords.refusedForGood(new RecordBatchTooLargeException("a batch of several records")));
        assertFalse(KafkaRecords.refusedForGood(new KafkaException("Failed to append record because it was part of a batch which had one more more invalid records")));
    }

    @Test
    void a_record_refused_for_good_is_a_dead_letter_the_taken_leave_the_batch_and_the_rest_is_sent_again() throws Exception {
        Spool spool = spool();
        Path batch = batch(spool, "a", "b", "c");
        KafkaRecords kafka = kafka(spool);
        NotEnoughReplicasException retriable = new NotEnoughReplicasException("too few in-sync replicas");
        Message a = record(new DefaultExchange(context), "a", 7);
        Message b = failed(record(new DefaultExchange(context), "b", -1), new RecordTooLargeException("The request included a message larger than the max message size the server will accept."));
        b.setHeader(KafkaConstants.KEY, "id-b|bob@contoso.com|Delivered");
        Message c = failed(record(new DefaultExchange(context), "c", -1), retriable);

        KafkaRecords.Sent sent = kafka.sent(List.of(a, b, c), List.of(), new IllegalStateException("the batch's: whichever came last"));
        assertEquals("a\n", sent.getDelivered());
        assertEquals("b\n", sent.getDeadLetters());
        assertEquals("the kafka sink refused 1 of 3 records for good: RecordTooLargeException: The request included a message"
                + " larger than the max message size the server will accept. (1 record, key id-b|bob@contoso.com|Delivered)", sent.getReason());
        assertEquals(List.of("c"), sent.getRetry());
        Exception thrown = assertThrows(Exception.class, () -> kafka.settle(sent, batch.toString()));
        assertSame(retriable, thrown, "the failure of a record sent again: logged once per episode, the batch delivered again");
        assertEquals("c\n", Files.readString(batch, StandardCharsets.UTF_8), "only what is to be sent again stays");
        assertEquals(1, spool.pendingRecords(), "a and b left the spool");
    }

    @Test
    void after_a_failed_send_the_taken_records_leave_the_batch_and_the_rest_stays() throws Exception {
        Spool spool = spool();
        Path batch = batch(spool, "a", "b", "c");
        KafkaRecords kafka = kafka(spool);
        TimeoutException failure = new TimeoutException("Expiring 2 record(s)");

        KafkaRecords.Sent sent = kafka.sent(List.of(record(new DefaultExchange(context), "a", 7),
                failed(record(new DefaultExchange(context), "b", -1), failure),
                unanswered("c")), List.of(), failure);
        Exception thrown = assertThrows(Exception.class, () -> kafka.settle(sent, batch.toString()));
        assertSame(failure, thrown, "the send's own failure: logged once per episode, the batch delivered again");
        assertEquals("b\nc\n", Files.readString(batch, StandardCharsets.UTF_8), "only what the broker did not take is sent again");
        assertEquals(2, spool.pendingRecords(), "a left the spool");
    }

    @Test
    void nothing_taken_leaves_the_batch_as_it_is() throws Exception {
        Spool spool = spool();
        Path batch = batch(spool, "a");
        KafkaRecords kafka = kafka(spool);
        Message a = record(new DefaultExchange(context), "a", -1);      // no answer of its own: the send's failure
        TimeoutException away = new TimeoutException("broker away");
        assertThrows(TimeoutException.class, () -> kafka.settle(kafka.sent(List.of(a), null, away), batch.toString()));
        assertEquals("a\n", Files.readString(batch, StandardCharsets.UTF_8));
        assertEquals(1, spool.pendingRecords());
    }

    @Test
    void every_record_taken_after_all_is_a_delivered_batch() throws Exception {
        Spool spool = spool();
        Path batch = batch(spool, "a", "b");
        KafkaRecords kafka = kafka(spool);
        KafkaRecords.Sent sent = kafka.sent(List.of(record(new DefaultExchange(context), "a", 1), record(new DefaultExchange(context), "b", 2)),
                List.of(), new IllegalStateException("late"));
        kafka.settle(sent, batch.toString());
        assertEquals(0, spool.pendingRecords());
        assertEquals("", sent.getDeadLetters());
    }

    private KafkaRecords kafka(Spool spool) {
        SinkWatch watch = new SinkWatch();
        watch.setSink("kafka");
        watch.setSpool(spool);
        KafkaRecords kafka = new KafkaRecords();
        kafka.setSpool(spool);
        kafka.setWatch(watch);
        return kafka;
    }

    /** A record the producer never answered for (the send failed before it): no metadata, no failure of its own. */
    private Message unanswered(String body) {
        Message m = new DefaultExchange(context).getMessage();
        m.setBody(body);
        return m;
    }

    private static Message failed(Message record, Exception failure) {
        record.getExchange().setException(failure);
        return record;
    }

    private static void ack(Message record, long offset) {
        record.setHeader(KafkaConstants.KAFKA_RECORD_META, List.of(new RecordMetadata(new TopicPartition("t", 0), offset, 0, 0L, 0, 0)));
    }

    private Spool spool() {
        Spool spool = new Spool();
        spool.setDir(dir.toString());
        spool.setSink("kafka");
        spool.setBatchSize(100);
        return spool;
    }

    /** A sealed batch of these lines in the spool. */
    private Path batch(Spool spool, String... lines) throws IOException {
        for (String line : lines) {
            spool.append(line);
        }
        spool.seal();
        return sealed();
    }

    private Path sealed() throws IOException {
        try (var files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().matches("\\d.*\\.ndjson")).findFirst().orElseThrow();
        }
    }

    private static Message record(Exchange exchange, String body, long offset) {
        Message m = exchange.getMessage();
        m.setBody(body);
        ack(m, offset);
        return m;
    }
}
