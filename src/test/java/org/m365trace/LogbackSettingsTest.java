package org.m365trace;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URL;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.Configurator.ExecutionStatus;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;

/**
 * The standalone jar sets its logging up in code ({@link LogbackSettings}, no XML to read at start) with exactly the
 * settings of its {@code logback.xml}, which stays the reference and what {@code -Dlogback.configurationFile} files start
 * from: same levels, same appender, same line.
 */
class LogbackSettingsTest {

    @Test
    void the_code_sets_up_what_logback_xml_says() throws Exception {
        LoggerContext fromXml = new LoggerContext();
        JoranConfigurator joran = new JoranConfigurator();
        joran.setContext(fromXml);
        URL xml = getClass().getClassLoader().getResource("logback.xml");
        joran.doConfigure(xml);

        LoggerContext fromCode = new LoggerContext();
        LogbackSettings settings = new LogbackSettings();
        settings.setContext(fromCode);
        assertEquals(ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY, settings.configure(fromCode));

        assertEquals(describe(fromXml), describe(fromCode));
    }

    @Test
    void a_file_of_ones_own_is_left_to_logback() {
        String before = System.getProperty("logback.configurationFile");
        System.setProperty("logback.configurationFile", "/etc/m365-trace/logback.xml");
        try {
            LoggerContext context = new LoggerContext();
            LogbackSettings settings = new LogbackSettings();
            settings.setContext(context);
            assertEquals(ExecutionStatus.INVOKE_NEXT_IF_ANY, settings.configure(context));
            assertEquals(List.of(), appenders(context.getLogger(Logger.ROOT_LOGGER_NAME)), "nothing set up");
        } finally {
            if (before == null) {
                System.clearProperty("logback.configurationFile");
            } else {
                System.setProperty("logback.configurationFile", before);
            }
        }
    }

    /** Every logger with a level of its own, and the root's appenders: what a configuration decides. */
    private static Map<String, String> describe(LoggerContext context) {
        Map<String, String> d = new TreeMap<>();
        for (Logger logger : context.getLoggerList()) {
            if (logger.getLevel() != null) {
                d.put("level " + logger.getName(), logger.getLevel().toString());
            }
            if (!appenders(logger).isEmpty()) {
                d.put("appenders " + logger.getName(), String.join(", ", appenders(logger)) + " additive=" + logger.isAdditive());
            }
        }
        return d;
    }

    private static List<String> appenders(Logger logger) {
        List<String> list = new ArrayList<>();
        for (Iterator<Appender<ILoggingEvent>> it = logger.iteratorForAppenders(); it.hasNext();) {
            Appender<ILoggingEvent> a = it.next();
            String s = a.getName() + " " + a.getClass().getName() + " started=" + a.isStarted();
            if (a instanceof ConsoleAppender<ILoggingEvent> c) {
                s += " target=" + c.getTarget() + " encoder=" + c.getEncoder().getClass().getName();
                if (c.getEncoder() instanceof PatternLayoutEncoder p) {
                    s += " pattern=" + p.getPattern() + " charset=" + p.getCharset();
                }
            }
            list.add(s);
        }
        return list;
    }
}
