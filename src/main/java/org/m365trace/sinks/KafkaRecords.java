package org.m365trace.sinks;

import java.util.ArrayList;
import java.util.List;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.camel.support.DefaultMessage;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * A Kafka sink batch as camel-kafka sends it, and what the broker took of it.
 * <p>
 * {@link #records} turns a sealed spool batch (one document a line, in {@code trace.kafka.schema}) into one message per
 * record, keyed by the record's dedupe key ({@code messageTraceId|recipientAddress|status}, {@link DocumentId#key}).
 * camel-kafka sends a list body as one record each, all at once, and sets on each message the record's metadata
 * ({@code kafka.RECORD_META}) once the broker answered for it; the exchange goes on when every record was answered, and
 * fails when any was not taken. Only then does the batch leave the spool: with {@code acks=all}, each record is on every
 * in-sync replica.
 * <p>
 * {@link #unacknowledged} handles a failed send: the records the broker did take count as delivered and leave the
 * batch file, the others stay in it and are sent again. So a broker outage doubles nothing that was acknowledged. A
 * record is sent again only when its acknowledgement was not seen: the batch in flight when the forwarder itself stops
 * abruptly, or a record the broker wrote but could not answer for within {@code trace.kafka.deliveryTimeout}; it keeps
 * its key (docs/output.md, "Kafka").
 */
public class KafkaRecords {

    private Spool spool;
    private SinkWatch watch;

    /** The records of the batch in the body, one message each with its key, for camel-kafka's list body. */
    public List<Message> records(Exchange exchange) {
        String batch = exchange.getMessage().getBody(String.class);
        List<Message> records = new ArrayList<>();
        batch.lines().filter(line -> !line.isBlank()).forEach(line -> {
            Message record = new DefaultMessage(exchange);
            record.setBody(line);
            record.setHeader(KafkaConstants.KEY, key(line));
            records.add(record);
        });
        return records;
    }

    /** The message key of a document of any schema: the source's dedupe key of its record. */
    static String key(String document) {
        return DocumentId.key(SinkSchema.read(document));
    }

    /**
     * After a send that failed: the records the broker acknowledged are delivered (counted, and taken off the batch
     * file {@code batchFile}); the others stay in the file, which the delivery route leaves in the spool, failing with
     * {@code failure}. Returns normally when there was no failure ({@code failure} null) or every record was
     * acknowledged after all. Called after the send's doTry, not in its doCatch: a failure thrown there would bypass
     * the route's onException (sink-errors), which logs it and pauses the delivery.
     */
    public void unacknowledged(List<?> records, String batchFile, Exception failure) throws Exception {
        if (failure == null) {
            return;
        }
        List<String> taken = new ArrayList<>();
        List<String> left = new ArrayList<>();
        for (Object r : records) {
            Message record = (Message) r;
            (acknowledged(record) ? taken : left).add(record.getBody(String.class));
        }
        if (left.isEmpty()) {
            return;
        }
        if (!taken.isEmpty()) {
            spool.retain(batchFile, left);
            watch.delivered(String.join("\n", taken));
        }
        throw failure;
    }

    /** Whether the broker acknowledged a message's record: its metadata has an offset (a failed one has none). */
    static boolean acknowledged(Message record) {
        return record.getHeader(KafkaConstants.KAFKA_RECORD_META) instanceof List<?> meta && !meta.isEmpty()
                && meta.get(0) instanceof RecordMetadata m && m.hasOffset();
    }

    public void setSpool(Spool spool) {
        this.spool = spool;
    }

    public void setWatch(SinkWatch watch) {
        this.watch = watch;
    }
}
