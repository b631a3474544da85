package org.m365trace;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.spi.RouteTemplateParameterSource;
import org.apache.camel.support.PropertyBindingSupport;

/**
 * The message-trace sources of the forwarder: one route from the route template {@code trace-source} (the Kamelet
 * {@code m365-message-trace-source} feeding the sinks) per tenant of {@code trace.tenants}, or a single one when it is
 * empty. Camel asks this bean for the routes to create ({@link RouteTemplateParameterSource}).
 * <p>
 * Each source's Kamelet parameters are its tenant's settings: {@code trace.tenant.<name>.<key>} (the key as in
 * {@code trace.<key>}, or the parameter's camelCase name), else {@code trace.<key>}; its state lives in
 * {@code <trace.stateDir>/<name>}. They reach the Kamelet as Camel's per-route Kamelet properties
 * ({@code camel.kamelet.m365-message-trace-source.<route id>.<parameter>}), so no secret is ever part of an endpoint URI.
 */
public class TraceTenants implements RouteTemplateParameterSource, CamelContextAware {

    /** The Kamelet's parameters, as {@code trace.*} keys: the parameter is the key without dots, in camelCase. */
    static final List<String> SOURCE_KEYS = List.of("api", "auth", "tenantId", "clientId", "clientSecret", "tokenUrl", "scope",
            "username", "password", "graph.baseUrl", "reporting.baseUrl", "pollInterval", "delay", "overlap", "initialLookback",
            "maxWindow", "maxLookback", "pageSize", "filter.statuses", "stateDir", "dedupe.cacheSize", "graph.budget",
            "graph.budgetPeriod", "graph.maxBackoff", "graph.maxThrottled", "graph.details", "graph.detailsStatuses",
            "connectTimeout", "readTimeout", "replay.from", "replay.to");

    static final String KAMELET = "m365-message-trace-source";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]*");

    private CamelContext camelContext;
    private String tenants = "";
    private String replaySink = "";
    private String replayDeadLetters = "";
    private Map<String, Map<String, Object>> routes;

    /** The Kamelet parameter of a {@code trace.*} key: {@code graph.baseUrl} becomes {@code graphBaseUrl}. */
    static String parameter(String key) {
        StringBuilder p = new StringBuilder();
        for (String part : key.split("\\.")) {
            p.append(p.length() == 0 ? part : Character.toUpperCase(part.charAt(0)) + part.substring(1));
        }
        return p.toString();
    }

    /** The tenant names of {@code trace.tenants}, in order; empty: one source without a tenant. */
    static List<String> names(String tenants) {
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
        for (String tenant : names.isEmpty() ? List.of("") : names) {
            String suffix = tenant.isEmpty() ? "" : "-" + tenant;
            String pollRouteId = "trace-poll" + suffix;
            Map<String, Object> values = new LinkedHashMap<>();
            for (String key : SOURCE_KEYS) {
                values.put(parameter(key), setting(pc, tenant, key));
            }
            values.put("tenant", tenant);
            check(values);
            values.forEach((parameter, value) ->
                    pc.addInitialProperty("camel.kamelet." + KAMELET + "." + pollRouteId + "." + parameter, (String) value));
            Map<String, Object> parameters = new LinkedHashMap<>();
            parameters.put(TEMPLATE_ID, "trace-source");
            parameters.put("pollRouteId", pollRouteId);
            plan.put("trace-source" + suffix, parameters);
        }
        return plan;
    }

    /**
     * Checks a source's settings before its Kamelet is created: the Kamelet checks them too, but its timer reads
     * pollInterval before any of its beans exist, and a wrong one would end the start with Camel's binding error.
     */
    private void check(Map<String, Object> values) {
        TraceSettings settings = new TraceSettings();
        PropertyBindingSupport.build().withMandatory(false).withRemoveParameters(false).withPlaceholder(false).withReference(false)
                .bind(camelContext, settings, new LinkedHashMap<>(values));
        settings.validate();
    }

    /** A tenant's value of a source key: its own, else the shared one; its state in a folder of its own. */
    private static String setting(PropertiesComponent pc, String tenant, String key) {
        if (!tenant.isEmpty()) {
            Optional<String> own = pc.resolveProperty("trace.tenant." + tenant + "." + key)
                    .or(() -> pc.resolveProperty("trace.tenant." + tenant + "." + parameter(key)));
            if (own.isPresent()) {
                return own.get();
            }
        }
        String shared = pc.resolveProperty("trace." + key).orElse("");
        if (!tenant.isEmpty() && "stateDir".equals(key)) {
            return Path.of(shared).resolve(tenant).toString();
        }
        return shared;
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
