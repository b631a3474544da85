package org.m365trace.sinks;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
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
import org.apache.kafka.common.errors.ClusterAuthorizationException;

/**
 * The Kafka sink's producer, made anew after the broker refused its credentials ({@link AuthenticationException}: a
 * wrong SASL password, a user not yet known to the broker, a TLS handshake refused), or refused it the idempotent
 * producer's cluster permission ({@link ClusterAuthorizationException}, IDEMPOTENT_WRITE on an older broker's ACLs).
 * Kafka's idempotent producer does not recover from either: once the broker accepts the credentials, it still lets every record time out, so the spool
 * would wait until a restart. The batch that failed stays in the spool; it is sent again, after the sink's pause, by a
 * new producer (whose secrets are read again, so a corrected secret file is taken too).
 */
final class RenewedProducer implements Producer<Object, Object> {

    private final Supplier<Producer<Object, Object>> factory;
    private Producer<Object, Object> producer;
    private Producer<Object, Object> refused;

    RenewedProducer(Supplier<Producer<Object, Object>> factory) {
        this.factory = factory;
        this.producer = factory.get();
    }

    /** The producer to send with: a new one when the broker refused the current one's credentials. */
    private synchronized Producer<Object, Object> producer() {
        if (refused == producer) {
            producer.close(Duration.ZERO);      // its records failed or time out: they are in the spool still
            producer = factory.get();
        }
        return producer;
    }

    private synchronized void refused(Producer<Object, Object> p) {
        refused = p;
    }

    @Override
    public Future<RecordMetadata> send(ProducerRecord<Object, Object> record, Callback callback) {
        Producer<Object, Object> p = producer();
        return p.send(record, (metadata, e) -> {
            if (e instanceof AuthenticationException || e instanceof ClusterAuthorizationException) {
                refused(p);
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
