package org.m365trace.sinks;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.AuthenticationException;

/**
 * The Kafka sink's producer, made anew after the broker refused its credentials ({@link AuthenticationException}: a
 * wrong SASL password, a user not yet known to the broker, a TLS handshake refused). Kafka's idempotent producer does
 * not recover from that: once the broker accepts the credentials, it still lets every record time out, so the spool
 * would wait until a restart. The batch that failed stays in the spool; it is sent again, after the sink's pause, by a
 * new producer (whose secrets are read again, so a corrected secret file is taken too).
 * <p>
 * At most one new producer per {@link #RENEW_EVERY}: the records of a batch that follow the refusal fail at once on
 * the refused producer, so that one delivery attempt makes one login, not one per record (an account that locks after
 * failed logins stays usable). Kafka calls back on its I/O thread, which the old producer's close waits for: the
 * callback takes no lock, and the old producer is closed outside the one that guards the swap.
 */
final class RenewedProducer implements Producer<Object, Object> {

    /** The shortest time between two new producers: less than the sink's pause between two delivery attempts. */
    static final Duration RENEW_EVERY = Duration.ofSeconds(1);

    private final Supplier<Producer<Object, Object>> factory;
    private volatile Producer<Object, Object> producer;
    private final AtomicReference<Producer<Object, Object>> refused = new AtomicReference<>();
    private long renewedAt;

    RenewedProducer(Supplier<Producer<Object, Object>> factory) {
        this.factory = factory;
        this.producer = factory.get();
        this.renewedAt = System.nanoTime() - RENEW_EVERY.toNanos();
    }

    /** The producer to send with: a new one when the broker refused the current one's credentials (once a second at most). */
    private Producer<Object, Object> producer() {
        Producer<Object, Object> old;
        Producer<Object, Object> fresh;
        synchronized (this) {
            old = producer;
            long now = System.nanoTime();
            if (refused.get() != old || now - renewedAt < RENEW_EVERY.toNanos()) {
                return old;
            }
            renewedAt = now;
            fresh = factory.get();
            producer = fresh;
        }
        old.close(Duration.ZERO);      // its records failed or time out: they are in the spool still
        return fresh;
    }

    @Override
    public Future<RecordMetadata> send(ProducerRecord<Object, Object> record, Callback callback) {
        Producer<Object, Object> p = producer();
        return p.send(record, (metadata, e) -> {
            if (e instanceof AuthenticationException) {
                refused.set(p);
            }
            if (callback != null) {
                callback.onCompletion(metadata, e);
            }
        });
    }

    @Override
    public Future<RecordMetadata> send(ProducerRecord<Object, Object> record) {
        return send(record, null);
    }

    @Override
    public void flush() {
        producer().flush();
    }

    @Override
    public List<PartitionInfo> partitionsFor(String topic) {
        return producer().partitionsFor(topic);
    }

    @Override
    public Map<MetricName, ? extends Metric> metrics() {
        return producer().metrics();
    }

    @Override
    public Uuid clientInstanceId(Duration timeout) {
        return producer().clientInstanceId(timeout);
    }

    @Override
    public synchronized void close() {
        producer.close();
    }

    @Override
    public synchronized void close(Duration timeout) {
        producer.close(timeout);
    }

    // the sink sends no transactions
    @Override
    public void initTransactions() {
        throw new UnsupportedOperationException();
    }

    @Override
    public void beginTransaction() {
        throw new UnsupportedOperationException();
    }

    @Override
    @Deprecated
    public void sendOffsetsToTransaction(Map<TopicPartition, OffsetAndMetadata> offsets, String consumerGroupId) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void sendOffsetsToTransaction(Map<TopicPartition, OffsetAndMetadata> offsets, ConsumerGroupMetadata groupMetadata) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void commitTransaction() {
        throw new UnsupportedOperationException();
    }

    @Override
    public void abortTransaction() {
        throw new UnsupportedOperationException();
    }
}
