package org.m365trace.it;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.m365trace.demo.SimulatedReportingService;
import org.m365trace.state.TraceCheckpoint;

/**
 * Watches, every few milliseconds while a test runs, that the checkpoint never claims a window whose rows the file
 * sink has not accepted: at every moment, each row the API serves with {@code received <= checkpoint} is a line of the
 * file sink's durable spool ({@code stateDir/spool/file}) or of an NDJSON output file. It holds for a simulator
 * without late rows (every row visible before its window is read) and without status changes in flight
 * ({@code pendingFor 0s}), which is how the fault tests set it up. The checkpoint is read first, then the spool, then
 * the output files: a line leaves the spool only after it is in an output file, and output files only grow, so a
 * sample can never see a false violation (a spool file renamed or deleted while read makes the sample void).
 * <p>
 * It also keeps every checkpoint value seen, in order, so that a test can tell when it moved.
 */
final class CheckpointWatch implements AutoCloseable {

    private final TraceCheckpoint checkpoint;
    private final Path out;
    private final Path spool;
    private final SimulatedReportingService api;
    private final ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "checkpoint-watch");
        t.setDaemon(true);
        return t;
    });
    private final List<Instant> history = new ArrayList<>();
    private volatile String violation;
    private volatile int samples;

    CheckpointWatch(TraceCheckpoint checkpoint, Path out, SimulatedReportingService api) {
        this.checkpoint = checkpoint;
        this.out = out;
        this.spool = checkpoint.getFile().resolveSibling("spool").resolve("file");
        this.api = api;
        sampler.scheduleWithFixedDelay(this::sample, 0, 20, TimeUnit.MILLISECONDS);
    }

    private void sample() {
        try {
            Instant cp = checkpoint.read();
            synchronized (history) {
                if (cp != null && (history.isEmpty() || !cp.equals(history.get(history.size() - 1)))) {
                    history.add(cp);
                }
            }
            if (cp == null || violation != null) {
                samples++;
                return;
            }
            Set<String> inFile = new HashSet<>(Sinks.keys(Sinks.files(spool)));
            inFile.addAll(Sinks.keys(Sinks.files(out)));
            Map<String, SimulatedReportingService.Row> rows = api.rowsByKey();
            for (String key : api.currentKeys()) {
                SimulatedReportingService.Row row = rows.get(key);
                if (!row.received().isAfter(cp) && !inFile.contains(key)) {
                    violation = "checkpoint " + cp + " passed row " + key + " received " + row.received()
                            + " that the file sink has not accepted";
                    break;
                }
            }
            samples++;
        } catch (Exception e) {
            // a file replaced or deleted while read (checkpoint rename, spool seal or delivery): the next sample reads it
        }
    }

    /** The checkpoint values seen, oldest first (null, before the first commit, is not listed). */
    List<Instant> history() {
        synchronized (history) {
            return new ArrayList<>(history);
        }
    }

    /** The checkpoint as last seen. */
    Instant last() {
        List<Instant> h = history();
        return h.isEmpty() ? null : h.get(h.size() - 1);
    }

    /** The first moment the checkpoint was ahead of the file sink, or null; fails if the watch took too few samples. */
    String violation() {
        if (samples < 10) {
            throw new IllegalStateException("the checkpoint watch took only " + samples + " samples");
        }
        return violation;
    }

    @Override
    public void close() {
        sampler.shutdownNow();
    }
}
