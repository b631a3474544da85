package org.m365trace;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.Consumer;

import org.junit.jupiter.api.Test;
import org.m365trace.source.TraceAuth;

class TraceSettingsTest {

    /** A valid reporting + basic auth configuration, as application.properties gives it. */
    private static TraceSettings valid() {
        TraceSettings s = new TraceSettings();
        s.setApi("reporting");
        s.setAuth("basic");
        s.setUsername("svc-trace@contoso.com");
        s.setPassword("p4ss");
        s.setTenantId("");
        s.setClientId("");
        s.setClientSecret("");
        s.setTokenUrl("https://login.microsoftonline.com//oauth2/v2.0/token");
        s.setPollInterval("5m");
        s.setPageSize("1000");
        s.setFilterStatuses("");
        s.setStateDir("data/state");
        s.setFileEnabled("true");
        s.setFileDir("data/out");
        s.setSyslogEnabled("false");
        s.setSyslogHost("localhost");
        s.setHttpEnabled("false");
        s.setHttpUrl("");
        s.setHttpFormat("json-array");
        return s;
    }

    private static SettingException refused(String property, Consumer<TraceSettings> change) {
        TraceSettings s = valid();
        change.accept(s);
        SettingException e = assertThrows(SettingException.class, s::validate);
        assertTrue(e.getMessage().startsWith(property), "message should start with " + property + ": " + e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e;
    }

    @Test
    void validReportingBasicPasses() {
        assertDoesNotThrow(() -> valid().validate());
    }

    @Test
    void validReportingOauth2Passes() {
        TraceSettings s = valid();
        s.setAuth("oauth2");
        s.setTenantId("contoso.onmicrosoft.com");
        s.setClientId("11111111-2222-3333-4444-555555555555");
        s.setClientSecret("secret");
        s.setTokenUrl("https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
        assertDoesNotThrow(s::validate);
    }

    @Test
    void validWithAllSinksPasses() {
        TraceSettings s = valid();
        s.setSyslogEnabled("true");
        s.setHttpEnabled("true");
        s.setHttpUrl("https://siem.example.net/ingest");
        s.setHttpFormat("ndjson");
        assertDoesNotThrow(s::validate);
    }

    /** The valid settings with the Kafka sink on, towards a broker. */
    private static TraceSettings withKafka(TraceSettings s) {
        s.setKafkaEnabled("true");
        s.setKafkaBootstrapServers("kafka-1.example.net:9093, kafka-2.example.net:9093");
        s.setKafkaTopic("m365-message-trace");
        s.setKafkaSecurityProtocol("SASL_SSL");
        s.setKafkaRequestTimeout("10s");
        s.setKafkaDeliveryTimeout("20s");
        s.setKafkaMaxBlock("10s");
        s.setKafkaSaslJaasConfigFile("");
        return s;
    }

    @Test
    void kafkaSinkPassesAndIsListed() {
        TraceSettings s = withKafka(valid());
        assertDoesNotThrow(s::validate);
        assertEquals("file,kafka", s.enabledSinks());
        assertEquals("file", valid().enabledSinks(), "off by default");
    }

    @Test
    void kafkaNeedsBrokersAndATopic() {
        refused("trace.kafka.bootstrapServers: expected host:port", s -> withKafka(s).setKafkaBootstrapServers(""));
        refused("trace.kafka.bootstrapServers: expected host:port", s -> withKafka(s).setKafkaBootstrapServers("kafka-1,kafka-2:9092"));
        refused("trace.kafka.topic: expected the topic", s -> withKafka(s).setKafkaTopic(" "));
        refused("trace.kafka.topic: expected a Kafka topic name", s -> withKafka(s).setKafkaTopic("m365 traces"));
    }

    @Test
    void kafkaSecurityAndTimeouts() {
        refused("trace.kafka.securityProtocol: expected PLAINTEXT or SSL", s -> withKafka(s).setKafkaSecurityProtocol("sasl_ssl"));
        refused("trace.kafka.requestTimeout: expected a duration", s -> withKafka(s).setKafkaRequestTimeout("soon"));
        refused("trace.kafka.deliveryTimeout: expected a duration of at least trace.kafka.requestTimeout", s -> {
            withKafka(s).setKafkaRequestTimeout("30s");
            s.setKafkaDeliveryTimeout("20s");
        });
        refused("trace.kafka.saslJaasConfigFile: cannot read the file", s -> withKafka(s).setKafkaSaslJaasConfigFile("/no/such/jaas"));
        refused("trace.kafka.enabled: expected true or false", s -> s.setKafkaEnabled("on"));
    }

    @Test
    void kafkaReplay() {
        TraceSettings s = withKafka(valid());
        s.setReplaySink("kafka");
        s.setReplayDeadLetters("kafka");
        assertDoesNotThrow(s::validate);
        assertEquals("kafka", s.enabledSinks());
        refused("trace.replay.sink: the kafka sink is not enabled", t -> {
            t.setReplaySink("kafka");
            t.setReplayDeadLetters("kafka");
        });
    }

    @Test
    void unknownApi() {
        refused("trace.api", s -> s.setApi("foo"));
    }

    @Test
    void graphNeedsOauth2() {
        SettingException e = refused("trace.auth", s -> s.setApi("graph"));
        assertTrue(e.getMessage().contains("oauth2"), e.getMessage());
    }

    @Test
    void graphWithOauth2Passes() {
        TraceSettings s = valid();
        s.setApi("graph");
        s.setAuth("oauth2");
        s.setTenantId("contoso.onmicrosoft.com");
        s.setTokenUrl("https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
        s.setClientId("11111111-2222-3333-4444-555555555555");
        s.setClientSecret("x");
        assertDoesNotThrow(s::validate);
    }

    @Test
    void unknownAuth() {
        refused("trace.auth", s -> s.setAuth("weird"));
    }

    @Test
    void basicWithoutUsername() {
        refused("trace.username", s -> s.setUsername(""));
    }

    @Test
    void basicWithoutPassword() {
        refused("trace.password", s -> s.setPassword(""));
        refused("trace.password", s -> s.setPassword(null));
    }

    @Test
    void oauth2WithoutClientSecret() {
        refused("trace.clientSecret", s -> {
            s.setAuth("oauth2");
            s.setTenantId("contoso.onmicrosoft.com");
            s.setClientId("11111111-2222-3333-4444-555555555555");
            s.setClientSecret("");
        });
    }

    @Test
    void oauth2WithoutTenantAndDefaultTokenUrl() {
        refused("trace.tenantId", s -> {
            s.setAuth("oauth2");
            s.setClientId("11111111-2222-3333-4444-555555555555");
            s.setClientSecret("secret");
        });
    }

    @Test
    void badPollInterval() {
        refused("trace.pollInterval", s -> s.setPollInterval("five minutes"));
    }

    @Test
    void pageSizeOutOfRange() {
        refused("trace.pageSize", s -> s.setPageSize("0"));
        refused("trace.pageSize", s -> s.setPageSize("6000"));
        refused("trace.pageSize", s -> s.setPageSize("many"));
    }

    @Test
    void pageSizeBounds() {
        TraceSettings s = valid();
        s.setPageSize("1");
        assertDoesNotThrow(s::validate);
        s.setPageSize("5000");
        assertDoesNotThrow(s::validate);
    }

    @Test
    void httpWithoutUrl() {
        refused("trace.http.url", s -> {
            s.setHttpEnabled("true");
            s.setHttpUrl("");
        });
    }

    @Test
    void httpWithNonHttpUrl() {
        refused("trace.http.url", s -> {
            s.setHttpEnabled("true");
            s.setHttpUrl("ftp://siem.example.net/");
        });
    }

    @Test
    void syslogWithoutHost() {
        refused("trace.syslog.host", s -> {
            s.setSyslogEnabled("true");
            s.setSyslogHost("");
        });
    }

    @Test
    void unknownHttpFormat() {
        refused("trace.http.format", s -> {
            s.setHttpEnabled("true");
            s.setHttpUrl("https://siem.example.net/ingest");
            s.setHttpFormat("xml");
        });
    }

    @Test
    void badBoolean() {
        refused("trace.file.enabled", s -> s.setFileEnabled("yes"));
    }

    @Test
    void emptyFilterForwardsAll() {
        TraceSettings s = valid();
        s.validate();
        assertTrue(s.forwards("Delivered"));
        assertTrue(s.forwards("Pending"));
        assertTrue(s.forwards("NewThing"));
    }

    @Test
    void filterForwardsOnlyListedStatuses() {
        TraceSettings s = valid();
        s.setFilterStatuses("delivered, Failed");
        s.validate();
        assertTrue(s.forwards("Delivered"));
        assertTrue(s.forwards("Failed"));
        assertFalse(s.forwards("Pending"));
        assertFalse(s.forwards("FilteredAsSpam"));
    }

    @Test
    void passwordNeverInMessages() {
        SettingException empty = refused("trace.password", s -> {
            s.setUsername("u");
            s.setPassword("");
        });
        assertFalse(empty.getMessage().contains("p4ss"), empty.getMessage());

        SettingException blank = refused("trace.password", s -> {
            s.setUsername("u");
            s.setPassword("   ");
        });
        assertFalse(blank.getMessage().contains("'   '"), blank.getMessage());

        SettingException auth = refused("trace.auth", s -> {
            s.setAuth("weird");
            s.setPassword("s3cret-XYZ");
        });
        assertFalse(auth.getMessage().contains("s3cret-XYZ"), auth.getMessage());

        // another error while a password is set: the password does not appear
        SettingException pageSize = refused("trace.pageSize", s -> {
            s.setPassword("s3cret-XYZ");
            s.setPageSize("0");
        });
        assertFalse(pageSize.getMessage().contains("s3cret-XYZ"), pageSize.getMessage());
    }

    @Test
    void clientSecretNeverInMessages() {
        SettingException e = refused("trace.tenantId", s -> {
            s.setAuth("oauth2");
            s.setClientId("11111111-2222-3333-4444-555555555555");
            s.setClientSecret("s3cret-XYZ");
        });
        assertFalse(e.getMessage().contains("s3cret-XYZ"), e.getMessage());
    }

    @Test
    void apiInAnotherCaseIsRefused() {
        // the routes use {{trace.api}} as is (direct:source-{{trace.api}}-page), so "Graph" must not slip through
        SettingException e = refused("trace.api", s -> s.setApi("Graph"));
        assertTrue(e.getMessage().contains("graph or reporting"), e.getMessage());
    }

    @Test
    void authInAnotherCaseIsNotTakenForOauth2() {
        // TraceAuth compares "basic".equals(auth): "BASIC" must be refused as trace.auth, not reported as a missing clientId
        refused("trace.auth", s -> s.setAuth("BASIC"));
    }
}
