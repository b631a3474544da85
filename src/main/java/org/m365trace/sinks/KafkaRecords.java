package org.m365trace.sinks;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.camel.support.DefaultExchange;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.errors.InvalidTimestampException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SerializationException;

/**
 * A Kafka sink batch as camel-kafka sends it, and what the broker made of each of its records.
 * <p>
 * {@link #records} turns a sealed spool batch (one document a line, in {@code trace.kafka.schema}) into one message per
 * record, keyed by the record's dedupe key ({@code messageTraceId|recipientAddress|status}, {@link DocumentId#key}). A
 * line that is not a JSON record (a spool file damaged on disk) has no key and is not sent: it is kept aside as a dead
 * letter. camel-kafka sends a list body as one record each, all at once, and sets on each message the record's
 * metadata ({@code kafka.RECORD_META}) once the broker answered for it, and the record's own failure on the message's
 * exchange; each message has an exchange of its own for that, while the batch's exchange fails when any record was not
 * taken.
 * <p>
 * {@link #sent} then sorts the batch: the records the broker acknowledged (with {@code acks=all}, on every in-sync
 * replica) are delivered; a record refused for a reason of its own that asking again cannot change (larger than the
 * topic's {@code max.message.bytes}, refused by the broker's record validation, a timestamp out of the topic's range:
 * {@link #refusedForGood}) is a dead letter with that reason, like the HTTP sink's 4xx; any other failure (the broker
 * away, a time-out, too few in-sync replicas, the topic missing or not authorised: the same for every record) leaves the
 * record in the batch, which is sent again after a pause. {@link #settle} takes the delivered and dead-lettered records
 * off the batch file. So a poison record does not hold the spool up, and a broker outage doubles nothing that was
 * acknowledged. A record is sent again only when its acknowledgement was not seen: the batch in flight when the
 * forwarder itself stops abruptly, or a record the broker wrote but could not answer for within
 * {@code trace.kafka.deliveryTimeout}; it keeps its key (docs/output.md, "Kafka").
 */
public class KafkaRecords {

    /** Variable of the delivery exchange: the lines of its batch that are not JSON records, each with why. */
    static final String UNSENDABLE = "kafkaUnsendable";
    /** Keys named in a dead letter's reason per kind of refusal, at most. */
    private static final int KEYS_NAMED = 5;

    private Spool spool;
    private SinkWatch watch;

    /**
     * The records of the batch in the body, one message each with its key and an exchange of its own, for
     * camel-kafka's list body. Lines that are not JSON records are left out, kept in the variable {@link #UNSENDABLE}.
     */
    public List<Message> records(Exchange exchange) {
        String batch = exchange.getMessage().getBody(String.class);
        List<Message> records = new ArrayList<>();
        List<Refused> unsendable = new ArrayList<>();
        batch.lines().filter(line -> !line.isBlank()).forEach(line -> {
            String key;
            try {
                key = key(line);
            } catch (RuntimeException e) {
                unsendable.add(new Refused(line, null, "not a JSON record: " + firstLine(e.getMessage())));
                return;
            }
            // its own exchange: camel-kafka sets the record's failure on it (and the batch's failure on the batch's)
            Message record = new DefaultExchange(exchange.getContext()).getMessage();
            record.setBody(line);
            record.setHeader(KafkaConstants.KEY, key);
            records.add(record);
        });
        exchange.setVariable(UNSENDABLE, unsendable);
        return records;
    }

    /** The message key of a document of any schema: the source's dedupe key of its record. */
    static String key(String document) {
        var json = SinkSchema.read(document);
        if (!json.isObject()) {
            throw new IllegalArgumentException("a JSON " + json.getNodeType().name().toLowerCase() + ", not an object");
        }
        return DocumentId.key(json);
    }

    /**
     * What became of each record of a batch sent (or not sent, when {@code failure} is not null) to the broker, with
     * the lines that could not be sent at all ({@link #UNSENDABLE}).
     */
    public Sent sent(List<?> records, List<?> unsendable, Exception failure) {
        Sent sent = new Sent();
        List<Refused> refused = new ArrayList<>();
        if (unsendable != null) {
            unsendable.forEach(u -> refused.add((Refused) u));
        }
        StringBuilder delivered = new StringBuilder();
        for (Object r : records) {
            Message record = (Message) r;
            String line = record.getBody(String.class);
            Exception own = record.getExchange() == null ? null : record.getExchange().getException();
            if (acknowledged(record)) {
                delivered.append(line).append('\n');
            } else if (refusedForGood(own)) {
                refused.add(new Refused(line, record.getHeader(KafkaConstants.KEY, String.class),
                        own.getClass().getSimpleName() + ": " + firstLine(own.getMessage())));
            } else {
                sent.retry.add(line);
                if (sent.failure == null && own != null) {
                    sent.failure = own;
                }
            }
        }
        if (!sent.retry.isEmpty() && sent.failure == null) {
            sent.failure = failure != null ? failure
                    : new IllegalStateException("the Kafka producer did not answer for " + sent.retry.size() + " records");
        }
        sent.delivered = delivered.toString();
        StringBuilder dead = new StringBuilder();
        refused.forEach(d -> dead.append(d.line).append('\n'));
        sent.deadLetters = dead.toString();
        sent.reason = refused.isEmpty() ? "" : reason(refused, records.size() + (unsendable == null ? 0 : unsendable.size()));
        return sent;
    }

    /**
     * Whether a record's failure is its own and final: sending it again would fail the same way. Anything else (a
     * broker away, a time-out, NotEnoughReplicas, an unknown or unauthorised topic, a fenced producer) is retried with
     * the batch.
     */
    static boolean refusedForGood(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof RecordTooLargeException || t instanceof InvalidRecordException
                    || t instanceof InvalidTimestampException || t instanceof SerializationException) {
                return true;
            }
        }
        return false;
    }

    /** One line for the dead letter's reason file and the WARN line: the refusals by kind, with the keys they hit. */
    private static String reason(List<Refused> refused, int total) {
        Map<String, List<Refused>> byKind = new LinkedHashMap<>();
        refused.forEach(r -> byKind.computeIfAbsent(r.why, w -> new ArrayList<>()).add(r));
        StringBuilder text = new StringBuilder("the kafka sink refused " + refused.size() + " of " + total + " records for good: ");
        String separator = "";
        for (Map.Entry<String, List<Refused>> kind : byKind.entrySet()) {
            List<String> keys = kind.getValue().stream().filter(r -> r.key != null).map(r -> r.key).limit(KEYS_NAMED).toList();
            text.append(separator).append(kind.getKey()).append(" (").append(kind.getValue().size())
                    .append(kind.getValue().size() == 1 ? " record" : " records")
                    .append(keys.isEmpty() ? "" : ", key " + String.join(", ", keys)
                            + (kind.getValue().size() > keys.size() ? ", ..." : ""))
                    .append(')');
            separator = "; ";
        }
        return text.toString();
    }

    /**
     * Settles a batch after its send: what the broker took and what became dead letters leave the batch file
     * {@code batchFile} (and the spool's count); what is left stays in the file, and the send's failure is thrown so that
     * the delivery route leaves it in the spool and sends it again after a pause. Returns normally when nothing is
     * left: the file consumer then deletes the batch.
     */
    public void settle(Sent sent, String batchFile) throws Exception {
        if (!sent.retry.isEmpty() && (!sent.delivered.isEmpty() || !sent.deadLetters.isEmpty())) {
            spool.retain(batchFile, sent.retry);
        }
        if (!sent.delivered.isEmpty()) {
            watch.delivered(sent.delivered.getBytes(StandardCharsets.UTF_8));
        }
        if (!sent.deadLetters.isEmpty()) {
            watch.deadLettered(sent.deadLetters.getBytes(StandardCharsets.UTF_8));
        }
        if (!sent.retry.isEmpty()) {
            throw sent.failure;
        }
    }

    /** The dead letter's file name: the batch's own when all of it was refused, else one per set of refused records. */
    public String deadLetterName(String batchName, Sent sent) {
        if (sent.delivered.isEmpty() && sent.retry.isEmpty()) {
            return batchName;
        }
        return batchName.replaceFirst("\\.ndjson$", "") + "-refused-" + DocumentId.digest(sent.deadLetters).substring(0, 12) + ".ndjson";
    }

    /** Whether the broker acknowledged a message's record: its metadata has an offset (a failed one has none). */
    static boolean acknowledged(Message record) {
        return record.getHeader(KafkaConstants.KAFKA_RECORD_META) instanceof List<?> meta && !meta.isEmpty()
                && meta.get(0) instanceof RecordMetadata m && m.hasOffset();
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return (nl < 0 ? s : s.substring(0, nl)).trim();
    }

    /** A line that is not sent: its record's key (null when it has none) and why. */
    record Refused(String line, String key, String why) {
    }

    /** What became of a batch's records: delivered, dead letters (with their reason), or to be sent again. */
    public static final class Sent {
        private String delivered = "";
        private String deadLetters = "";
        private String reason = "";
        private final List<String> retry = new ArrayList<>();
        private Exception failure;

        /** The records the broker acknowledged, one a line. */
        public String getDelivered() {
            return delivered;
        }

        /** The records refused for good, one a line, as spooled. */
        public String getDeadLetters() {
            return deadLetters;
        }

        public String getReason() {
            return reason;
        }

        /** The records to send again. */
        public List<String> getRetry() {
            return retry;
        }

        @Override
        public String toString() {
            return "kafka batch: " + Spool.lines(delivered) + " delivered, " + Spool.lines(deadLetters) + " dead letters, "
                    + retry.size() + " to send again";
        }
    }

    public void setSpool(Spool spool) {
        this.spool = spool;
    }

    public void setWatch(SinkWatch watch) {
        this.watch = watch;
    }
}
