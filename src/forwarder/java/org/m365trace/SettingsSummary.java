package org.m365trace;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.camel.CamelContext;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.MainListenerSupport;
import org.apache.camel.support.CamelContextHelper;
import org.apache.camel.util.OrderedLocationProperties;
import org.apache.camel.util.StringHelper;
import org.apache.camel.util.URISupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one block of settings the standalone jar logs at start, once Camel Main has read them all and before the routes
 * start: every setting of the properties files ({@code application.properties}, the profile's, those of
 * {@code camel.main.fileConfigurations}) and every {@code trace.*} and {@code camel.*} system property and
 * {@code TRACE_*} and {@code CAMEL_*} environment variable, each with the value in force and, unless it is
 * {@code application.properties}, where that value comes from:
 * <pre>
 * settings (secrets shown as xxxxxx; from application.properties unless [marked]):
 *   trace.api                      = reporting  [application-demo.properties]
 *   trace.clientSecret             = xxxxxx  [-D]
 *   TRACE_TENANT_A_CLIENTSECRET    = xxxxxx  [env]
 * </pre>
 * A value is masked when Camel deems its name sensitive (its own list and {@code camel.main.additionalSensitiveKeywords}),
 * when it is {@code RAW(...)}, or when its name speaks of a password, secret, authorization, credential or token;
 * a URL's password is masked too. Camel's own summaries, which list only some of them, are off
 * ({@code camel.main.autoConfigurationLogSummary = false}).
 */
final class SettingsSummary extends MainListenerSupport {

    static final String MASK = "xxxxxx";
    private static final Logger LOG = LoggerFactory.getLogger("org.m365trace");
    private static final Pattern SECRET_WORDS = Pattern.compile("password|passphrase|secret|authorization|credential|apikey|privatekey|jaas|token$");
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{\\??([^}:]+)");
    /** A placeholder that reads the environment or a system property: what it holds is not the block's to show. */
    private static final Pattern OUTSIDE = Pattern.compile("\\{\\{\\??(env|sysenv|sys):");

    private final Map<String, String> environment;
    private final Properties system;

    SettingsSummary() {
        this(System.getenv(), System.getProperties());
    }

    SettingsSummary(Map<String, String> environment, Properties system) {
        this.environment = environment;
        this.system = system;
    }

    @Override
    public void afterConfigure(BaseMainSupport main) {
        lines(main.getCamelContext(), main.configure().getFileConfigurations()).forEach(LOG::info);
    }

    record Setting(String name, String value, String source) {
    }

    /** The block: a title line, then a line per setting. */
    List<String> lines(CamelContext context, String fileConfigurations) {
        List<Setting> settings = settings(context, fileConfigurations);
        int width = Math.min(48, settings.stream().mapToInt(s -> s.name().length()).max().orElse(0));
        List<String> lines = new ArrayList<>();
        lines.add("settings (secrets shown as " + MASK + "; from application.properties unless [marked]):");
        for (Setting s : settings) {
            lines.add(String.format("  %-" + width + "s =%s%s", s.name(), s.value().isEmpty() ? "" : " " + s.value(),
                    s.source().isEmpty() ? "" : "  [" + s.source() + "]"));
        }
        return lines;
    }

    /** Every setting, in the order of the files, then the system properties, then the environment variables. */
    List<Setting> settings(CamelContext context, String fileConfigurations) {
        Properties loaded = context.getPropertiesComponent().loadProperties();
        Map<String, Properties> files = LogFormat.fileConfigurations(fileConfigurations);
        Set<String> names = new LinkedHashSet<>();
        for (Object key : loaded.keySet()) {
            // initial properties are Camel's and ours, set by code (the Kamelets' per-route parameters): not settings
            if (!"initial".equals(location(loaded, key.toString()))) {
                names.add(key.toString());
            }
        }
        for (String name : new TreeSet<>(system.stringPropertyNames())) {
            if (name.startsWith("trace.") || name.startsWith("camel.")) {
                names.add(name);
            }
        }
        List<Setting> settings = new ArrayList<>();
        Set<String> variablesUsed = new LinkedHashSet<>();
        for (String name : names) {
            String variable = environmentVariable(name);
            String raw;
            String source;
            if (variable != null) {
                raw = environment.get(variable);
                source = "env " + variable;
                variablesUsed.add(variable);
            } else if (system.getProperty(name) != null) {
                raw = system.getProperty(name);
                source = "-D";
            } else {
                raw = loaded.getProperty(name);
                source = source(location(loaded, name), name, files);
            }
            settings.add(new Setting(name, value(context, name, raw), source));
        }
        for (String variable : new TreeSet<>(environment.keySet())) {
            if ((variable.startsWith("TRACE_") || variable.startsWith("CAMEL_")) && !variablesUsed.contains(variable)) {
                settings.add(new Setting(variable, value(context, variable.toLowerCase(Locale.ENGLISH).replace('_', '.'),
                        environment.get(variable)), "env"));
            }
        }
        return settings;
    }

    /**
     * The environment variable that gives {@code name} its value, as Camel looks it up ({@code IOHelper
     * .lookupEnvironmentVariable}): {@code trace.pollInterval} is {@code TRACE_POLLINTERVAL} or {@code TRACE_POLL_INTERVAL}.
     */
    private String environmentVariable(String name) {
        for (String candidate : List.of(name.toUpperCase(Locale.ENGLISH), normalize(name), normalize(StringHelper.camelCaseToDash(name)))) {
            if (environment.containsKey(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    private static String normalize(String name) {
        return name.toUpperCase(Locale.ENGLISH).replace('-', '_').replace('.', '_');
    }

    private static String location(Properties loaded, String name) {
        return loaded instanceof OrderedLocationProperties olp ? olp.getLocation(name) : null;
    }

    /** Where a file's setting comes from; nothing for the packaged application.properties. */
    private static String source(String location, String name, Map<String, Properties> files) {
        if (location == null) {
            return "";
        }
        if (location.equals("override")) {
            // camel.main.fileConfigurations: the last file that sets it wins
            String file = null;
            for (Map.Entry<String, Properties> f : files.entrySet()) {
                if (f.getValue().containsKey(name)) {
                    file = f.getKey();
                }
            }
            return file != null ? file : "override";
        }
        String loc = location.replaceFirst("^classpath:", "").replaceFirst(";optional=true$", "");
        return loc.equals("application.properties") ? "" : loc;
    }

    /**
     * The value shown: masked if secret, else with its placeholders resolved and a URL's password masked. A value that
     * reads the environment or a system property ({@code {{env:NAME}}}) is shown as written: such an indirection is how
     * a secret is kept out of the files, whatever the name of the setting it goes into.
     */
    private static String value(CamelContext context, String name, String raw) {
        if (raw == null || raw.isEmpty()) {
            return "";
        }
        if (secret(context, name, raw)) {
            return MASK;
        }
        String value = raw;
        if (OUTSIDE.matcher(value).find()) {
            return value.contains("://") ? URISupport.sanitizeUri(value) : value;
        }
        if (value.contains("{{")) {
            Matcher m = PLACEHOLDER.matcher(value);
            while (m.find()) {
                if (secret(context, m.group(1), "")) {
                    return MASK;
                }
            }
            try {
                value = context.resolvePropertyPlaceholders(value);
            } catch (RuntimeException e) {
                // shown as written: the setting that uses it says what is wrong
            }
        }
        value = value.contains("://") ? URISupport.sanitizeUri(value) : value;
        return value.replace("\r", "\\r").replace("\n", "\\n");
    }

    static boolean secret(CamelContext context, String name, String value) {
        String words = name.toLowerCase(Locale.ENGLISH).replaceAll("[._-]", "");
        return CamelContextHelper.containsSensitive(context, name) || value.startsWith("RAW(") || SECRET_WORDS.matcher(words).find();
    }
}
