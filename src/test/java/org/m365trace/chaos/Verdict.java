package org.m365trace.chaos;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Compares what reached the sinks with what the fake Graph served.
 *
 * <p><b>Expected</b> in every sink: each (messageTraceId, recipientAddress, status) the fake served in a complete
 * 200 page. One exception, <b>excused</b>: a status that was later replaced (not the row's final one) and was served
 * only to forwarder processes that were killed with SIGKILL within {@link #IN_FLIGHT} after; such a process may have
 * died before it handled the page, and the status is gone when the next process reads the row. Also every row must
 * have been served in its final status (the forwarder kept re-reading through {@code trace.overlap}).
 *
 * <p><b>Allowed</b> in a sink: only keys of rows the fake exposed in some page body (complete or cut), each record
 * equal to the served row as the contract maps it. The file sink may hold a key once only; syslog and HTTP may
 * repeat what was in flight when the forwarder was killed or a receiver went away.
 */
final class Verdict {

    private static final int EXAMPLES = 10;
    /** Far longer than a forwarder takes to handle a page (a second or two): a kill later than this leaves no excuse. */
    private static final Duration IN_FLIGHT = Duration.ofSeconds(30);

    /** One sink's tally. */
    record SinkResult(String name, int records, int distinct, int duplicates, List<String> duplicated, Set<String> missing,
                      Set<String> missingExcused, List<String> unknown, List<String> problems) {
    }

    private final Set<String> expected = new HashSet<>();
    private final Set<String> excused = new HashSet<>();
    private final List<TraceDataset.Row> finalNotServed;
    private final List<SinkResult> sinks = new ArrayList<>();
    private final int served;
    private final String coverage;

    Verdict(TraceDataset data, Map<String, List<FakeGraph.Serve>> servedKeys, Set<String> exposed, Map<Integer, Instant> killedAt,
            List<TraceDataset.Row> finalNotServed, List<SinkContents> contents) {
        this.finalNotServed = finalNotServed;
        this.served = servedKeys.size();
        servedKeys.forEach((key, serves) -> {
            TraceDataset.Row row = data.row(key.substring(0, key.lastIndexOf('|')));
            boolean superseded = !key.equals(row.key(row.finalStatus()));
            if (superseded && serves.stream().allMatch(s -> inFlightAtKill(s, killedAt))) {
                excused.add(key);
            } else {
                expected.add(key);
            }
        });
        for (SinkContents sink : contents) {
            sinks.add(tally(data, exposed, sink));
        }
        this.coverage = coverage(data, contents);
    }

    /** The serve reached a process that was killed within {@link #IN_FLIGHT} after it: it may have died holding the page. */
    private static boolean inFlightAtKill(FakeGraph.Serve serve, Map<Integer, Instant> killedAt) {
        Instant kill = killedAt.get(serve.generation());
        return kill != null && Duration.between(serve.at(), kill).compareTo(IN_FLIGHT) <= 0;
    }

    /** How many rows that changed status, or showed up late, are in every sink with each status / at all. */
    private static String coverage(TraceDataset data, List<SinkContents> contents) {
        List<Set<String>> keys = contents.stream().map(c -> c.keyCounts().keySet()).toList();
        int changed = 0;
        int everyStatus = 0;
        int late = 0;
        int lateEverywhere = 0;
        for (TraceDataset.Row row : data.rows()) {
            if (row.phases().size() > 1) {
                changed++;
                if (row.phases().stream().allMatch(p -> keys.stream().allMatch(k -> k.contains(row.key(p.status()))))) {
                    everyStatus++;
                }
            }
            if (row.visibleAt().isAfter(row.received().plusSeconds(10))) {
                late++;
                if (keys.stream().allMatch(k -> k.contains(row.key(row.finalStatus())))) {
                    lateEverywhere++;
                }
            }
        }
        return String.format("rows that changed status: %d, of which %d in every sink with every status; rows visible"
                + " more than 10 s after receivedDateTime: %d, of which %d in every sink", changed, everyStatus, late, lateEverywhere);
    }

    private SinkResult tally(TraceDataset data, Set<String> exposed, SinkContents sink) {
        Map<String, Integer> counts = sink.keyCounts();
        Set<String> missing = new TreeSet<>(expected);
        missing.removeAll(counts.keySet());
        Set<String> missingExcused = new TreeSet<>(excused);
        missingExcused.removeAll(counts.keySet());
        List<String> unknown = new ArrayList<>();
        List<String> problems = new ArrayList<>(sink.problems());
        Set<String> checked = new HashSet<>();
        for (JsonNode record : sink.records()) {
            String key = Contract.key(record);
            if (!exposed.contains(key)) {
                unknown.add(key);
                continue;
            }
            if (checked.add(key)) {
                TraceDataset.Row row = data.row(key.substring(0, key.lastIndexOf('|')));
                Contract.contentProblems(record, row).forEach(p -> problems.add(key + ": " + p));
            }
        }
        List<String> duplicated = counts.entrySet().stream().filter(e -> e.getValue() > 1)
                .map(e -> e.getKey() + " x" + e.getValue()).sorted().toList();
        return new SinkResult(sink.name(), sink.records().size(), counts.size(), sink.duplicates(), duplicated, missing,
                missingExcused, unknown, problems);
    }

    /** Every expected key is in every sink, and every row was served in its final status. */
    boolean complete() {
        return finalNotServed.isEmpty() && sinks.stream().allMatch(s -> s.missing().isEmpty());
    }

    SinkResult sink(String name) {
        return sinks.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }

    /** What breaks the acceptance criteria; {@code maxDuplicates} per sink name (the file sink: 0). */
    List<String> failures(Map<String, Integer> maxDuplicates) {
        List<String> failures = new ArrayList<>();
        if (!finalNotServed.isEmpty()) {
            failures.add(finalNotServed.size() + " rows were never read in their final status, e.g. "
                    + finalNotServed.stream().limit(EXAMPLES).map(r -> r.rowKey() + " " + r.phases() + " visible " + r.visibleAt()).toList());
        }
        for (SinkResult s : sinks) {
            if (!s.missing().isEmpty()) {
                failures.add(s.name() + ": " + s.missing().size() + " served records missing, e.g. " + examples(s.missing()));
            }
            if (!s.unknown().isEmpty()) {
                failures.add(s.name() + ": " + s.unknown().size() + " records the fake never served, e.g. " + examples(s.unknown()));
            }
            if (!s.problems().isEmpty()) {
                failures.add(s.name() + ": " + s.problems().size() + " contract problems, e.g. " + examples(s.problems()));
            }
            int max = maxDuplicates.getOrDefault(s.name(), 0);
            if (s.duplicates() > max) {
                failures.add(s.name() + ": " + s.duplicates() + " duplicate records (at most " + max + " allowed)");
            }
        }
        return failures;
    }

    String summary() {
        StringBuilder out = new StringBuilder();
        out.append(String.format("served keys %d: expected %d, excused %d (replaced statuses served only just before kills)%n",
                served, expected.size(), excused.size()));
        for (SinkResult s : sinks) {
            out.append(String.format("  %-6s records %5d, distinct %5d, duplicates %4d, missing %4d (+%d excused), unknown %d, problems %d%n",
                    s.name(), s.records(), s.distinct(), s.duplicates(), s.missing().size(), s.missingExcused().size(),
                    s.unknown().size(), s.problems().size()));
            if (!s.duplicated().isEmpty()) {
                out.append("         repeated: ").append(examples(s.duplicated())).append('\n');
            }
        }
        out.append("  ").append(coverage).append('\n');
        if (!finalNotServed.isEmpty()) {
            out.append("  rows not yet served in their final status: ").append(finalNotServed.size()).append('\n');
        }
        return out.toString();
    }

    private static List<String> examples(Collection<String> items) {
        return items.stream().limit(EXAMPLES).toList();
    }
}
