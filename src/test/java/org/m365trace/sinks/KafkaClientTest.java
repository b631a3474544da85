package org.m365trace.sinks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KafkaClientTest {

    @TempDir
    Path dir;

    @Test
    void time_outs_as_durations_become_the_producers_milliseconds() {
        KafkaClient client = new KafkaClient();
        client.setRequestTimeout("15s");
        client.setDeliveryTimeout("2m");
        client.setMaxBlock("500ms");
        Properties p = client.configure(new Properties());
        assertEquals("15000", p.get("request.timeout.ms"));
        assertEquals("120000", p.get("delivery.timeout.ms"));
        assertEquals("500", p.get("max.block.ms"));
        assertFalse(p.containsKey("sasl.jaas.config"), "no secret given, none set");
    }

    @Test
    void secrets_as_given_never_parsed_or_from_their_files() throws Exception {
        String jaas = "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"trace\" password=\"p{{x}}$\";";
        Files.writeString(dir.resolve("truststore.pass"), "tru5t\n");
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            Properties settings = new Properties();
            settings.put("trace.kafka.saslJaasConfig", jaas);
            settings.put("trace.kafka.sslTruststorePassword", "");
            settings.put("trace.kafka.sslKeystorePassword", "k3y");
            settings.put("trace.kafka.sslKeyPassword", "");
            context.getPropertiesComponent().setInitialProperties(settings);
            KafkaClient client = new KafkaClient();
            client.setCamelContext(context);
            client.setSslTruststorePasswordFile(dir.resolve("truststore.pass").toString());
            Properties p = client.configure(new Properties());
            assertEquals(jaas, p.get("sasl.jaas.config"), "as given: {{x}} is no placeholder here");
            assertEquals("tru5t", p.get("ssl.truststore.password"));
            assertEquals("k3y", p.get("ssl.keystore.password"));
            assertFalse(p.containsKey("ssl.key.password"));
        }
    }
}
