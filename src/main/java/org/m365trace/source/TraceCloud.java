package org.m365trace.source;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

import org.m365trace.SettingException;

/**
 * The Microsoft cloud a tenant lives in ({@code trace.cloud}): its sign-in host, Graph host and Exchange Online host (the
 * Reporting Web Service and its token scope), per Microsoft's national cloud endpoints. Every URL it gives stays
 * overridable ({@code trace.tokenUrl}, {@code trace.graph.baseUrl}, {@code trace.reporting.baseUrl}, {@code trace.scope}).
 */
public enum TraceCloud {

    GLOBAL("global", "login.microsoftonline.com", "graph.microsoft.com", "reports.office365.com", "outlook.office365.com"),
    USGOV("usgov", "login.microsoftonline.us", "graph.microsoft.us", "reports.office365.us", "outlook.office365.us"),
    USGOVDOD("usgovdod", "login.microsoftonline.us", "dod-graph.microsoft.us", "webmail.apps.mil", "webmail.apps.mil"),
    CHINA("china", "login.chinacloudapi.cn", "microsoftgraph.chinacloudapi.cn", "partner.outlook.cn", "partner.outlook.cn");

    private final String setting;
    private final String login;
    private final String graph;
    private final String reporting;
    private final String exchange;

    TraceCloud(String setting, String login, String graph, String reporting, String exchange) {
        this.setting = setting;
        this.login = login;
        this.graph = graph;
        this.reporting = reporting;
        this.exchange = exchange;
    }

    /** The cloud of {@code trace.cloud} (empty: global); any other value stops the start naming the setting. */
    public static TraceCloud of(String value) {
        String v = value == null ? "" : value.strip().toLowerCase(Locale.ROOT);
        if (v.isEmpty()) {
            return GLOBAL;
        }
        return Arrays.stream(values()).filter(c -> c.setting.equals(v)).findFirst().orElseThrow(() -> new SettingException(
                "trace.cloud", Arrays.stream(values()).map(c -> c.setting).collect(Collectors.joining(", ", "one of ", "")), value));
    }

    /** The sign-in host's token endpoint of a tenant. */
    public String tokenUrl(String tenantId) {
        return "https://" + login + "/" + (tenantId == null ? "" : tenantId.strip()) + "/oauth2/v2.0/token";
    }

    public String graphBaseUrl() {
        return "https://" + graph + "/v1.0";
    }

    public String reportingBaseUrl() {
        return "https://" + reporting + "/ecp/reportingwebservice/reporting.svc";
    }

    /** The resource of an API (managed identity asks for a resource, OAuth2 for its .default scope). */
    public String resource(String api) {
        return "https://" + (TraceRecords.REPORTING.equals(api) ? exchange : graph);
    }

    public String scope(String api) {
        return resource(api) + "/.default";
    }

    /** The sign-in host, e.g. for {@code AZURE_AUTHORITY_HOST}. */
    public String loginHost() {
        return "https://" + login;
    }
}
