package org.m365trace.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.m365trace.demo.SimulatedReportingService;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The packaged jar's log, as an operator or a log shipper reads it: the settings block at start, the window lines, a
 * refused HTTP delivery and the stop. In {@code trace.log.format=json} every line on stderr, Camel's first boot line
 * included, is one JSON object with timestamp, level, logger, message and thread; in both formats no secret, given as
 * a system property or in the environment and used for real (the API's password, the HTTP sink's Authorization), is in
 * any line.
 */
class LogsIT {

    static final ObjectMapper MAPPER = new ObjectMapper();
    static final Set<String> FIELDS = Set.of("timestamp", "level", "logger", "message", "thread", "tenant", "window", "error");
    /** A text line: date with offset, level, last part of the logger's name, message. */
    static final Pattern TEXT = Pattern.compile("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d) (TRACE|DEBUG|INFO|WARN|ERROR) (\\S+) - (.*)$");

    static final String API_PASSWORD = "Api-P4ss-S3cret-1";
    static final String SHARED_PASSWORD = "Shared-P4ss-S3cret-2";
    static final String CLIENT_SECRET = "Client-S3cret-3";
    static final String AUTHORIZATION = "Splunk Hec-T0ken-S3cret-4";
    static final String TRUSTSTORE_PASSWORD = "Tls-S3cret-5";
    static final String ENV_SECRET = "Env-S3cret-6";

    @TempDir
    Path tmp;

    /** One log line: level, logger (text: the last part of its name) and message; the line's JSON in json. */
    record Line(String raw, String level, String logger, String message, JsonNode json) {
    }

    @ParameterizedTest(name = "trace.log.format={0}")
    @ValueSource(strings = {"text", "json"})
    void a_log_to_follow_and_to_ship_without_a_secret(String format) throws Exception {
        SimulatedReportingService api = Fixtures.simulator(3);
        api.setPassword(API_PASSWORD);
        try (HttpReceiver http = new HttpReceiver()) {
            http.refuseNext(2);   // a delivery fails first: a WARN line, then one saying it works again
            Properties p = Fixtures.pipelineProperties(api, tmp);
            p.put("trace.log.format", format);
            p.put("trace.tenants", "a");
            p.put("trace.tenant.a.password", API_PASSWORD);
            p.put("trace.password", SHARED_PASSWORD);
            p.put("trace.clientSecret", CLIENT_SECRET);
            p.put("trace.syslog.trustStorePassword", TRUSTSTORE_PASSWORD);
            p.put("trace.http.enabled", "true");
            p.put("trace.http.url", http.url());
            p.put("trace.http.authorization", AUTHORIZATION);
            Process process = start(p, Map.of("TRACE_TENANT_A_CLIENTSECRET", ENV_SECRET), format);
            try {
                await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
                    assertTrue(process.isAlive(), () -> "the forwarder died: " + stderr(format));
                    assertFalse(windowLines(lines(format)).isEmpty(), "a window line");
                    assertTrue(http.accepted().stream().anyMatch(post -> AUTHORIZATION.equals(post.authorization())),
                            "the HTTP sink sent its Authorization");
                });
                process.destroy();
                assertTrue(process.waitFor(30, TimeUnit.SECONDS), "stopped within 30 s: " + stderr(format));
            } finally {
                process.destroyForcibly();
            }
        } finally {
            api.stop();
        }

        List<Line> lines = lines(format);
        if (format.equals("json")) {
            // parsed already by lines(): here what each object holds
            assertTrue(lines.get(0).json().get("logger").asText().startsWith("org.apache.camel."), "Camel's first boot line: " + lines.get(0).raw());
            for (Line l : lines) {
                JsonNode json = l.json();
                for (String field : List.of("timestamp", "level", "logger", "message", "thread")) {
                    assertTrue(json.path(field).isTextual(), field + " in " + l.raw());
                }
                assertTrue(json.get("timestamp").asText().matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z"), l.raw());
                assertTrue(json.get("level").asText().matches("TRACE|DEBUG|INFO|WARN|ERROR"), l.raw());
                json.fieldNames().forEachRemaining(f -> assertTrue(FIELDS.contains(f), "field " + f + " in " + l.raw()));
                // tenant and window come from the MDC, once the source sets it; error with an exception
                for (String field : List.of("tenant", "window", "error")) {
                    assertTrue(!json.has(field) || json.get(field).isTextual(), field + " in " + l.raw());
                }
            }
        }
        List<Line> windows = windowLines(lines);
        assertFalse(windows.isEmpty());
        if ("json".equals(format)) {
            for (Line l : windows) {    // the source names its tenant and window in the MDC while it reads the window
                assertEquals("a", l.json().path("tenant").asText(), l.raw());
                assertTrue(l.message().contains("window " + l.json().path("window").asText() + ": "), l.raw());
            }
        }
        assertTrue(windows.stream().allMatch(l -> l.level().equals("INFO")), windows.toString());
        assertTrue(lines.stream().anyMatch(l -> l.level().equals("WARN") && isProduct(l) && l.message().startsWith("sink-http-deliver: delivery failed")),
                "the refused delivery, WARN: " + stderr(format));

        // the settings block: once, before the routes start, the values in force, secrets masked
        List<Integer> titles = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (isProduct(lines.get(i)) && lines.get(i).message().startsWith("settings (secrets shown as xxxxxx")) {
                titles.add(i);
            }
        }
        assertEquals(1, titles.size(), "one settings block: " + stderr(format));
        List<String> block = new ArrayList<>();
        for (int i = titles.get(0) + 1; i < lines.size() && isProduct(lines.get(i)) && lines.get(i).message().startsWith("  "); i++) {
            block.add(lines.get(i).message().trim().replaceAll(" +", " "));
        }
        assertTrue(block.contains("trace.log.format = " + format + " [-D]"), block.toString());
        assertTrue(block.contains("trace.tenant.a.password = xxxxxx [-D]"), block.toString());
        assertTrue(block.contains("trace.password = xxxxxx [-D]"), block.toString());
        assertTrue(block.contains("trace.clientSecret = xxxxxx [-D]"), block.toString());
        assertTrue(block.contains("trace.http.authorization = xxxxxx [-D]"), block.toString());
        assertTrue(block.contains("trace.syslog.trustStorePassword = xxxxxx [-D]"), block.toString());
        assertTrue(block.contains("TRACE_TENANT_A_CLIENTSECRET = xxxxxx [env]"), block.toString());
        assertTrue(block.contains("trace.pageSize = 7 [-D]") && block.contains("trace.graph.budget = 90"), block.toString());
        int started = indexOf(lines, "Routes startup");
        assertTrue(titles.get(0) < started, "the block comes before the routes start");

        // no secret, in any form, in any line of stderr or stdout
        String all = Files.readString(tmp.resolve(format + ".err"), StandardCharsets.UTF_8) + Files.readString(tmp.resolve(format + ".out"), StandardCharsets.UTF_8);
        for (String secret : List.of(API_PASSWORD, SHARED_PASSWORD, CLIENT_SECRET, AUTHORIZATION, "Hec-T0ken-S3cret-4", TRUSTSTORE_PASSWORD, ENV_SECRET,
                Base64.getEncoder().encodeToString(("svc-trace@contoso.com:" + API_PASSWORD).getBytes(StandardCharsets.UTF_8)))) {
            assertFalse(all.contains(secret), "a secret in the output: " + secret);
        }
    }

    private static boolean isProduct(Line l) {
        return l.logger().equals("m365trace") || l.logger().equals("org.m365trace");
    }

    private static List<Line> windowLines(List<Line> lines) {
        return lines.stream().filter(l -> isProduct(l) && l.message().matches("tenant a: window \\S+\\.\\.\\S+: \\d+ pages, .*")).toList();
    }

    private static int indexOf(List<Line> lines, String messageStart) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).message().startsWith(messageStart)) {
                return i;
            }
        }
        throw new AssertionError("no line " + messageStart);
    }

    /** The jar in its own JVM, stderr to {@code <format>.err}, stdout to {@code <format>.out}. */
    private Process start(Properties settings, Map<String, String> env, String format) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m"));
        cmd.add("-Dcamel.management.port=0");
        settings.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
        cmd.addAll(List.of("-jar", ForwarderJar.JAR.toAbsolutePath().toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(tmp.toFile())
                .redirectError(tmp.resolve(format + ".err").toFile()).redirectOutput(tmp.resolve(format + ".out").toFile());
        // the JVM itself prints a line about these, before any Java code runs
        pb.environment().keySet().removeAll(List.of("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS"));
        pb.environment().putAll(env);
        return pb.start();
    }

    private String stderr(String format) {
        return Fixtures.unchecked(() -> Files.readString(tmp.resolve(format + ".err"), StandardCharsets.UTF_8));
    }

    /**
     * The complete lines of stderr so far; in json each must be one JSON object (else this fails), in text a line that
     * does not start like a log line (a stack trace's) is kept with no level.
     */
    private List<Line> lines(String format) {
        String all = stderr(format);
        List<Line> lines = new ArrayList<>();
        for (String raw : all.substring(0, all.lastIndexOf('\n') + 1).lines().toList()) {
            if (format.equals("json")) {
                JsonNode json = Fixtures.unchecked(() -> MAPPER.readTree(raw));
                assertTrue(json != null && json.isObject(), "not a JSON object: " + raw);
                lines.add(new Line(raw, json.path("level").asText(), json.path("logger").asText(), json.path("message").asText(), json));
            } else {
                Matcher m = TEXT.matcher(raw);
                lines.add(m.matches() ? new Line(raw, m.group(2), m.group(3), m.group(4), null) : new Line(raw, "", "", raw, null));
            }
        }
        return lines;
    }
}
