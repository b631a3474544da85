package org.m365trace.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

/**
 * {@code trace.filter.statuses}: only records of the listed statuses reach the sinks, each once, and
 * {@code trace_records_filtered_total} counts the others, so that every row fetched is accounted for.
 */
class FilterIT extends SimulatorTestSupport {

    private static final Set<String> FORWARDED = Set.of("Failed", "FilteredAsSpam");

    private Management management;

    @Override
    protected Properties settings() {
        api = Fixtures.seededSimulator(60);
        Properties p = Fixtures.oneWindow(Fixtures.pipelineProperties(api, tmp), api, 2);
        p.put("trace.filter.statuses", String.join(",", FORWARDED));
        int port = Management.freePort();
        p.put("camel.management.port", String.valueOf(port));
        management = new Management(port);
        return p;
    }

    @Test
    void only_the_listed_statuses_reach_the_sink_and_the_others_are_counted_as_filtered() {
        Set<String> served = api.currentKeys();
        Set<String> expected = served.stream().filter(k -> FORWARDED.contains(k.substring(k.lastIndexOf('|') + 1)))
                .collect(Collectors.toSet());
        assertFalse(expected.isEmpty() || expected.size() == served.size(), "the seeded rows have statuses of both kinds");

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            List<String> keys = Sinks.keys(Sinks.files(out()));
            assertEquals(expected, Set.copyOf(keys), "the file sink");
            assertEquals(keys.size(), Set.copyOf(keys).size(), "no record twice");
        });
        // every row fetched was forwarded, skipped as a duplicate (re-read in the overlap) or filtered out
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            Management.Metrics m = management.metrics();
            double fetched = m.sum("trace_rows_fetched_total");
            double filtered = m.sum("trace_records_filtered_total");
            assertTrue(filtered >= served.size() - expected.size(), "the first read filtered out the others: " + filtered);
            assertEquals(fetched, expected.size() + m.sum("trace_records_duplicate_total") + filtered, 0.0, m.text);
            assertEquals(expected.size(), m.sum("trace_records_forwarded_total", "sink", "file"), 0.0, "forwarded");
        });
    }
}
