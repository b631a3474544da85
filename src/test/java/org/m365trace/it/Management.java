package org.m365trace.it;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The forwarder's management server as an operator sees it: GET /observe/health and /observe/metrics over HTTP. */
final class Management {

    /** One Prometheus sample line: {@code name{label="value",...} 12.0}. */
    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)})? (\\S+)$");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    record Reply(int status, String body) {

        /** The status (UP, DOWN) of the check {@code name} in a full health reply, or null if it is not there. */
        String check(String name) {
            try {
                for (com.fasterxml.jackson.databind.JsonNode c : Sinks.MAPPER.readTree(body).path("checks")) {
                    if (name.equals(c.path("name").asText())) {
                        return c.path("status").asText();
                    }
                }
                return null;
            } catch (IOException e) {
                throw new IllegalStateException(body, e);
            }
        }
    }

    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final int port;

    Management(int port) {
        this.port = port;
    }

    /** A free loopback port for {@code camel.management.port}. */
    static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    Reply get(String path) {
        try {
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r.body());
        } catch (IOException e) {
            throw new IllegalStateException("GET " + path + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** GET /observe/health with every check's details. */
    Reply health() {
        return get("/observe/health?exposureLevel=full&data=true");
    }

    /** GET /observe/metrics, parsed. */
    Metrics metrics() {
        Reply r = get("/observe/metrics");
        if (r.status() != 200) {
            throw new IllegalStateException("/observe/metrics answered " + r.status() + ": " + r.body());
        }
        return new Metrics(r.body());
    }

    /** A scrape: every sample by its name and labels. */
    static final class Metrics {
        final String text;
        private final Map<String, Map<Map<String, String>, Double>> samples = new HashMap<>();

        Metrics(String text) {
            this.text = text;
            for (String line : text.split("\n")) {
                if (line.startsWith("#") || line.isBlank()) {
                    continue;
                }
                Matcher m = SAMPLE.matcher(line.trim());
                if (!m.matches()) {
                    throw new IllegalStateException("not a Prometheus sample: " + line);
                }
                Map<String, String> labels = new TreeMap<>();
                if (m.group(3) != null) {
                    Matcher l = LABEL.matcher(m.group(3));
                    while (l.find()) {
                        labels.put(l.group(1), l.group(2));
                    }
                }
                samples.computeIfAbsent(m.group(1), n -> new HashMap<>()).put(labels, Double.parseDouble(m.group(4)));
            }
        }

        /** The sum of the samples of {@code name} whose labels include {@code labels} (pairs: name, value); 0 if none. */
        double sum(String name, String... labels) {
            return samples.getOrDefault(name, Map.of()).entrySet().stream()
                    .filter(e -> matches(e.getKey(), labels)).mapToDouble(Map.Entry::getValue).sum();
        }

        /** The one sample of {@code name} with {@code labels}; NaN if there is none. */
        double value(String name, String... labels) {
            return samples.getOrDefault(name, Map.of()).entrySet().stream()
                    .filter(e -> matches(e.getKey(), labels)).mapToDouble(Map.Entry::getValue).findFirst().orElse(Double.NaN);
        }

        boolean has(String name) {
            return samples.containsKey(name);
        }

        private static boolean matches(Map<String, String> have, String... want) {
            for (int i = 0; i < want.length; i += 2) {
                if (!want[i + 1].equals(have.get(want[i]))) {
                    return false;
                }
            }
            return true;
        }
    }
}
