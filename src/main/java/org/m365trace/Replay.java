package org.m365trace;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.builder.NotifyBuilder;
import org.m365trace.sinks.Spool;
import org.m365trace.source.TraceTenants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The file side of a replay run (docs/operations.md, "Dead letters and replay"): the dead letters of a sink, and the end of the run.
 * A dead letter is {@code trace.stateDir/deadletter/<sink>/<name>.ndjson} with {@code <name>.ndjson.reason} beside it.
 */
public class Replay implements CamelContextAware {

    private static final Logger LOG = LoggerFactory.getLogger(Replay.class);

    private static volatile boolean failed;

    private Path stateDir;
    private CamelContext camelContext;
    private boolean range;
    private List<String> tenants = List.of();
    /** A replay of a time range: per source (route trace-poll, or trace-poll-<tenant>), its first poll of the range ended. */
    private final List<NotifyBuilder> polled = new ArrayList<>();
    private final List<NotifyBuilder> failedPoll = new ArrayList<>();
    /** Dead letters written from here on were refused during this run. */
    private final long startedAt = System.currentTimeMillis();

    /** Watches the sources of a replay of a time range: created before they start, so no poll is missed. */
    public void watch() {
        if (range) {
            for (String tenant : tenants.isEmpty() ? List.of("") : tenants) {
                String route = TraceTenants.pollRouteId(tenant);
                polled.add(new NotifyBuilder(camelContext).fromRoute(route).whenDone(1).create());
                failedPoll.add(new NotifyBuilder(camelContext).fromRoute(route).whenFailed(1).create());
            }
        }
    }

    /** True while a source still reads the replayed range; fails when one could not read it (its error was logged). */
    public boolean reading() {
        if (failedPoll.stream().anyMatch(NotifyBuilder::matches)) {
            throw new IllegalStateException("the source could not read the replayed range");
        }
        return !polled.stream().allMatch(NotifyBuilder::matches);
    }

    /**
     * The dead letters a replay of {@code sink} hands to it. None is said in a WARN line with the folder looked in, and,
     * with the jdbc store (where that folder is this instance's), the other instances' folders that do hold some.
     */
    public List<Path> toReplay(String sink) throws IOException {
        List<Path> found = deadLetters(sink);
        if (found.isEmpty()) {
            List<String> others = new ArrayList<>();
            Path shared = stateDir.toAbsolutePath().getParent();
            try (Stream<Path> siblings = shared == null ? Stream.empty() : Files.list(shared)) {
                for (Path other : siblings.filter(Files::isDirectory).sorted().toList()) {
                    if (!other.equals(stateDir.toAbsolutePath()) && !deadLetters(other, sink).isEmpty()) {
                        others.add(other.getFileName().toString());
                    }
                }
            } catch (IOException e) {
                LOG.debug("replay: the folders beside {}: {}", stateDir, e.toString());
            }
            LOG.warn("replay: no dead letters of the {} sink in {}{}", sink, stateDir.resolve("deadletter").resolve(sink),
                    others.isEmpty() ? "" : "; folders of other instances hold some: " + others + " (replay with their trace.instance)");
        }
        return found;
    }

    /** The complete dead letters of {@code sink} (those with their reason written), oldest first. */
    public List<Path> deadLetters(String sink) throws IOException {
        return deadLetters(stateDir, sink);
    }

    private static List<Path> deadLetters(Path stateDir, String sink) throws IOException {
        Path dir = stateDir.resolve("deadletter").resolve(sink);
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".ndjson"))
                    .filter(f -> Files.exists(reasonOf(f)))
                    .sorted()
                    .toList();
        }
    }

    /** A dead letter's records: its non-blank lines, in order. */
    public List<String> lines(String deadLetter) {
        return deadLetter.lines().filter(l -> !l.isBlank()).toList();
    }

    /** Removes a dead letter once its records were handed to the sink again. */
    public void forget(Path deadLetter) throws IOException {
        Files.deleteIfExists(deadLetter);
        Files.deleteIfExists(reasonOf(deadLetter));
    }

    /** True while records handed to {@code sink} wait in its spool; seals its open batch. */
    public boolean waiting(String sink, CamelContext context) throws IOException {
        Spool spool = context.getRegistry().lookupByNameAndType(sink + "Spool", Spool.class);
        if (spool == null) {
            return false;
        }
        spool.seal();
        boolean waiting = spool.oldestWaiting() != null;
        if (waiting) {
            LOG.debug("replay: {} records wait for the {} sink", spool.pendingRecords(), sink);
        }
        return waiting;
    }

    /**
     * Ends a replay once the sink's spool is empty: exit code 0 when the sink accepted every record, 1 when it refused
     * some again for good (they are back in its dead letters, with the new reason).
     */
    public void done(String sink, CamelContext context) throws IOException {
        long refused = deadLetters(sink).stream().filter(f -> f.toFile().lastModified() >= startedAt).count();
        if (refused > 0) {
            LOG.error("replay: the {} sink refused {} batches again; they are back in {} with the reason; fix the cause,"
                    + " then replay again (exit code 1)", sink, refused, stateDir.resolve("deadletter").resolve(sink));
            failed = true;
        } else {
            LOG.info("replay done: every replayed record was accepted by the {} sink; stopping", sink);
        }
        stop(context);
    }

    /** Ends a replay that failed (the error was logged): exit code 1; what was not replayed can be replayed again. */
    public void fail(CamelContext context) {
        LOG.error("replay ended with the error above (exit code 1); dead letters not yet replayed are kept");
        failed = true;
        stop(context);
    }

    /** True once a replay run failed; the standalone jar then exits with code 1. */
    public static boolean failed() {
        return failed;
    }

    /** Stops Camel from another thread (a route must not stop the context it runs in). */
    private static void stop(CamelContext context) {
        Thread stopper = new Thread(() -> {
            try {
                context.stop();
            } catch (RuntimeException e) {
                LOG.warn("stopping after the replay failed: {}", e.getMessage());
            }
        }, "replay-finish");
        stopper.start();
    }

    private static Path reasonOf(Path deadLetter) {
        return deadLetter.resolveSibling(deadLetter.getFileName() + ".reason");
    }

    /** trace.replay.from: non-empty in a replay of a time range. */
    public void setFrom(String from) {
        this.range = from != null && !from.isBlank();
    }

    /** trace.tenants: one source per tenant. */
    public void setTenants(String tenants) {
        this.tenants = TraceTenants.names(tenants);
    }

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }

    public void setStateDir(String stateDir) {
        this.stateDir = Path.of(stateDir);
    }
}
