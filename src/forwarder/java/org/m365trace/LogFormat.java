package org.m365trace;

import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;

import org.apache.camel.util.FileUtil;
import org.apache.camel.util.IOHelper;
import org.apache.camel.util.StringHelper;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;

/**
 * {@code trace.log.format} of the standalone jar: {@code text} (the default) or {@code json}. It must be known before
 * anything logs, so before Camel Main reads its settings: it is looked up here where Camel would find it, in Camel's
 * order (4.18: {@code DefaultPropertiesParser} asks the environment before the system properties):
 * <ol>
 * <li>the environment variable {@code TRACE_LOG_FORMAT},</li>
 * <li>the system property {@code trace.log.format},</li>
 * <li>the files of {@code camel.main.fileConfigurations} (the last file that sets it),</li>
 * <li>{@code application-<profile>.properties} of {@code camel.main.profile}, then {@code application.properties}, in
 * the jar.</li>
 * </ol>
 */
final class LogFormat {

    static final String KEY = "trace.log.format";
    static final String TEXT = "text";
    static final String JSON = "json";

    private final Function<String, String> env;
    private final Function<String, String> sys;
    private final ClassLoader classpath;

    /**
     * {@code env} answers a setting's name with its environment variable's value, as Camel looks it up
     * ({@code trace.log.format}: {@code TRACE_LOG_FORMAT}); {@code sys} with its system property.
     */
    LogFormat(Function<String, String> env, Function<String, String> sys, ClassLoader classpath) {
        this.env = env;
        this.sys = sys;
        this.classpath = classpath;
    }

    /** This process's environment, system properties and class path. */
    static LogFormat ofThisProcess() {
        return new LogFormat(IOHelper::lookupEnvironmentVariable, System::getProperty, TraceForwarder.class.getClassLoader());
    }

    /** The format in force: {@code text} or {@code json}; anything else is a {@link SettingException}. */
    String resolve() {
        List<Properties> packaged = packaged();
        String value = first(env.apply(KEY), sys.apply(KEY));
        if (value == null) {
            String locations = first(env.apply("camel.main.fileConfigurations"), sys.apply("camel.main.fileConfigurations"),
                    lookup(packaged, "camel.main.fileConfigurations"));
            List<Properties> files = new ArrayList<>(fileConfigurations(locations).values());
            // the last file wins, as in Camel (it adds each file's settings over the previous ones)
            Collections.reverse(files);
            value = first(lookup(files, KEY), lookup(packaged, KEY));
        }
        value = value == null ? TEXT : value.trim();
        if (!TEXT.equals(value) && !JSON.equals(value)) {
            throw new SettingException(KEY, TEXT + " or " + JSON, value);
        }
        return value;
    }

    /**
     * The packaged settings, the profile's first: {@code camel.main.profile} as Camel Main finds it (system property,
     * environment, then {@code application.properties}).
     */
    private List<Properties> packaged() {
        Properties application = load("application.properties");
        String profile = first(sys.apply("camel.main.profile"), env.apply("camel.main.profile"),
                application.getProperty("camel.main.profile"));
        List<Properties> packaged = new ArrayList<>();
        if (profile != null && !profile.isBlank()) {
            packaged.add(load("application-" + profile.trim() + ".properties"));
        }
        packaged.add(application);
        return packaged;
    }

    private Properties load(String resource) {
        Properties p = new Properties();
        try (InputStream in = classpath.getResourceAsStream(resource)) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException | IllegalArgumentException e) {
            // unreadable: Camel reads it too, and says so
        }
        return p;
    }

    /**
     * The files of {@code camel.main.fileConfigurations} by path, in Camel Main's order and with its rules
     * ({@code BaseMainSupport.doInitFileConfigurations}): a comma list of {@code <folder>/<name>}, the name may hold
     * {@code *}; a name without a folder is not read.
     */
    static Map<String, Properties> fileConfigurations(String locations) {
        Map<String, Properties> files = new LinkedHashMap<>();
        if (locations == null || locations.isBlank()) {
            return files;
        }
        for (String loc : locations.split(",")) {
            String path = FileUtil.onlyPath(loc);
            if (path != null) {
                String pattern = loc.length() > path.length() ? loc.substring(path.length() + 1) : null;
                File[] found = new File(path).listFiles(f -> StringHelper.matches(pattern, f.getName()));
                for (File file : found == null ? new File[0] : found) {
                    Properties p = new Properties();
                    try (InputStream in = new FileInputStream(file)) {
                        p.load(in);
                        files.put(file.getPath(), p);
                    } catch (IOException | IllegalArgumentException e) {
                        // unreadable: Camel reads it too, and says so
                    }
                }
            }
        }
        return files;
    }

    private static String lookup(List<Properties> sources, String key) {
        for (Properties p : sources) {
            String v = p.getProperty(key);
            if (v != null) {
                return v;
            }
        }
        return null;
    }

    private static String first(String... values) {
        for (String v : values) {
            if (v != null) {
                return v;
            }
        }
        return null;
    }

    /**
     * Applies {@code format} to logback's console appenders (those of {@code logback.xml} write text): {@code json} gives
     * them the {@link JsonLogEncoder}. In both formats, {@code java.util.logging} goes to logback as well, so that no line
     * on stderr escapes the format. Call it before anything logs.
     */
    static void apply(String format) {
        if (!SLF4JBridgeHandler.isInstalled()) {
            SLF4JBridgeHandler.removeHandlersForRootLogger();
            SLF4JBridgeHandler.install();
        }
        if (!JSON.equals(format) || !(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return;
        }
        Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        for (Iterator<Appender<ILoggingEvent>> it = root.iteratorForAppenders(); it.hasNext();) {
            if (it.next() instanceof ConsoleAppender<ILoggingEvent> console) {
                JsonLogEncoder encoder = new JsonLogEncoder();
                encoder.setContext(context);
                encoder.start();
                console.stop();
                console.setEncoder(encoder);
                console.start();
            }
        }
    }
}
