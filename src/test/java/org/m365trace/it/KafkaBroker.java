package org.m365trace.it;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.awaitility.core.ConditionTimeoutException;

/**
 * A real Kafka 4.4 broker in KRaft mode (broker and controller in one process) on free loopback ports, for the Kafka
 * sink's tests: started as a process of its own from the jars of {@code target/kafka-broker.classpath} (written before
 * the integration tests by {@code src/test/kafka-broker/pom.xml}), so that its kafka-clients 4.4 never meets the
 * product's, and so that a test can stop it and start it again, on the same ports and log folder, like a real broker.
 * A topic is read back whole with the product's own kafka-clients ({@link #records}). {@link #startSecured} starts one
 * that also asks for SASL/PLAIN, over SASL_PLAINTEXT and over SASL_SSL (a self-signed certificate made for it).
 */
final class KafkaBroker implements AutoCloseable {

    static final Path CLASSPATH = Path.of("target/kafka-broker.classpath");
    /** Any 16 bytes, base64url: the id the log folder is formatted with. */
    private static final String CLUSTER_ID = "bTM2NS10cmFjZS1rYWZrYQ";

    /** The one user SASL/PLAIN knows on the secured listeners ({@link #startSecured}), and its password. */
    static final String USER = "trace";
    static final String PASSWORD = "Pl41n-Sasl-Secret";
    /** The password of {@link #truststore()}, and of the broker's own key store. */
    static final String TRUSTSTORE_PASSWORD = "Tru5tstore-Secret";

    private final Path dir;
    private final int port;
    private final int controllerPort;
    /** The SASL_PLAINTEXT and SASL_SSL listeners' ports; 0 when the broker has none. */
    private final int saslPort;
    private final int saslSslPort;
    private Process process;
    private String lastStop = "not stopped";

    private static KafkaBroker shared;

    /**
     * The broker the Kafka tests share (one start for them all: the start is their cost), started at the first call;
     * killed when the test JVM ends. Each test uses a topic of its own.
     */
    static synchronized KafkaBroker shared() throws Exception {
        if (shared == null) {
            shared = start(Files.createTempDirectory("kafka-broker"));
            KafkaBroker broker = shared;
            Runtime.getRuntime().addShutdownHook(new Thread(broker::close));
        }
        return shared;
    }

    /** Enables the Kafka sink towards this broker and a new topic of {@code partitions} partitions. */
    Properties sinkTo(Properties p, String topic, int partitions) throws Exception {
        createTopic(topic, partitions);
        p.put("trace.kafka.enabled", "true");
        p.put("trace.kafka.bootstrapServers", bootstrapServers());
        p.put("trace.kafka.topic", topic);
        return p;
    }

    private KafkaBroker(Path dir, int[] ports) {
        this.dir = dir;
        this.port = ports[0];
        this.controllerPort = ports[1];
        this.saslPort = ports.length > 2 ? ports[2] : 0;
        this.saslSslPort = ports.length > 2 ? ports[3] : 0;
    }

    /** Formats a log folder under {@code dir} and starts a broker on it; returns once it answers. */
    static KafkaBroker start(Path dir) throws Exception {
        return start(new KafkaBroker(dir, freePorts(2)));
    }

    /**
     * As {@link #start(Path)}, and with two more listeners that ask for SASL/PLAIN ({@link #USER}, {@link #PASSWORD}):
     * SASL_PLAINTEXT ({@link #saslBootstrapServers()}) and SASL_SSL ({@link #saslSslBootstrapServers()}, its
     * certificate trusted by {@link #truststore()}). The PLAINTEXT one stays, for the test's own clients.
     */
    static KafkaBroker startSecured(Path dir) throws Exception {
        return start(new KafkaBroker(dir, freePorts(4)));
    }

    private static KafkaBroker start(KafkaBroker broker) throws Exception {
        broker.format();
        broker.start();
        return broker;
    }

    /** host:port for {@code trace.kafka.bootstrapServers}. */
    String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    /** host:port of the SASL_PLAINTEXT listener (a broker of {@link #startSecured}). */
    String saslBootstrapServers() {
        return "127.0.0.1:" + saslPort;
    }

    /** host:port of the SASL_SSL listener (a broker of {@link #startSecured}). */
    String saslSslBootstrapServers() {
        return "127.0.0.1:" + saslSslPort;
    }

    /** A PKCS12 trust store ({@link #TRUSTSTORE_PASSWORD}) of the SASL_SSL listener's self-signed certificate. */
    Path truststore() {
        return dir.resolve("truststore.p12");
    }

    private void format() throws Exception {
        Files.createDirectories(dir);
        String listeners = "PLAINTEXT://127.0.0.1:" + port;
        String protocols = "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT";
        String secured = "";
        if (saslPort != 0) {
            listeners += ",SASL_PLAINTEXT://127.0.0.1:" + saslPort + ",SASL_SSL://127.0.0.1:" + saslSslPort;
            protocols += ",SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL";
            secured = secured();
        }
        Files.writeString(dir.resolve("server.properties"), String.join("\n",
                "process.roles=broker,controller",
                "node.id=1",
                "controller.quorum.voters=1@127.0.0.1:" + controllerPort,
                "listeners=" + listeners + ",CONTROLLER://127.0.0.1:" + controllerPort,
                "advertised.listeners=" + listeners,
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=" + protocols,
                "log.dirs=" + dir.resolve("data"),
                "num.partitions=3",
                "auto.create.topics.enable=false",
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                secured), StandardCharsets.UTF_8);
        Process format = java("kafka.tools.StorageTool", "format", "-t", CLUSTER_ID, "-c", dir.resolve("server.properties").toString())
                .redirectOutput(dir.resolve("format.log").toFile()).start();
        if (!format.waitFor(60, TimeUnit.SECONDS) || format.exitValue() != 0) {
            format.destroyForcibly();
            throw new IllegalStateException("kafka-storage format failed: " + Files.readString(dir.resolve("format.log")));
        }
    }

    /**
     * The secured listeners' settings: PLAIN with the one user {@link #USER}, and for SASL_SSL a key store made here
     * with keytool (a self-signed certificate for 127.0.0.1, which the client's host name check accepts) and the trust
     * store of its certificate for the client.
     */
    private String secured() throws Exception {
        Path keystore = dir.resolve("broker.p12");
        Path cert = dir.resolve("broker.pem");
        keytool("-genkeypair", "-alias", "broker", "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "2",
                "-dname", "CN=127.0.0.1", "-ext", "SAN=IP:127.0.0.1",
                "-storetype", "PKCS12", "-keystore", keystore.toString(), "-storepass", TRUSTSTORE_PASSWORD);
        keytool("-exportcert", "-rfc", "-alias", "broker", "-keystore", keystore.toString(), "-storepass", TRUSTSTORE_PASSWORD,
                "-file", cert.toString());
        keytool("-importcert", "-noprompt", "-alias", "broker", "-file", cert.toString(),
                "-storetype", "PKCS12", "-keystore", truststore().toString(), "-storepass", TRUSTSTORE_PASSWORD);
        String jaas = "org.apache.kafka.common.security.plain.PlainLoginModule required user_" + USER + "=\"" + PASSWORD + "\";";
        return String.join("\n",
                "sasl.enabled.mechanisms=PLAIN",
                "listener.name.sasl_plaintext.plain.sasl.jaas.config=" + jaas,
                "listener.name.sasl_ssl.plain.sasl.jaas.config=" + jaas,
                "listener.name.sasl_ssl.ssl.keystore.location=" + keystore,
                "listener.name.sasl_ssl.ssl.keystore.type=PKCS12",
                "listener.name.sasl_ssl.ssl.keystore.password=" + TRUSTSTORE_PASSWORD,
                "");
    }

    private void keytool(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString()));
        cmd.addAll(List.of(args));
        Process keytool = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("keytool.log").toFile()).start();
        if (!keytool.waitFor(60, TimeUnit.SECONDS) || keytool.exitValue() != 0) {
            keytool.destroyForcibly();
            throw new IllegalStateException("keytool " + args[0] + " failed: " + Files.readString(dir.resolve("keytool.log")));
        }
    }

    /** Gives {@code user} of SASL/PLAIN a password (added if new): stops the broker, changes its settings, starts it again. */
    void password(String user, String password) throws Exception {
        stop();
        Path settings = dir.resolve("server.properties");
        String users = Files.readString(settings, StandardCharsets.UTF_8).replaceAll(" user_" + user + "=\"[^\"]*\"", "");
        Files.writeString(settings, users.replace(" required", " required user_" + user + "=\"" + password + "\""), StandardCharsets.UTF_8);
        start();
    }

    /** Starts the broker (again: same ports, same log folder) and waits until it answers. */
    void start() throws Exception {
        if (process != null && process.isAlive()) {
            return;
        }
        process = java("kafka.Kafka", dir.resolve("server.properties").toString())
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("broker.log").toFile())).start();
        try (Admin admin = admin()) {
            await().atMost(Duration.ofSeconds(90)).until(() -> {
                if (!process.isAlive()) {
                    throw new IllegalStateException("the broker ended: " + logTail());
                }
                try {
                    return !admin.describeCluster().nodes().get(2, TimeUnit.SECONDS).isEmpty();
                } catch (Exception notYet) {
                    return false;
                }
            });
        } catch (ConditionTimeoutException e) {
            throw new IllegalStateException("the broker did not answer within 90 s (process alive: " + process.isAlive() + "): "
                    + logTail(), e);
        }
    }

    /** Stops the broker as an operator would (SIGTERM: a controlled shutdown) and waits until the process is gone. */
    void stop() throws InterruptedException {
        if (process != null && process.isAlive()) {
            long began = System.nanoTime();
            process.destroy();
            boolean clean = process.waitFor(60, TimeUnit.SECONDS);
            if (!clean) {
                process.destroyForcibly().waitFor();
            }
            lastStop = (clean ? "stopped by SIGTERM in " : "killed after SIGTERM did not stop it in ")
                    + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began) + " ms";
        }
    }

    /** How the last {@link #stop()} went, for a test's summary. */
    String lastStop() {
        return lastStop;
    }

    /** The end of the broker's log, for a failure's message. */
    private String logTail() {
        try {
            String log = Files.readString(dir.resolve("broker.log"), StandardCharsets.UTF_8);
            return log.length() > 6000 ? log.substring(log.length() - 6000) : log;
        } catch (IOException e) {
            return "(no broker.log: " + e.getMessage() + ")";
        }
    }

    boolean running() {
        return process != null && process.isAlive();
    }

    /** Creates a topic and waits until each of its partitions has a leader. */
    void createTopic(String topic, int partitions) throws Exception {
        createTopic(topic, partitions, Map.of());
    }

    /** Creates a topic with settings of its own ({@code max.message.bytes}, ...) and waits until each partition has a leader. */
    void createTopic(String topic, int partitions, Map<String, String> configs) throws Exception {
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1).configs(configs))).all().get(30, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
                TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get(5, TimeUnit.SECONDS).get(topic);
                return d.partitions().size() == partitions && d.partitions().stream().allMatch(p -> p.leader() != null);
            });
        }
    }

    /** Every record of {@code topic}, from the first offset to the last, partition by partition. */
    List<ConsumerRecord<String, String>> records(String topic) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
        List<ConsumerRecord<String, String>> out = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(10)).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).collect(Collectors.toList());
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions, Duration.ofSeconds(10));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (partitions.stream().anyMatch(tp -> consumer.position(tp, Duration.ofSeconds(10)) < end.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the topic " + topic + " was not read to its end within 30 s");
                }
                consumer.poll(Duration.ofMillis(500)).forEach(out::add);
            }
        }
        return out;
    }

    private Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
        return Admin.create(p);
    }

    private ProcessBuilder java(String mainClass, String... args) throws IOException {
        if (!Files.exists(CLASSPATH)) {
            throw new IllegalStateException(CLASSPATH + " is missing: mvn verify writes it before the integration tests"
                    + " (execution kafka-broker of maven-invoker-plugin)");
        }
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xms128m", "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", Files.readString(CLASSPATH).strip(), mainClass));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).directory(dir.toFile());
    }

    /** {@code n} different free ports (each socket held until all are found). */
    private static int[] freePorts(int n) throws IOException {
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                sockets.add(new ServerSocket(0));
            }
            return sockets.stream().mapToInt(ServerSocket::getLocalPort).toArray();
        } finally {
            for (ServerSocket s : sockets) {
                s.close();
            }
        }
    }

    /** Kills the broker and removes its folder. */
    @Override
    public void close() {
        if (process != null) {
            process.destroyForcibly();
            try {
                process.waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException | RuntimeException e) {
            // a temporary folder: left to the system
        }
    }
}
