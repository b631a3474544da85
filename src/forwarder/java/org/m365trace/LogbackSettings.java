package org.m365trace;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;

/**
 * The standalone jar's logging, set up in code: the settings of its {@code logback.xml} (the reference, and what a
 * file of one's own starts from), without logback reading XML. Reading it (Joran, with the JDK's XML parser) loaded
 * some 500 classes before the first line, about a fifth of a second of every start; {@code LogbackSettingsTest} keeps
 * the two the same. A file given with {@code -Dlogback.configurationFile} is read as before (this configurator then
 * leaves the work to logback's own). Registered in {@code META-INF/services/ch.qos.logback.classic.spi.Configurator}.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_NORMAL_PRIORITY)
public final class LogbackSettings extends ContextAwareBase implements Configurator {

    /** The line of logback.xml: 2026-11-30T14:01:30.123Z INFO m365trace - message. */
    static final String PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %level %logger{0} - %msg%n";

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        if (System.getProperty("logback.configurationFile") != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern(PATTERN);
        encoder.start();
        ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
        console.setContext(context);
        console.setName("STDERR");
        // looks System.err up for every line, so that a test replacing it sees the lines
        console.setTarget("System.err");
        console.setEncoder(encoder);
        console.start();

        // a failed spool delivery is already logged once per episode by the forwarder; the file component's own line repeats it
        context.getLogger("org.apache.camel.component.file.GenericFileOnCompletion").setLevel(Level.ERROR);
        // Camel 4.18's exchange notifier registers its gauge camel.exchanges.last.timestamp from two threads at once at the
        // first exchanges, and Micrometer warns that the second registration is ignored: harmless, not the operator's concern
        context.getLogger("io.micrometer.core.instrument.MeterRegistry").setLevel(Level.ERROR);
        // the HTTP client's retry chatter
        context.getLogger("org.apache.hc.client5").setLevel(Level.WARN);
        // a failed sign-in is logged once per episode by the forwarder, naming the setting; MSAL4J's own line repeats it
        context.getLogger("com.microsoft.aad.msal4j").setLevel(Level.OFF);
        // an outage of the state store's PostgreSQL is logged once per episode by the forwarder; the pool's line (with a
        // stack trace) for each connection it drops repeats it
        context.getLogger("com.zaxxer.hikari").setLevel(Level.ERROR);

        // the Kafka client: its settings at every start, and lines per reconnect and retry while a broker is away; the forwarder logs
        // a failed delivery once per episode
        context.getLogger("org.apache.kafka").setLevel(Level.ERROR);
        // credentials the broker refuses are logged once per episode by the forwarder (SaslAuthenticationException: ...);
        // the Kafka client's own ERROR line repeats it at every reconnect, about once a second
        context.getLogger("org.apache.kafka.clients.NetworkClient").setLevel(Level.OFF);

        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.INFO);
        root.addAppender(console);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }
}
