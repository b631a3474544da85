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
 * A topic is read back whole with the product's own kafka-clients ({@link #records}).
 */
final class KafkaBroker implements AutoCloseable {

    static final Path CLASSPATH = Path.of("target/kafka-broker.classpath");
    /** Any 16 bytes, base64url: the id the log folder is formatted with. */
    private static final String CLUSTER_ID = "bTM2NS10cmFjZS1rYWZrYQ";

    private final Path dir;
    private final int port;
    private final int controllerPort;
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

    private KafkaBroker(Path dir, int port, int controllerPort) {
        this.dir = dir;
        this.port = port;
        this.controllerPort = controllerPort;
    }

    /** Formats a log folder under {@code dir} and starts a broker on it; returns once it answers. */
    static KafkaBroker start(Path dir) throws Exception {
        int port = freePort();
        int controllerPort = freePort();
        while (controllerPort == port) {
            controllerPort = freePort();
        }
        KafkaBroker broker = new KafkaBroker(dir, port, controllerPort);
        broker.format();
        broker.start();
        return broker;
    }

    /** host:port for {@code trace.kafka.bootstrapServers}. */
    String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    private void format() throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("server.properties"), String.join("\n",
                "process.roles=broker,controller",
                "node.id=1",
                "controller.quorum.voters=1@127.0.0.1:" + controllerPort,
                "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort,
                "advertised.listeners=PLAINTEXT://127.0.0.1:" + port,
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "log.dirs=" + dir.resolve("data"),
                "num.partitions=3",
                "auto.create.topics.enable=false",
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                ""), StandardCharsets.UTF_8);
        Process format = java("kafka.tools.StorageTool", "format", "-t", CLUSTER_ID, "-c", dir.resolve("server.properties").toString())
                .redirectOutput(dir.resolve("format.log").toFile()).start();
        if (!format.waitFor(60, TimeUnit.SECONDS) || format.exitValue() != 0) {
            format.destroyForcibly();
            throw new IllegalStateException("kafka-storage format failed: " + Files.readString(dir.resolve("format.log")));
        }
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

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
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
