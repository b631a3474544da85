package org.m365trace.sinks;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

class RenewedProducerTest {

    final List<MockProducer<Object, Object>> made = new ArrayList<>();

    RenewedProducer producer() {
        return new RenewedProducer(() -> {
            @SuppressWarnings({"unchecked", "rawtypes"})
            MockProducer<Object, Object> p = new MockProducer(false, new StringSerializer(), new StringSerializer());
            made.add(p);
            return p;
        });
    }

    @Test
    void credentials_the_broker_refused_give_a_new_producer_for_the_next_send() {
        RenewedProducer producer = producer();
        AtomicReference<Exception> failure = new AtomicReference<>();
        producer.send(new ProducerRecord<>("t", "k", "v"), (m, e) -> failure.set(e));
        made.get(0).errorNext(new SaslAuthenticationException("Authentication failed: Invalid username or password"));
        assertInstanceOf(SaslAuthenticationException.class, failure.get(), "the send's own callback hears of it");
        assertEquals(1, made.size(), "renewed at the next send, not from the callback");

        producer.send(new ProducerRecord<>("t", "k", "v"));
        assertEquals(2, made.size());
        assertTrue(made.get(0).closed(), "the refused one is closed");
        assertEquals(1, made.get(1).history().size(), "the new one sends");

        producer.send(new ProducerRecord<>("t", "k2", "v"));
        assertEquals(2, made.size(), "kept while it is not refused");
    }

    @Test
    void one_new_producer_per_delivery_attempt_not_one_per_record() {
        RenewedProducer producer = producer();
        producer.send(new ProducerRecord<>("t", "k1", "v"));
        made.get(0).errorNext(new SaslAuthenticationException("Authentication failed: Invalid username or password"));
        producer.send(new ProducerRecord<>("t", "k2", "v"));
        made.get(1).errorNext(new SaslAuthenticationException("Authentication failed: Invalid username or password"));
        // the rest of the batch, at once: no login per record (an account that locks after failed logins)
        for (int i = 3; i < 10; i++) {
            producer.send(new ProducerRecord<>("t", "k" + i, "v"));
        }
        assertEquals(2, made.size(), "renewed once within " + RenewedProducer.RENEW_EVERY);
        // the next attempt, after the sink's pause
        await().atMost(Duration.ofSeconds(5)).until(() -> {
            producer.send(new ProducerRecord<>("t", "k", "v"));
            return made.size() == 3;
        });
    }

    @Test
    void the_callback_on_kafkas_thread_takes_no_lock_that_a_send_holds() throws Exception {
        RenewedProducer producer = producer();
        producer.send(new ProducerRecord<>("t", "k", "v"));
        Thread io = new Thread(() -> made.get(0).errorNext(new SaslAuthenticationException("refused")));
        synchronized (producer) {           // a send renewing the producer holds this lock
            io.start();
            io.join(5000);
        }
        assertFalse(io.isAlive(), "Kafka's I/O thread ran the callback while the lock was held");
    }

    @Test
    void other_failures_keep_the_producer() {
        RenewedProducer producer = producer();
        producer.send(new ProducerRecord<>("t", "k", "v"));
        made.get(0).errorNext(new TimeoutException("Expiring 1 record(s)"));
        producer.send(new ProducerRecord<>("t", "k", "v"));
        assertEquals(1, made.size());
        producer.close();
        assertTrue(made.get(0).closed());
        assertFalse(made.get(0).history().isEmpty());
    }
}
