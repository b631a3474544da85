package org.m365trace.chaos;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;
import org.m365trace.chaos.FakeGraph.Fault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Opt-in soak ({@code mvn -B verify -Psoak}, see docs/testing.md, "Soak test"): the {@link ChaosIT} harness for
 * {@code -Dsoak.minutes} minutes (default 5) with random faults on every side, every few seconds: API 5xx and 429
 * (with and without Retry-After), hung requests, cut pages, 401 episodes; syslog and HTTP receivers away at random;
 * SIGKILL of the forwarder at random intervals and a restart on the same state. Then the same totals as ChaosIT.
 * {@code -Dsoak.seed} replays a run's dataset and fault schedule (timing still varies).
 */
class SoakIT extends ChaosTestSupport {

    @Test
    void every_served_record_reaches_every_sink_under_random_faults() throws Exception {
        Duration length = Duration.ofMinutes(Long.getLong("soak.minutes", 5));
        long seed = Long.getLong("soak.seed", System.currentTimeMillis());
        Random random = new Random(seed);
        long minutes = Math.max(1, length.toMinutes());
        TraceDataset.Plan plan = new TraceDataset.Plan(
                1800, Duration.ofDays(2),
                length, 0.3,
                (int) (8 * minutes), Duration.ofSeconds(10), length,
                (int) (12 * minutes), Duration.ofSeconds(20), length);
        harness = new ChaosHarness("SoakIT", TraceDataset.generate(seed, Instant.now(), plan), Map.of());
        System.out.println("SoakIT: " + length.toMinutes() + " min, seed " + seed + ", dataset " + harness.data.describe()
                + "; work folder " + harness.work().toAbsolutePath());

        harness.startForwarder();
        Chaos chaos = new Chaos(random);
        Instant end = Instant.now().plus(length);
        Instant nextKill = Instant.now().plusSeconds(20 + random.nextInt(40));
        while (Instant.now().isBefore(end)) {
            if (Instant.now().isAfter(nextKill)) {
                harness.killForwarder();
                ChaosHarness.hold(Duration.ofMillis(random.nextInt(3000)));
                harness.startForwarder();
                nextKill = Instant.now().plusSeconds(20 + random.nextInt(40));
            }
            chaos.next();
            // the calm between two faults is held like a fault: 2 to 8 s
            ChaosHarness.hold(Duration.ofMillis(2000 + random.nextInt(6000)));
        }
        chaos.settle();

        harness.awaitComplete(Duration.ofMinutes(5));
        assertTrue(harness.forwarder.stop(Duration.ofSeconds(30)), "the forwarder did not stop within 30 s of SIGTERM");
        Verdict verdict = harness.verdict(true);
        System.out.println("SoakIT: " + harness.activity() + "; syslog outages " + chaos.syslogOutages + ", HTTP outages "
                + chaos.httpOutages + ", API faults " + chaos.apiFaults);
        System.out.print("SoakIT verdict (seed " + seed + "):\n" + verdict.summary());
        List<String> failures = new ArrayList<>(verdict.failures(Map.of(
                "file", 0,
                "syslog", (harness.kills() + chaos.syslogOutages + 1) * 501 + harness.syslog.repeatable(),
                "http", (harness.kills() + chaos.httpOutages + 1) * 101)));
        failures.addAll(harness.refusedRequests());
        assertEquals(List.of(), failures, "acceptance criteria broken (seed " + seed + ")");
    }

    /** Picks the next fault; at most one outage per receiver at a time. */
    private final class Chaos {
        private final Random random;
        private CompletableFuture<Void> syslogOutage = CompletableFuture.completedFuture(null);
        private CompletableFuture<Void> httpOutage = CompletableFuture.completedFuture(null);
        int syslogOutages;
        int httpOutages;
        int apiFaults;

        Chaos(Random random) {
            this.random = random;
        }

        void next() {
            FakeGraph graph = harness.graph;
            switch (random.nextInt(6)) {
                case 0 -> {
                    int n = 1 + random.nextInt(4);
                    for (int i = 0; i < n; i++) {
                        int status = List.of(429, 500, 502, 503, 504).get(random.nextInt(5));
                        Integer retryAfter = status == 429 || random.nextBoolean() ? 1 + random.nextInt(3) : null;
                        graph.inject(Fault.status(status, retryAfter));
                    }
                    apiFaults += n;
                }
                case 1 -> {
                    graph.inject(Fault.hang());
                    apiFaults++;
                }
                case 2 -> {
                    graph.inject(Fault.truncate());
                    apiFaults++;
                }
                case 3 -> {
                    if (!graph.unauthorizedEpisode()) {
                        graph.unauthorizedFor(Duration.ofSeconds(3 + random.nextInt(18)));
                        apiFaults++;
                    }
                }
                case 4 -> {
                    if (syslogOutage.isDone()) {
                        Duration away = Duration.ofSeconds(2 + random.nextInt(14));
                        syslogOutages++;
                        syslogOutage = harness.inBackground("syslog receiver down", () -> {
                            harness.syslog.stop();
                            ChaosHarness.hold(away);
                            harness.syslog.start();
                        });
                    }
                }
                default -> {
                    if (httpOutage.isDone()) {
                        Duration away = Duration.ofSeconds(2 + random.nextInt(29));
                        boolean refuse = random.nextBoolean();
                        httpOutages++;
                        httpOutage = harness.inBackground("HTTP sink down", () -> {
                            if (refuse) {
                                harness.http.refuseConnections();
                            } else {
                                harness.http.answer503();
                            }
                            ChaosHarness.hold(away);
                            harness.http.up();
                        });
                    }
                }
            }
        }

        /** Waits for the outages under way to end; the forwarder keeps (or is started) running. */
        void settle() throws Exception {
            syslogOutage.get();
            httpOutage.get();
            if (!harness.forwarder.isAlive()) {
                harness.startForwarder();
            }
        }
    }
}
