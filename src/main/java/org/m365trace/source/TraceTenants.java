package org.m365trace.source;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.StringJoiner;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.spi.RouteTemplateParameterSource;
import org.apache.camel.support.PropertyBindingSupport;
import org.m365trace.Secret;
import org.m365trace.SettingException;
import org.m365trace.TraceSettings;

/**
 * The message-trace sources of the forwarder: one route from the route template {@code trace-source} (the Kamelet
 * {@code m365-message-trace-source} feeding the sinks) per tenant of {@code trace.tenants}, or a single one when it is
 * empty. Camel asks this bean for the routes to create ({@link RouteTemplateParameterSource}).
 * <p>
 * Each source's Kamelet parameters are its tenant's settings: {@code trace.tenant.<name>.<key>} (the key as in
 * {@code trace.<key>}, or the parameter's camelCase name), else {@code trace.<key>}; its state lives in
 * {@code <trace.stateDir>/<name>}. They reach the Kamelet as parameters of its endpoint URI (route template parameter
 * {@code kameletParameters}, each value {@code RAW}), which take precedence over any {@code camel.kamelet.*} property
 * and touch no other use of the Kamelet. A secret is only ever a reference to a bean holding it
 * ({@code #bean:trace-secret-...}), so no secret is part of an endpoint URI.
 * <p>
 * Not as Camel's per-route Kamelet properties ({@code camel.kamelet.m365-message-trace-source.<route id>.<parameter>}):
 * Camel gives every Kamelet route all properties under {@code camel.kamelet.m365-message-trace-source.}, those of every
 * other route included, and keeps them with the route, so memory and start-up time grew with the square of the tenants
 * (100 tenants: 2.7 million map entries, a 256 MB heap exhausted before the first poll).
 */
public class TraceTenants implements RouteTemplateParameterSource, CamelContextAware {

    /** The Kamelet's parameters, as {@code trace.*} keys: the parameter is the key without dots, in camelCase. */
    static final List<String> SOURCE_KEYS = List.of("api", "auth", "cloud", "tenantId", "clientId", "clientSecret",
            "clientSecretFile", "clientCertificate", "clientCertificatePassword", "clientCertificatePasswordFile",
            "managedIdentityClientId", "managedIdentityEndpoint", "tokenUrl", "scope", "username", "password", "passwordFile",
            "graph.baseUrl", "reporting.baseUrl", "pollInterval", "delay", "overlap", "initialLookback",
            "maxWindow", "maxLookback", "pageSize", "pageConcurrency", "filter.statuses", "stateDir", "dedupe.cacheSize", "graph.budget",
            "graph.budgetPeriod", "graph.maxBackoff", "graph.maxThrottled", "graph.details", "graph.detailsStatuses",
            "connectTimeout", "readTimeout", "health.sourceFailingFor", "replay.from", "replay.to", "localDomains",
            "state.store", "state.jdbcUrl", "state.username", "state.password", "state.passwordFile", "instance",
            "cluster.enabled", "cluster.failoverWithin");
    /** Keys of the process, not of a tenant: {@code trace.tenant.<name>.<key>} is refused rather than half applied. */
    static final List<String> PROCESS_KEYS = List.of("pageConcurrency", "instance", "cluster.enabled", "cluster.failoverWithin");
    /** The secret keys: their values are taken as given, never parsed for placeholders (a password may hold "{{"). */
    static final Set<String> SECRET_KEYS = Set.of("clientSecret", "password", "clientCertificatePassword",
            "state.password");
    /** The sinks whose schema may be raw: their sources keep each row as served (Kamelet parameter rawRows). */
    static final List<String> SINKS = List.of("file", "syslog", "http");

    static final String KAMELET = "m365-message-trace-source";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]*");

    private CamelContext camelContext;
    private String tenants = "";
    private String replaySink = "";
    private String replayDeadLetters = "";
    private Map<String, Map<String, Object>> routes;
    /** Each poll route's Kamelet parameters. */
    private final Map<String, Map<String, String>> kamelets = new LinkedHashMap<>();

    /** The Kamelet parameter of a {@code trace.*} key: {@code graph.baseUrl} becomes {@code graphBaseUrl}. */
    static String parameter(String key) {
        StringBuilder p = new StringBuilder();
        for (String part : key.split("\\.")) {
            p.append(p.length() == 0 ? part : Character.toUpperCase(part.charAt(0)) + part.substring(1));
        }
        return p.toString();
    }

    /** The tenant names of {@code trace.tenants}, in order; empty: one source without a tenant. */
    public static List<String> names(String tenants) {
        List<String> names = Arrays.stream(tenants == null ? new String[0] : tenants.split(","))
                .map(String::trim).filter(s -> !s.isEmpty()).toList();
        for (String n : names) {
            if (!NAME.matcher(n).matches()) {
                throw new SettingException("trace.tenants", "a comma list of names of letters, digits, '-' and '_' (they name"
                        + " folders and routes)", tenants);
            }
        }
        if (Set.copyOf(names).size() != names.size()) {
            throw new SettingException("trace.tenants", "each name once", tenants);
        }
        return names;
    }

    @Override
    public synchronized Set<String> routeIds() {
        if (routes == null) {
            routes = plan();
        }
        return routes.keySet();
    }

    @Override
    public synchronized Map<String, Object> parameters(String routeId) {
        routeIds();
        return routes.get(routeId);
    }

    /** One source per tenant, with its Kamelet properties set; none in a replay of dead letters (no API is read). */
    private Map<String, Map<String, Object>> plan() {
        Map<String, Map<String, Object>> plan = new LinkedHashMap<>();
        if (!replaySink.isBlank() && !replayDeadLetters.isBlank()) {
            return plan;
        }
        PropertiesComponent pc = camelContext.getPropertiesComponent();
        List<String> names = names(tenants);
        Map<String, String> identities = new LinkedHashMap<>();
        for (String tenant : names) {
            for (String key : PROCESS_KEYS) {
                for (String own : List.of("trace.tenant." + tenant + "." + key, "trace.tenant." + tenant + "." + parameter(key))) {
                    if (defined(pc, own)) {
                        throw new SettingException(own + ": trace." + key + " is one value for the whole process, shared by its"
                                + " tenants; expected it as trace." + key + " only");
                    }
                }
            }
        }
        for (String tenant : names.isEmpty() ? List.of("") : names) {
            String pollRouteId = pollRouteId(tenant);
            Map<String, String> values = new LinkedHashMap<>();
            for (String key : SOURCE_KEYS) {
                values.put(parameter(key), setting(pc, tenant, key, 0));
            }
            values.put("tenant", tenant);
            secrets(pollRouteId, tenant, values);
            values.put("rawRows", String.valueOf(rawRows(pc)));
            check(tenant, values);
            String other = identities.put(identity(values), tenant);
            if (other != null) {
                throw new SettingException("trace.tenants: tenants " + other + " and " + tenant + " read the same API as the same"
                        + " identity, so each would forward the other's rows; give each its own trace.tenant.<name>.tenantId"
                        + " (or username, or base URL)");
            }
            kamelets.put(pollRouteId, values);
        }
        // every value in the route's own URI: a value in camel.kamelet.m365-message-trace-source.<parameter> would lose to
        // a user's property of that name, and reach a user's own route from the Kamelet in the same context
        for (String tenant : names.isEmpty() ? List.of("") : names) {
            String pollRouteId = pollRouteId(tenant);
            Map<String, Object> parameters = new LinkedHashMap<>();
            parameters.put(TEMPLATE_ID, "trace-source");
            parameters.put("pollRouteId", pollRouteId);
            parameters.put("kameletParameters", query(kamelets.get(pollRouteId)));
            plan.put("trace-source" + (tenant.isEmpty() ? "" : "-" + tenant), parameters);
        }
        return plan;
    }

    /** The Kamelet parameter {@code parameter} of the poll route {@code pollRouteId} (tests). */
    String kameletParameter(String pollRouteId, String parameter) {
        routeIds();
        Map<String, String> values = kamelets.get(pollRouteId);
        return values == null ? null : values.get(parameter);
    }

    /** The parameters as an endpoint URI's query: each value as given ({@code RAW}), whatever characters it holds. */
    static String query(Map<String, String> values) {
        StringJoiner q = new StringJoiner("&");
        values.forEach((parameter, value) -> q.add(parameter + "=" + raw(value)));
        return q.toString();
    }

    private static String raw(String value) {
        if (value.isEmpty()) {
            return "";
        }
        if (value.indexOf(')') < 0) {
            return "RAW(" + value + ")";
        }
        if (value.indexOf('}') < 0) {
            return "RAW{" + value + "}";
        }
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    /**
     * Binds each secret given as a value in the registry and hands the Kamelet a reference to it ({@code #bean:<name>}):
     * Camel's property binding parses every string it binds for placeholders, so a password with "{{" in it would be
     * resolved again, and fail naming it.
     */
    private void secrets(String pollRouteId, String tenant, Map<String, String> values) {
        for (String key : SECRET_KEYS) {
            String value = values.get(parameter(key));
            if (value != null && !value.isEmpty()) {
                String name = "trace-secret-" + pollRouteId + "-" + parameter(key);
                camelContext.getRegistry().bind(name, Secret.of(tenant.isEmpty() ? "trace." + key : "trace.tenant." + tenant + "." + key,
                        value, null));
                values.put(parameter(key), "#bean:" + name);
            }
        }
    }

    /** Whether a sink's schema is raw ({@code trace.<sink>.schema}): then the records carry their rows as served. */
    private static boolean rawRows(PropertiesComponent pc) {
        return SINKS.stream().anyMatch(sink -> pc.resolveProperty("trace." + sink + ".schema").orElse("").strip().equalsIgnoreCase("raw"));
    }

    /** How log lines name a tenant: {@code tenant <name>: }, nothing without tenants. */
    public static String label(String tenant) {
        return tenant == null || tenant.isBlank() ? "" : "tenant " + tenant + ": ";
    }

    /** The id of the Kamelet route that polls for {@code tenant} (empty: the only source). */
    public static String pollRouteId(String tenant) {
        return tenant == null || tenant.isEmpty() ? "trace-poll" : "trace-poll-" + tenant;
    }

    /** Who a source reads as: two tenants alike here would read each other's trace. */
    private static String identity(Map<String, String> v) {
        boolean graph = "graph".equals(v.get("api"));
        return String.join("|", v.get("api"), v.get("cloud"), graph ? v.get("graphBaseUrl") : v.get("reportingBaseUrl"), v.get("auth"),
                "basic".equals(v.get("auth")) ? v.get("username") : v.get("tenantId") + "|" + v.get("tokenUrl") + "|" + v.get("clientId"));
    }

    /**
     * Checks a source's settings before its Kamelet is created, so that a wrong one stops the start with one line naming
     * the setting and the tenant (the Kamelet checks them too, but its timer reads pollInterval before any of its beans
     * exist, and its beans do not know that a value came from trace.tenant.*).
     */
    private void check(String tenant, Map<String, String> v) {
        try {
            TraceSettings settings = new TraceSettings();
            PropertyBindingSupport.build().withMandatory(false).withRemoveParameters(false).withPlaceholder(false)
                    .withReference(false).bind(camelContext, settings, new LinkedHashMap<>(v));
            settings.setTenant(null);          // the tenant is named once, below, for every check
            settings.validate();
            TraceWindows windows = new TraceWindows();
            windows.setDelay(v.get("delay"));
            windows.setOverlap(v.get("overlap"));
            windows.setInitialLookback(v.get("initialLookback"));
            windows.setMaxWindow(v.get("maxWindow"));
            windows.setMaxLookback(v.get("maxLookback"));
            new RequestBudget().setPeriod(v.get("graphBudgetPeriod"));
            new ApiReplies().setMaxBackoff(v.get("graphMaxBackoff"));
            TraceDirection.of(v.get("localDomains"));
            TraceAuth auth = new TraceAuth();
            auth.setConnectTimeout(v.get("connectTimeout"));
            auth.setReadTimeout(v.get("readTimeout"));
        } catch (RuntimeException e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof SettingException s) {
                    throw s.forTenant(tenant);
                }
            }
            throw e;
        }
    }

    /**
     * A tenant's value of a source key: its own ({@code trace.tenant.<name>.<key>}), else the shared one, in which a
     * reference to another source setting ({@code {{trace.tenantId}}} in {@code trace.tokenUrl}, say) means the tenant's
     * value of it. A tenant's state lives in a folder of its own. A value whose placeholders cannot be resolved is an
     * error, never taken for unset (the tenant would read as the shared identity).
     */
    private String setting(PropertiesComponent pc, String tenant, String key, int depth) {
        String shared = "trace." + key;
        String asGiven = SECRET_KEYS.contains(key) ? "?nested=false" : "";
        if (tenant.isEmpty()) {
            return pc.resolveProperty(shared + asGiven).orElse("");
        }
        for (String own : List.of("trace.tenant." + tenant + "." + key, "trace.tenant." + tenant + "." + parameter(key))) {
            Optional<String> value = pc.resolveProperty(own + asGiven);
            if (value.isPresent()) {
                return value.get();
            }
            if (defined(pc, own)) {
                throw new SettingException(own + ": a placeholder in its value cannot be resolved");
            }
        }
        String value = pc.resolveProperty(shared + asGiven).orElse("");
        String raw = pc.loadProperties(shared::equals).getProperty(shared);
        if (raw != null && asGiven.isEmpty() && depth < 3 && raw.contains("{{trace.") && value.equals(resolve(pc, shared, raw))) {
            // the shared value comes from a properties file and refers to other settings: the tenant's, not the shared
            for (String other : SOURCE_KEYS) {
                if (raw.contains("{{trace." + other + "}}")) {
                    raw = raw.replace("{{trace." + other + "}}", setting(pc, tenant, other, depth + 1));
                }
            }
            value = resolve(pc, shared, raw);
        }
        return "stateDir".equals(key) ? Path.of(value).resolve(tenant).toString() : value;
    }

    private String resolve(PropertiesComponent pc, String key, String value) {
        try {
            return camelContext.resolvePropertyPlaceholders(value);
        } catch (RuntimeException e) {
            throw new SettingException(key + ": a placeholder in its value cannot be resolved");
        }
    }

    /** True when {@code key} is set at all: in a properties file, as a JVM system property or as an environment variable. */
    private static boolean defined(PropertiesComponent pc, String key) {
        return pc.loadProperties(key::equals).getProperty(key) != null || System.getProperty(key) != null
                || System.getenv(key.toUpperCase(java.util.Locale.ROOT).replaceAll("[^A-Z0-9]", "_")) != null;
    }

    /** The tenant names as Camel's startup summary may show them. */
    @Override
    public String toString() {
        return routes == null ? "TraceTenants" : routes.keySet().stream().collect(Collectors.joining(", ", "TraceTenants[", "]"));
    }

    public void setTenants(String tenants) {
        this.tenants = tenants == null ? "" : tenants;
    }

    public void setReplaySink(String replaySink) {
        this.replaySink = replaySink == null ? "" : replaySink;
    }

    public void setReplayDeadLetters(String replayDeadLetters) {
        this.replayDeadLetters = replayDeadLetters == null ? "" : replayDeadLetters;
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
