package org.m365trace.sinks;

import java.time.Duration;
import java.util.Properties;

import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.component.kafka.DefaultKafkaClientFactory;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;
import org.m365trace.Durations;
import org.m365trace.Secret;

/**
 * Makes the Kafka sink's producer (camel-kafka's {@code kafkaClientFactory}) with what the endpoint's options cannot
 * say: its time-outs as Camel durations ({@code trace.kafka.requestTimeout}, {@code .deliveryTimeout},
 * {@code .maxBlock}), and its secrets ({@code trace.kafka.saslJaasConfig}, {@code .sslTruststorePassword},
 * {@code .sslKeystorePassword}, {@code .sslKeyPassword}, each also as {@code <key>File}). The secrets are read here, as
 * given: passed as endpoint options they would be parsed for placeholders and be part of the endpoint's URI. Kafka logs
 * its settings with these masked ({@code [hidden]}). The producer is made when the sink's delivery route starts, so a
 * secret file read then; a changed file is read at the next start, or when the broker refused the credentials
 * ({@link RenewedProducer}).
 */
public class KafkaClient extends DefaultKafkaClientFactory implements CamelContextAware {

    private CamelContext camelContext;
    private Duration requestTimeout = Duration.ofSeconds(10);
    private Duration deliveryTimeout = Duration.ofSeconds(20);
    private Duration maxBlock = Duration.ofSeconds(10);
    private String saslJaasConfigFile;
    private String sslTruststorePasswordFile;
    private String sslKeystorePasswordFile;
    private String sslKeyPasswordFile;

    @Override
    @SuppressWarnings("rawtypes")
    public Producer getProducer(Properties props) {
        return new RenewedProducer(() -> new BoundedProducer(configure((Properties) props.clone())));
    }

    /**
     * Kafka's producer, whose {@code close()} (camel-kafka's, when the route stops) waits at most {@link #CLOSE} for
     * records still being sent, instead of until they are: with the broker away, an idempotent producer keeps its
     * records (it needs the broker for a new producer epoch before it lets them time out), and a stop must not wait for
     * the broker. Records it drops are in the spool still: their batch was not acknowledged, so it was not deleted.
     */
    static final class BoundedProducer extends org.apache.kafka.clients.producer.KafkaProducer<Object, Object> {

        BoundedProducer(Properties props) {
            super(props);
        }

        @Override
        public void close() {
            close(CLOSE);
        }
    }

    /** The longest a stop waits for records still being sent. */
    static final Duration CLOSE = Duration.ofSeconds(2);

    /** The producer's settings: the endpoint's, with the time-outs and the secrets. */
    Properties configure(Properties props) {
        // a record is sent again (by the idempotent producer, in order) until the broker took it or deliveryTimeout
        // passed; each request waits at most requestTimeout; send() blocks at most maxBlock for metadata or buffer room
        props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, millis(requestTimeout));
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, millis(deliveryTimeout));
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, millis(maxBlock));
        secret(props, SaslConfigs.SASL_JAAS_CONFIG, "trace.kafka.saslJaasConfig", saslJaasConfigFile);
        secret(props, SslConfigs.SSL_TRUSTSTORE_PASSWORD_CONFIG, "trace.kafka.sslTruststorePassword", sslTruststorePasswordFile);
        secret(props, SslConfigs.SSL_KEYSTORE_PASSWORD_CONFIG, "trace.kafka.sslKeystorePassword", sslKeystorePasswordFile);
        secret(props, SslConfigs.SSL_KEY_PASSWORD_CONFIG, "trace.kafka.sslKeyPassword", sslKeyPasswordFile);
        return props;
    }

    private void secret(Properties props, String config, String property, String file) {
        String value = Secret.of(property, camelContext == null ? "" : Secret.given(camelContext, property), file).value();
        if (!value.isEmpty()) {
            props.put(config, value);
        }
    }

    private static String millis(Duration d) {
        return String.valueOf(d.toMillis());
    }

    public void setRequestTimeout(String requestTimeout) {
        this.requestTimeout = Durations.parse("trace.kafka.requestTimeout", requestTimeout);
    }

    public void setDeliveryTimeout(String deliveryTimeout) {
        this.deliveryTimeout = Durations.parse("trace.kafka.deliveryTimeout", deliveryTimeout);
    }

    public void setMaxBlock(String maxBlock) {
        this.maxBlock = Durations.parse("trace.kafka.maxBlock", maxBlock);
    }

    public void setSaslJaasConfigFile(String saslJaasConfigFile) {
        this.saslJaasConfigFile = saslJaasConfigFile;
    }

    public void setSslTruststorePasswordFile(String sslTruststorePasswordFile) {
        this.sslTruststorePasswordFile = sslTruststorePasswordFile;
    }

    public void setSslKeystorePasswordFile(String sslKeystorePasswordFile) {
        this.sslKeystorePasswordFile = sslKeystorePasswordFile;
    }

    public void setSslKeyPasswordFile(String sslKeyPasswordFile) {
        this.sslKeyPasswordFile = sslKeyPasswordFile;
    }

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }
}
