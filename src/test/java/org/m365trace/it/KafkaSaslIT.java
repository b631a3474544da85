package org.m365trace.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.m365trace.demo.SimulatedReportingService;
import org.m365trace.sinks.DocumentId;

/**
 * The Kafka sink's security settings reach the producer: the packaged forwarder ({@link ForwarderJar}) against a real
 * broker that asks for SASL/PLAIN ({@link KafkaBroker#startSecured}), over SASL_PLAINTEXT with the JAAS line given or
 * in a file, and over SASL_SSL with a trust store whose password is in a file. Every record reaches the topic once; no
 * secret reaches the forwarder's output. With a wrong password, nothing is delivered, every record waits in the spool,
 * the log says once that authentication failed, and once the broker takes the password every record is delivered
 * without a restart.
 */
class KafkaSaslIT {

    static final String JAAS = "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
            + KafkaBroker.USER + "\" password=\"%s\";";
    static final String WRONG_PASSWORD = "Wr0ng-Sasl-Secret";

    static KafkaBroker broker;

    @TempDir
    Path tmp;
    SimulatedReportingService api;
    Set<String> expected;

    @BeforeAll
    static void startBroker() throws Exception {
        broker = KafkaBroker.startSecured(Files.createTempDirectory("kafka-sasl"));
    }

    @AfterAll
    static void stopBroker() {
        if (broker != null) {
            broker.close();
        }
    }

    @AfterEach
    void stopSimulator() {
        if (api != null) {
            api.stop();
        }
    }

    @Test
    void sasl_plaintext_with_the_jaas_line_given() throws Exception {
        String topic = "m365-trace-sasl-given-it";
        Properties p = sasl(topic, "SASL_PLAINTEXT", broker.saslBootstrapServers());
        p.put("trace.kafka.saslJaasConfig", JAAS.formatted(KafkaBroker.PASSWORD));
        delivers(topic, p);
    }

    @Test
    void sasl_plaintext_with_the_jaas_line_in_a_file() throws Exception {
        String topic = "m365-trace-sasl-file-it";
        Properties p = sasl(topic, "SASL_PLAINTEXT", broker.saslBootstrapServers());
        p.put("trace.kafka.saslJaasConfigFile", secretFile("kafka-jaas", JAAS.formatted(KafkaBroker.PASSWORD) + "\n"));
        delivers(topic, p);
    }

    @Test
    void sasl_ssl_with_a_trust_store() throws Exception {
        String topic = "m365-trace-sasl-ssl-it";
        Properties p = sasl(topic, "SASL_SSL", broker.saslSslBootstrapServers());
        p.put("trace.kafka.saslJaasConfig", JAAS.formatted(KafkaBroker.PASSWORD));
        p.put("trace.kafka.sslTruststoreLocation", broker.truststore().toString());
        p.put("trace.kafka.sslTruststoreType", "PKCS12");
        p.put("trace.kafka.sslTruststorePasswordFile", secretFile("truststore-password", KafkaBroker.TRUSTSTORE_PASSWORD));
        delivers(topic, p);
    }

    @Test
    void a_wrong_password_delivers_nothing_loses_nothing_says_so_once_and_a_fix_on_the_broker_is_taken() throws Exception {
        String topic = "m365-trace-sasl-wrong-it";
        Properties p = sasl(topic, "SASL_PLAINTEXT", broker.saslBootstrapServers());
        p.put("trace.kafka.saslJaasConfig", JAAS.formatted(WRONG_PASSWORD));
        try (ForwarderJar jar = ForwarderJar.start(tmp, "forwarder", p, Map.of())) {
            await().atMost(Duration.ofSeconds(90)).untilAsserted(() -> {
                assertEquals(expected, spooledKeys(), "every record waits in the spool");
                assertTrue(jar.output().contains("WARN m365trace - sink-kafka-deliver: delivery failed: "
                        + "SaslAuthenticationException: Authentication failed: Invalid username or password"), jar.output());
            });
            assertEquals(List.of(), broker.records(topic), "nothing delivered");
            // the broker takes the password the forwarder has (a rotation that reached the forwarder first): the sink
            // delivers everything without a restart
            broker.password(KafkaBroker.USER, WRONG_PASSWORD);
            try {
                await().atMost(Duration.ofSeconds(90)).untilAsserted(() -> {
                    assertEquals(expected, KafkaSinkIT.keys(broker.records(topic)), jar.output());
                    assertEquals(Set.of(), spooledKeys(), "the spool is empty");
                });
            } finally {
                broker.password(KafkaBroker.USER, KafkaBroker.PASSWORD);
            }
            assertEquals(expected.size(), broker.records(topic).size(), "none twice");
            String output = jar.output();
            assertFalse(output.contains(WRONG_PASSWORD), "the password reached the log");
            assertEquals(1, output.lines().filter(l -> l.contains("WARN") && l.contains("sink-kafka-deliver")).count(),
                    "one warning for the episode: " + output);
            assertFalse(output.contains("failed authentication due to"), "the Kafka client's line for each reconnect: " + output);
        }
    }

    /** The settings of a forwarder that reads one window of seeded mail and writes it to {@code topic} at {@code servers}. */
    private Properties sasl(String topic, String protocol, String servers) throws Exception {
        api = Fixtures.seededSimulator(30);
        expected = api.currentKeys();
        Properties p = broker.sinkTo(Fixtures.oneWindow(Fixtures.graphProperties(api, tmp), api, 2), topic, 3);
        p.put("trace.kafka.bootstrapServers", servers);
        p.put("trace.kafka.securityProtocol", protocol);
        p.put("trace.kafka.saslMechanism", "PLAIN");
        return p;
    }

    /** Starts the forwarder with {@code p}: every record reaches the topic once, the spool empties, no secret is logged. */
    private void delivers(String topic, Properties p) throws Exception {
        try (ForwarderJar jar = ForwarderJar.start(tmp, "forwarder", p, Map.of())) {
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
                assertEquals(expected, KafkaSinkIT.keys(broker.records(topic)), jar.output());
                assertEquals(Set.of(), spooledKeys(), "the spool is empty");
            });
            assertEquals(expected.size(), broker.records(topic).size(), "none twice");
            String output = jar.output();
            assertFalse(output.contains(KafkaBroker.PASSWORD), "the SASL password reached the log");
            assertFalse(output.contains(KafkaBroker.TRUSTSTORE_PASSWORD), "the trust store password reached the log");
        }
    }

    private String secretFile(String name, String content) throws IOException {
        return Files.writeString(tmp.resolve(name), content, StandardCharsets.UTF_8).toString();
    }

    /** The keys of the records in the Kafka spool (its sealed batches and its open one). */
    private Set<String> spooledKeys() throws IOException {
        Set<String> keys = new HashSet<>();
        Path spool = tmp.resolve("state/spool/kafka");
        if (!Files.isDirectory(spool)) {
            return keys;
        }
        try (Stream<Path> files = Files.list(spool)) {
            for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".ndjson")).toList()) {
                for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                    keys.add(DocumentId.key(Sinks.MAPPER.readTree(line)));
                }
            }
        }
        return keys;
    }
}
