package org.m365trace.karaf;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.lang.reflect.Array;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Dictionary;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.apache.camel.CamelContext;
import org.apache.camel.Component;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.spi.Resource;
import org.apache.camel.spi.ResourceLoader;
import org.apache.camel.support.PluginHelper;
import org.apache.camel.support.PropertyBindingSupport;
import org.apache.camel.support.service.ServiceHelper;
import org.m365trace.SettingException;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.ManagedService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the product's routes inside Karaf: one Camel context at a time, built from the configuration {@code org.m365trace}
 * ({@code etc/org.m365trace.cfg}, the same {@code trace.*} keys as the standalone's application.properties).
 *
 * <p>Every configuration (or change of it) stops the running context and starts a new one with the new settings; no
 * configuration means no context (the product needs credentials). Stopping the bundle stops the context, so that every
 * file is closed and the state directory's lock is released before {@code feature:uninstall} returns. Contexts are
 * started and stopped on one thread of our own, in the order the configurations came, never on config admin's thread.
 */
public final class Activator implements BundleActivator, ManagedService {

    static final String PID = "org.m365trace";

    private static final Logger LOG = LoggerFactory.getLogger("org.m365trace.karaf");
    /** The repository root's application.properties, packaged by karaf/pom.xml: the default of every setting. */
    private static final String DEFAULTS = "org/m365trace/karaf/application.properties";
    /** What config admin and Karaf's fileinstall add to every configuration: not settings. */
    private static final Set<String> NOT_SETTINGS = Set.of(Constants.SERVICE_PID, "service.factoryPid",
            "service.bundleLocation", "felix.fileinstall.filename");
    /** Camel Main settings of application.properties that have no meaning in a bundle, and why. */
    private static final Map<String, String> IGNORED_MAIN = Map.of(
            "routesIncludePattern", "the routes are the bundle's routes/*.camel.yaml",
            "durationMaxSeconds", "the routes run until the bundle stops",
            "additionalSensitiveKeywords", "there is no startup summary of the settings",
            "autoConfigurationLogSummary", "there is no startup summary of the settings");

    private Bundle bundle;
    private Properties defaults;
    private ExecutorService worker;
    private ServiceRegistration<ManagedService> registration;
    private volatile boolean stopping;

    // touched only on the worker thread
    private CamelContext camel;
    private Map<String, String> running;

    @Override
    public void start(BundleContext context) throws IOException {
        bundle = context.getBundle();
        defaults = loadDefaults();
        worker = Executors.newSingleThreadExecutor(r -> new Thread(r, "m365-trace-config"));
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(Constants.SERVICE_PID, PID);
        // config admin calls updated() soon after, with the configuration or with null if there is none
        registration = context.registerService(ManagedService.class, this, props);
    }

    @Override
    public void updated(Dictionary<String, ?> properties) {
        Map<String, String> settings = properties == null ? null : settings(properties);
        try {
            worker.execute(() -> apply(settings));
        } catch (RejectedExecutionException e) {
            // the bundle is stopping: nothing more to start
        }
    }

    @Override
    public void stop(BundleContext context) throws InterruptedException {
        stopping = true;
        registration.unregister();
        worker.execute(this::stopCamel);
        worker.shutdown();
        // the context's own shutdown waits at most camel.main.shutdownTimeout (25 s) for records in flight
        if (!worker.awaitTermination(2, TimeUnit.MINUTES)) {
            LOG.warn("m365-trace-forwarder: the routes did not stop within 2 minutes");
        }
    }

    private void apply(Map<String, String> settings) {
        if (stopping) {
            return;
        }
        if (camel != null && settings != null && settings.equals(running)) {
            return;                                  // the same settings again (the file was saved unchanged)
        }
        stopCamel();
        if (settings == null) {
            LOG.warn("m365-trace-forwarder: no configuration {}: the routes are not started; create etc/{}.cfg with the"
                    + " trace.* settings (credentials at least, docs/karaf.md)", PID, PID);
            return;
        }
        startCamel(settings);
    }

    private void startCamel(Map<String, String> settings) {
        Properties props = new Properties();
        props.putAll(defaults);
        karafDefaults(props, settings);
        props.putAll(settings);
        // The bundle's class loader sees the embedded Camel, the library's beans, routes/ and kamelets/: it is the
        // context's application class loader (classpath: resources, YAML bean types) and the thread's context class
        // loader while the context starts (Camel's threads inherit it).
        ClassLoader loader = Activator.class.getClassLoader();
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(loader);
        DefaultCamelContext ctx = new DefaultCamelContext();
        try {
            ctx.setApplicationContextClassLoader(loader);
            ctx.getPropertiesComponent().setInitialProperties(props);
            applyMainSettings(ctx, props);
            applyComponentSettings(ctx, props);
            List<Resource> routes = routeFiles(ctx);
            PluginHelper.getRoutesLoader(ctx).loadRoutes(routes);
            ctx.start();
            camel = ctx;
            running = settings;
            LOG.info("m365-trace-forwarder started: {} routes from {} route files, settings of configuration {}",
                    ctx.getRoutes().size(), routes.size(), PID);
        } catch (Exception e) {
            stopQuietly(ctx);
            SettingException setting = settingException(e);
            if (setting != null) {
                // a wrong or missing setting: one line naming it, as the standalone jar does
                LOG.error("m365-trace-forwarder not started: {} (etc/{}.cfg)", setting.getMessage(), PID);
            } else {
                LOG.error("m365-trace-forwarder not started: {}", e.getMessage(), e);
            }
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    private void stopCamel() {
        if (camel == null) {
            return;
        }
        CamelContext ctx = camel;
        camel = null;
        running = null;
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(Activator.class.getClassLoader());
        try {
            ctx.stop();                           // beans' destroy methods run: files closed, stateDir lock released
            LOG.info("m365-trace-forwarder stopped");
        } catch (RuntimeException e) {
            LOG.warn("m365-trace-forwarder: stopping the routes failed: {}", e.getMessage(), e);
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    /**
     * Every {@code routes/*.camel.yaml} of the bundle (the library's, unpacked into it), found at run time: inside a
     * bundle a {@code classpath:routes/*.camel.yaml} wildcard finds nothing, and the library's files change.
     */
    private List<Resource> routeFiles(CamelContext ctx) {
        Enumeration<URL> entries = bundle.findEntries("routes", "*.camel.yaml", false);
        List<String> paths = entries == null ? List.of()
                : Collections.list(entries).stream().map(URL::getPath).sorted().toList();
        if (paths.isEmpty()) {
            throw new IllegalStateException("the bundle holds no routes/*.camel.yaml");
        }
        ResourceLoader resources = PluginHelper.getResourceLoader(ctx);
        return paths.stream().map(p -> resources.resolveResource("classpath:" + p.substring(1))).toList();
    }

    /**
     * The Camel Main settings of application.properties ({@code camel.main.*}) that matter, applied by hand: there is
     * no Camel Main in a bundle.
     */
    private static void applyMainSettings(CamelContext ctx, Properties props) {
        for (String key : props.stringPropertyNames()) {
            if (!key.startsWith("camel.main.")) {
                continue;
            }
            String name = key.substring("camel.main.".length());
            String value = ctx.resolvePropertyPlaceholders(props.getProperty(key)).trim();
            switch (name) {
                case "name" -> ctx.getCamelContextExtension().setName(value);
                case "shutdownTimeout" -> ctx.getShutdownStrategy().setTimeout(Long.parseLong(value));
                case "streamCachingEnabled" -> ctx.setStreamCaching(Boolean.parseBoolean(value));
                case "streamCachingSpoolEnabled" -> ctx.getStreamCachingStrategy().setSpoolEnabled(Boolean.parseBoolean(value));
                case "streamCachingSpoolThreshold" -> ctx.getStreamCachingStrategy().setSpoolThreshold(Long.parseLong(value));
                default -> {
                    String why = IGNORED_MAIN.get(name);
                    if (why != null) {
                        LOG.debug("{} is not used in Karaf: {}", key, why);
                    } else {
                        LOG.warn("m365-trace-forwarder: {} is a Camel Main setting and is ignored in Karaf", key);
                    }
                }
            }
        }
    }

    /**
     * {@code camel.component.<name>.<option>} settings (the HTTP time-outs of application.properties above all) set on
     * the component, as Camel Main would; an option the component does not have stops the start.
     */
    private static void applyComponentSettings(CamelContext ctx, Properties props) {
        Map<String, Map<String, Object>> byComponent = new TreeMap<>();
        for (String key : props.stringPropertyNames()) {
            if (key.startsWith("camel.component.") && key.indexOf('.', "camel.component.".length()) > 0) {
                String rest = key.substring("camel.component.".length());
                int dot = rest.indexOf('.');
                byComponent.computeIfAbsent(rest.substring(0, dot), c -> new HashMap<>())
                        .put(rest.substring(dot + 1), props.getProperty(key).trim());
            }
        }
        byComponent.forEach((name, options) -> {
            Component component = ctx.getComponent(name);
            if (component == null) {
                throw new IllegalArgumentException("camel.component." + name + ".*: there is no Camel component " + name);
            }
            PropertyBindingSupport.build().withCamelContext(ctx).withTarget(component)
                    .withConfigurer(component.getComponentPropertyConfigurer())
                    .withIgnoreCase(true).withMandatory(true).withProperties(options).bind();
            LOG.debug("camel.component.{}: {} set", name, options.keySet());
        });
    }

    /** In Karaf, state and output go below Karaf's data folder unless the configuration says otherwise. */
    private static void karafDefaults(Properties props, Map<String, String> settings) {
        String data = System.getProperty("karaf.data");
        if (data == null) {
            return;
        }
        if (!settings.containsKey("trace.stateDir")) {
            props.setProperty("trace.stateDir", data + "/m365-trace/state");
        }
        if (!settings.containsKey("trace.file.dir")) {
            props.setProperty("trace.file.dir", data + "/m365-trace/out");
        }
    }

    /** The configuration's settings as strings (Karaf's .cfg values already are); placeholders are left as they are. */
    private static Map<String, String> settings(Dictionary<String, ?> properties) {
        Map<String, String> settings = new TreeMap<>();
        for (Enumeration<String> keys = properties.keys(); keys.hasMoreElements(); ) {
            String key = keys.nextElement();
            if (!NOT_SETTINGS.contains(key)) {
                settings.put(key, text(properties.get(key)));
            }
        }
        return settings;
    }

    private static String text(Object value) {
        if (value == null) {
            return "";
        }
        if (value.getClass().isArray()) {
            List<Object> items = new ArrayList<>();
            for (int i = 0; i < Array.getLength(value); i++) {
                items.add(Array.get(value, i));
            }
            value = items;
        }
        if (value instanceof Collection<?> items) {
            return items.stream().map(String::valueOf).collect(Collectors.joining(","));
        }
        return String.valueOf(value);
    }

    private Properties loadDefaults() throws IOException {
        URL entry = bundle.getEntry(DEFAULTS);
        if (entry == null) {
            throw new IllegalStateException("the bundle holds no " + DEFAULTS);
        }
        Properties props = new Properties();
        try (InputStream in = entry.openStream(); Reader reader = new InputStreamReader(in, StandardCharsets.UTF_8)) {
            props.load(reader);
        }
        return props;
    }

    private static SettingException settingException(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SettingException s) {
                return s;
            }
        }
        return null;
    }

    /**
     * Stops a context that failed to start. Such a context does not run the destroy methods of the beans it created
     * (the state folder's lock would stay taken until Karaf ends, and the corrected settings could not start): its
     * registry, started and stopped once more, runs them.
     */
    private static void stopQuietly(CamelContext ctx) {
        try {
            ctx.stop();
            ServiceHelper.startService(ctx.getRegistry());
            ServiceHelper.stopAndShutdownService(ctx.getRegistry());
        } catch (RuntimeException e) {
            LOG.warn("m365-trace-forwarder: cleaning up after the failed start: {}", e.getMessage(), e);
        }
    }
}
