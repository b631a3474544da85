package org.m365trace.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** The packaged jar, started as a user would: a wrong or missing setting stops it with one line naming the property. */
class BadSettingsIT {

    static final Path JAR = Path.of("target/m365-trace-forwarder.jar");
    static final String SECRET = "S3cr3t-Do-Not-Log";

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "trace.api=foo                                   | trace.api: expected graph or reporting, got 'foo'",
        "trace.api=graph,trace.auth=basic                | trace.auth: Microsoft Graph needs oauth2",
        "trace.api=graph                                 | trace.clientId: expected",
        "trace.api=reporting,trace.auth=basic,trace.username=u | trace.password: expected",
        "trace.api=reporting,trace.auth=oauth2,trace.tenantId=t | trace.clientId: expected",
        "trace.api=reporting,trace.auth=basic,trace.username=u,trace.password=p,trace.pollInterval=soon | trace.pollInterval: expected a duration",
        "trace.api=reporting,trace.auth=basic,trace.username=u,trace.password=p,trace.http.enabled=true | trace.http.url: expected",
        "trace.api=reporting,trace.auth=basic,trace.username=u,trace.password=p,trace.syslog.enabled=true,trace.syslog.host= | trace.syslog.host: expected",
        "trace.api=reporting,trace.auth=basic,trace.username=u,trace.password=p,trace.syslog.enabled=true,trace.syslog.facility=mail2 | trace.syslog.facility: expected",
        "trace.api=reporting,trace.auth=basic,trace.username=u,trace.password=p,trace.delay=15 minutes | trace.delay: expected a duration",
        "trace.api=reporting,trace.auth=basic,trace.username=u,trace.password=p,trace.http.batchSize=abc | trace.http.batchSize: expected a whole number",
        "trace.api=reporting,trace.auth=basic,trace.username=u,trace.password=p,trace.dedupe.cacheSize=abc | trace.dedupe.cacheSize: expected a whole number",
        "trace.api=reporting,trace.auth=basic,trace.username=u,trace.password=p,trace.spool.maxSize=-1 | trace.spool.maxSize: expected a whole number",
        "trace.api=reporting,trace.auth=basic,trace.username=u,trace.password=p,trace.log.format=xml | trace.log.format: expected text or json, got 'xml'",
        "trace.api=reporting,trace.auth=basic,trace.username=u,trace.password=p,trace.file.schema=elastic | trace.file.schema: expected normalized, ecs or raw, got 'elastic'",
        "trace.api=reporting,trace.auth=basic,trace.username=u,trace.password=p,trace.http.enabled=true,trace.http.url=http://127.0.0.1:9/x,trace.http.preset=splunk-hec | trace.splunk.token: expected",
        "trace.api=reporting,trace.auth=basic,trace.username=u,trace.password=p,trace.http.enabled=true,trace.http.preset=azure-monitor | trace.azure.endpoint: expected",
        "trace.api=reporting,trace.auth=basic,trace.username=u,trace.password=p,trace.localDomains=contoso com | trace.localDomains: expected",
        "trace.api=graph,trace.clientId=c,trace.tenantId=t,trace.cloud=mars | trace.cloud: expected one of global, usgov, usgovdod, china, got 'mars'",
        "trace.api=graph,trace.clientId=c,trace.tenantId=t,trace.clientCertificate=app.pem | trace.clientCertificate: set either it or trace.clientSecret, not both",
        "trace.api=graph,trace.clientId=c,trace.tenantId=t,trace.clientSecretFile=/no/such/file | trace.clientSecretFile: cannot read the file /no/such/file",
        "trace.api=graph,trace.auth=managed-identity,trace.managedIdentityEndpoint=ftp://imds | trace.managedIdentityEndpoint: expected an http:// or https:// URL",
        "trace.api=graph,trace.auth=kerberos | trace.auth: expected oauth2 or basic or managed-identity, got 'kerberos'",
        "trace.api=reporting,trace.auth=basic,trace.username=u,trace.password=p,trace.kafka.enabled=true | trace.kafka.bootstrapServers: expected host:port",
        "trace.api=reporting,trace.auth=basic,trace.username=u,trace.password=p,trace.kafka.enabled=true,trace.kafka.bootstrapServers=kafka | trace.kafka.bootstrapServers: expected host:port of one or more Kafka brokers, comma-separated, got 'kafka'",
        "trace.api=reporting,trace.auth=basic,trace.username=u,trace.password=p,trace.kafka.enabled=true,trace.kafka.bootstrapServers=127.0.0.1:9,trace.kafka.topic= | trace.kafka.topic: expected the topic",
        "trace.api=reporting,trace.auth=basic,trace.username=u,trace.password=p,trace.kafka.enabled=true,trace.kafka.bootstrapServers=127.0.0.1:9,trace.kafka.schema=avro | trace.kafka.schema: expected normalized, ecs or raw, got 'avro'",
        "trace.api=reporting,trace.auth=basic,trace.username=u,trace.password=p,trace.kafka.enabled=true,trace.kafka.bootstrapServers=127.0.0.1:9,trace.kafka.securityProtocol=TLS | trace.kafka.securityProtocol: expected PLAINTEXT or SSL or SASL_PLAINTEXT or SASL_SSL, got 'TLS'",
        "trace.api=reporting,trace.auth=basic,trace.username=u,trace.password=p,trace.kafka.enabled=yes | trace.kafka.enabled: expected true or false, got 'yes'",
        "trace.api=reporting,trace.auth=basic,trace.username=u,trace.password=p,trace.state.store=jdbc,trace.state.jdbcUrl=jdbc:postgresql://127.0.0.1:9/t,trace.instance=../other | trace.instance: '../other' is not a usable instance name",
    })
    void stops_with_one_line_naming_the_property(String settings, String expected) throws Exception {
        List<String> args = new ArrayList<>();
        for (String kv : settings.split(",")) {
            args.add("-D" + kv.trim());
        }
        args.add("-Dtrace.clientSecret=" + SECRET);
        Run run = run(args, Map.of());
        assertEquals(2, run.exit, run.output);
        String last = run.lastLine();
        assertTrue(last.startsWith("m365-trace-forwarder: " + expected), last);
        assertFalse(run.output.contains("\tat "), "no stack trace: " + run.output);
        assertFalse(run.output.contains(SECRET), "a secret reached the output");
    }

    @Test
    void environment_variables_are_settings_too() throws Exception {
        Run run = run(List.of(), Map.of("TRACE_API", "bogus"));
        assertEquals(2, run.exit, run.output);
        assertTrue(run.lastLine().startsWith("m365-trace-forwarder: trace.api: expected graph or reporting, got 'bogus'"), run.lastLine());
    }

    @Test
    void in_json_the_line_is_a_json_line_too() throws Exception {
        Run run = run(List.of("-Dtrace.log.format=json", "-Dtrace.api=foo", "-Dtrace.clientSecret=" + SECRET), Map.of());
        assertEquals(2, run.exit, run.output);
        for (String line : run.output.strip().split("\n")) {
            assertTrue(new ObjectMapper().readTree(line).isObject(), line);
        }
        JsonNode last = new ObjectMapper().readTree(run.lastLine());
        assertEquals("ERROR", last.get("level").asText(), run.lastLine());
        assertEquals("m365-trace-forwarder: trace.api: expected graph or reporting, got 'foo'", last.get("message").asText());
        assertFalse(run.output.contains(SECRET), "a secret reached the output");
    }

    record Run(int exit, String output) {
        String lastLine() {
            String[] lines = output.strip().split("\n");
            return lines[lines.length - 1];
        }
    }

    private Run run(List<String> props, Map<String, String> env) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(props);
        cmd.add("-Dcamel.management.port=0");
        cmd.add("-Dtrace.stateDir=" + tmp.resolve("state"));
        cmd.add("-Dtrace.file.dir=" + tmp.resolve("out"));
        cmd.addAll(List.of("-jar", JAR.toAbsolutePath().toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).directory(tmp.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        boolean done = p.waitFor(60, TimeUnit.SECONDS);
        if (!done) {
            p.destroyForcibly();
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Run(done ? p.exitValue() : -1, out);
    }
}
