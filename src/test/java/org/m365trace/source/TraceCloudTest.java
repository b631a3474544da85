package org.m365trace.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.m365trace.SettingException;

/** trace.cloud picks the hosts of Microsoft's national clouds; every URL stays overridable. */
class TraceCloudTest {

    @Test
    void each_cloud_has_its_hosts() {
        assertEquals("https://login.microsoftonline.com/t/oauth2/v2.0/token", TraceCloud.of("").tokenUrl("t"));
        assertEquals("https://login.microsoftonline.us/t/oauth2/v2.0/token", TraceCloud.of("usgov").tokenUrl("t"));
        assertEquals("https://dod-graph.microsoft.us/v1.0", TraceCloud.of("usgovdod").graphBaseUrl());
        assertEquals("https://microsoftgraph.chinacloudapi.cn/.default", TraceCloud.of(" China ").scope("graph"));
        assertEquals("https://outlook.office365.us/.default", TraceCloud.of("usgov").scope("reporting"));
        assertEquals("https://reports.office365.com/ecp/reportingwebservice/reporting.svc", TraceCloud.GLOBAL.reportingBaseUrl());
    }

    @Test
    void an_unknown_cloud_names_the_setting() {
        assertEquals("trace.cloud: expected one of global, usgov, usgovdod, china, got 'azure'",
                assertThrows(SettingException.class, () -> TraceCloud.of("azure")).getMessage());
    }

    @Test
    void the_api_urls_and_the_sign_in_follow_the_cloud_unless_set() {
        TraceSource source = new TraceSource();
        source.setCloud("usgov");
        assertEquals("https://graph.microsoft.us/v1.0", source.graphBaseUrl());
        source.setGraphBaseUrl("https://graph.example/v1.0");
        assertEquals("https://graph.example/v1.0", source.graphBaseUrl());

        TraceAuth auth = new TraceAuth();
        auth.setCloud("china");
        auth.setApi("reporting");
        auth.setTenantId("contoso.partner.onmschina.cn");
        assertEquals("https://login.chinacloudapi.cn/contoso.partner.onmschina.cn/oauth2/v2.0/token", auth.tokenUrl());
        assertEquals("https://partner.outlook.cn/.default", auth.scope());
        assertEquals("https://partner.outlook.cn", auth.resource());
        auth.setScope("https://custom.example/.default");
        assertEquals("https://custom.example", auth.resource(), "a managed identity asks for the resource of the scope");
    }
}
