package org.m365trace.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.m365trace.demo.SimulatedReportingService;

/** A 400 whose reply names a charset other than UTF-8 must not change the records kept as dead letters. */
class HttpDeadLetterCharsetIT {

    @TempDir
    Path tmp;

    @Test
    void non_ascii_dead_letters_stay_byte_exact_whatever_charset_the_refusal_names() throws Exception {
        SimulatedReportingService api = Fixtures.simulator(0);
        api.setPendingFor("0s");
        String subject = "Réunion d'été — 日本語 ✓";
        Instant now = Instant.now();
        for (int i = 0; i < 4; i++) {
            api.sendMessage(now.minusSeconds(60 + i * 60L), subject);
        }
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", ex -> {
            ex.getRequestBody().readAllBytes();
            byte[] reason = "requête refusée".getBytes(StandardCharsets.ISO_8859_1);
            ex.getResponseHeaders().set("Content-Type", "text/plain; charset=ISO-8859-1");   // e.g. Jetty's error pages
            ex.sendResponseHeaders(400, reason.length);
            ex.getResponseBody().write(reason);
            ex.close();
        });
        server.start();
        Properties settings = Fixtures.oneWindow(Fixtures.pipelineProperties(api, tmp), api, 1);
        settings.put("trace.http.enabled", "true");
        settings.put("trace.http.url", "http://127.0.0.1:" + server.getAddress().getPort() + "/");
        Path dir = tmp.resolve("state/deadletter/http");
        try (Forwarder f = Forwarder.start(settings)) {
            await().atMost(Duration.ofSeconds(60)).until(() -> lines(dir).size() == 4);
        } finally {
            server.stop(0);
            api.stop();
        }
        for (String line : lines(dir)) {
            assertEquals(subject, Sinks.MAPPER.readTree(line).get("subject").asText(), line);
        }
    }

    private static List<String> lines(Path dir) throws Exception {
        List<String> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (Stream<Path> s = Files.list(dir)) {
            for (Path reason : s.filter(p -> p.toString().endsWith(".reason")).toList()) {
                Path letter = Path.of(reason.toString().replaceFirst("\\.reason$", ""));
                out.addAll(Files.readAllLines(letter, StandardCharsets.UTF_8).stream().filter(l -> !l.isBlank()).toList());
            }
        }
        return out;
    }
}
