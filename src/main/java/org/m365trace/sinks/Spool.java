package org.m365trace.sinks;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.m365trace.Durations;
import org.m365trace.SettingException;
import org.m365trace.state.DigestSet;

/**
 * The durable queue of one sink: a folder of batch files under {@code trace.stateDir/spool/<sink>}. A record is
 * accepted by the sink once its line is written here; records are appended to a hidden {@code .open-*} file,
 * which is sealed (renamed to {@code <sequence>.ndjson}) when it holds {@code batchSize} records or is older than
 * {@code batchTimeout}. The sink's delivery route consumes sealed files with Camel's file component, which deletes
 * a file only when its delivery succeeded. Bounded: past {@code maxSize} bytes an append fails with a clear error,
 * so the window is not committed and is read again later.
 */
public class Spool {

    /** Lines remembered as queued: more than a page (at most 5,000 rows), so a page read again is not queued twice. */
    private static final int RECENT_LINES = 10_000;

    private Path dir;
    private String sink = "sink";
    private int batchSize = 500;
    private Duration batchTimeout = Duration.ofSeconds(5);
    private long maxSize = 1024L * 1024 * 1024;
    /** Each append (a page) is sealed as a batch of its own at once, besides the bounds of batchSize and batchTimeout. */
    private boolean batchPerAppend;

    private FileChannel open;
    private final ByteBuffer writeBuffer = ByteBuffer.allocate(64 * 1024);
    private Path openFile;
    private long openedAt;
    private int openCount;
    private long bytes = -1;
    private long sequence;
    /** Records in the queue (sealed and open): counted at the start (recover), then plus appends, minus batches taken. */
    private final AtomicLong pending = new AtomicLong();
    /** The last append was refused because the spool is full; ends with the next append that fits. */
    private volatile boolean full;
    /** Lines of the newest file at start: a window read again after a crash does not queue them twice. */
    private final DigestSet recent = new DigestSet(RECENT_LINES);
    /**
     * Lines appended lately, per tenant: a window read again after a failure elsewhere does not queue them twice, however
     * many records other tenants appended meanwhile.
     */
    private final Map<String, DigestSet> recentOf = new HashMap<>();

    /**
     * Appends one record (one line, no line break inside) to the queue. It is remembered as queued only once written
     * whole: a refused or failed append (spool full, disk full) leaves no trace, so the window read again queues it.
     */
    public void append(String line) throws IOException {
        appendAll(List.of(line), "");
    }

    /** As {@link #append(String)}, for a record of {@code tenant} (empty or null without tenants). */
    public void append(String line, String tenant) throws IOException {
        appendAll(List.of(line), tenant);
    }

    /**
     * Appends the records of a page (one line each) for {@code tenant}, in one write per spool batch they fill: all of
     * them or, when the spool is full, none. A line queued lately (the page is read again after a failure elsewhere, or
     * after a crash) is not queued twice.
     */
    public synchronized void appendAll(List<String> lines, String tenant) throws IOException {
        if (bytes < 0) {
            recover();
        }
        DigestSet lately = recentOf.computeIfAbsent(tenant == null ? "" : tenant, t -> new DigestSet(RECENT_LINES));
        List<byte[]> fresh = new ArrayList<>(lines.size());
        List<UUID> digests = new ArrayList<>(lines.size());
        Set<UUID> inThisPage = new HashSet<>();
        long size = 0;
        for (String line : lines) {
            byte[] data = line.getBytes(StandardCharsets.UTF_8);    // encoded once: for its digest and for the file
            UUID digest = DigestSet.lineDigest(data, 0, data.length);
            if (recent.contains(digest) || lately.contains(digest) || !inThisPage.add(digest)) {
                continue;   // queued already: the window is read again after a failure elsewhere, or after a crash
            }
            fresh.add(data);
            digests.add(digest);
            size += data.length + 1;
        }
        if (fresh.isEmpty()) {
            return;
        }
        if (bytes + size > maxSize) {
            bytes = size();
            if (bytes + size > maxSize) {
                full = true;
                throw new IOException("the " + sink + " spool " + dir + " is full (" + maxSize / (1024 * 1024)
                        + " MB, trace.spool.maxSize): the " + sink + " sink is not taking records; records wait in the API until it does");
            }
        }
        for (int from = 0; from < fresh.size(); ) {
            int to = Math.min(fresh.size(), from + batchSize - openCount);
            write(fresh.subList(from, to));
            for (int k = from; k < to; k++) {
                lately.add(digests.get(k));
                bytes += fresh.get(k).length + 1;
            }
            pending.addAndGet(to - from);
            full = false;
            openCount += to - from;
            if (openCount >= batchSize) {
                seal();
            }
            from = to;
        }
        if (batchPerAppend && open != null) {
            seal();         // a batch per page: delivered at once, not a timer tick later
        }
    }

    /**
     * Queues again, as a sealed batch of their own, lines that were delivered but may not have arrived (the syslog
     * receiver closed the connection just after they were written). They were accepted before, so neither a full spool
     * nor the memory of lines queued lately keeps them out.
     */
    public synchronized void requeue(List<String> lines) throws IOException {
        if (lines.isEmpty()) {
            return;
        }
        if (bytes < 0) {
            recover();
        }
        StringBuilder text = new StringBuilder();
        lines.forEach(line -> text.append(line).append('\n'));
        byte[] data = text.toString().getBytes(StandardCharsets.UTF_8);
        Path batch = dir.resolve(".open-" + nextName());      // a crash while writing: recover() hands it over
        Files.write(batch, data, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        handOver(batch);
        bytes += data.length;
        pending.addAndGet(lines.size());
    }

    /** A sealed batch's lines, decoded (the Kafka sink's delivery route reads them so). */
    public String read(String batchFile) throws IOException {
        return Files.readString(Path.of(batchFile), StandardCharsets.UTF_8);
    }

    /**
     * A sealed batch's lines as UTF-8 bytes, not decoded: the file, syslog and HTTP sinks write and send them as they
     * are (decoded, a batch of a few MB was copied again by each step that read it).
     */
    public byte[] readBytes(String batchFile) throws IOException {
        return Files.readAllBytes(Path.of(batchFile));
    }

    /** Writes lines (without their line breaks) to the open batch (opened if none is) in one write, or not at all. */
    private void write(List<byte[]> data) throws IOException {
        if (open == null) {
            openFile = dir.resolve(".open-" + nextName());
            open = FileChannel.open(openFile, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            openedAt = System.nanoTime();
            openCount = 0;
        }
        long before = open.position();
        try {
            // through one reused buffer (a page at once would be a few MB allocated per page): several writes, but a
            // failed one is cut back to before the first, so still all or none
            ByteBuffer buffer = writeBuffer;
            buffer.clear();
            for (byte[] d : data) {
                for (int from = 0; from <= d.length; ) {
                    if (!buffer.hasRemaining()) {
                        drain(buffer);
                    }
                    if (from == d.length) {
                        buffer.put((byte) '\n');
                        break;
                    }
                    int n = Math.min(buffer.remaining(), d.length - from);
                    buffer.put(d, from, n);
                    from += n;
                }
            }
            drain(buffer);
        } catch (IOException e) {
            cutBack(before);
            throw new IOException("the " + sink + " spool cannot write " + openFile + " (" + e.getMessage()
                    + "); records wait in the API until it can", e);
        }
    }

    private void drain(ByteBuffer buffer) throws IOException {
        buffer.flip();
        while (buffer.hasRemaining()) {
            open.write(buffer);
        }
        buffer.clear();
    }

    /** After a failed write: the open batch ends at its last whole line, or is sealed at the next start if it cannot. */
    private void cutBack(long size) {
        try {
            open.truncate(size);
            open.position(size);
        } catch (IOException e) {
            // nothing more goes into this file: its whole lines are handed to delivery without the half one, now if
            // the disk lets us, else by recover() at the next start
            try {
                open.close();
                TraceFiles.dropCutLastLine(openFile);
                handOver(openFile);
            } catch (IOException ignored) {
                // still failing: left for recover()
            }
            open = null;
        }
    }

    /** Hands the open batch to the delivery route. */
    public synchronized void seal() throws IOException {
        if (open == null) {
            return;
        }
        open.close();
        open = null;
        handOver(openFile);
    }

    /** Renames an open batch to its sealed name, where the delivery route finds it. */
    private void handOver(Path openBatch) throws IOException {
        Files.move(openBatch, dir.resolve(openBatch.getFileName().toString().substring(".open-".length())), StandardCopyOption.ATOMIC_MOVE);
    }

    /** Seals the open batch once it is older than {@code batchTimeout}; called every second by the sink's route. */
    public synchronized void sealIfDue() throws IOException {
        if (bytes < 0) {
            recover();     // the first tick after start: what a previous run left open is delivered now
        }
        if (open != null && System.nanoTime() - openedAt >= batchTimeout.toNanos()) {
            seal();
        }
    }

    /** Records waiting in the queue (sealed and open): appended, or left by a previous run, and not yet taken. */
    public long pendingRecords() {
        return pending.get();
    }

    /**
     * A sealed batch of {@code records} records left the queue (delivered, or kept as a dead letter): they no longer
     * wait, there is room.
     */
    public synchronized void taken(long records) throws IOException {
        if (bytes < 0) {
            recover();      // counts what waits, this batch included, before it is taken off
        }
        pending.addAndGet(-records);
        full = false;
    }

    /** The lines of a batch, as the spool wrote them (one record a line). */
    public static long lines(String batch) {
        long n = 0;
        for (int start = 0; start < batch.length(); ) {         // in place: no copy of each line
            int newline = batch.indexOf('\n', start);
            int end = newline < 0 ? batch.length() : newline;
            for (int i = start; i < end; i++) {
                if (!Character.isWhitespace(batch.charAt(i))) {
                    n++;
                    break;
                }
            }
            start = end + 1;
        }
        return n;
    }

    /** Whether the last append was refused for lack of room (trace.spool.maxSize) and none fitted since. */
    public boolean isFull() {
        return full;
    }

    /**
     * When the oldest record still in the queue was appended (the name of its batch says so), or null when the queue
     * is empty.
     */
    public Instant oldestWaiting() throws IOException {
        if (dir == null || !Files.isDirectory(dir)) {
            return null;
        }
        String oldest = null;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.ndjson")) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                String stamp = name.startsWith(".open-") ? name.substring(".open-".length()) : name;
                if (stamp.length() >= 13 && (oldest == null || stamp.compareTo(oldest) < 0)) {
                    oldest = stamp;
                }
            }
        }
        try {
            return oldest == null ? null : Instant.ofEpochMilli(Long.parseLong(oldest.substring(0, 13)));
        } catch (NumberFormatException notOurs) {
            return null;
        }
    }

    /**
     * Seals what a previous run left open: its records were accepted and must be delivered. Runs at the first append or
     * seal tick, that is once the routes run and so once this process holds the lock of {@code trace.stateDir} (not
     * as the bean's init method: route files, and so beans, are loaded in no fixed order, and a second process on
     * the same state must not touch the running one's open batch before its lock check stops it).
     */
    public synchronized void recover() throws IOException {
        if (open != null) {
            return;
        }
        Files.createDirectories(dir);
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, ".open-*")) {
            for (Path f : files) {
                TraceFiles.dropCutLastLine(f);     // a write cut short by a crash or a full disk
                handOver(f);
            }
        }
        // the page in flight at a crash may be in the newest batches already: their newest RECENT_LINES lines
        List<Path> newestFirst;
        try (Stream<Path> files = Files.list(dir)) {
            newestFirst = files.filter(f -> f.getFileName().toString().endsWith(".ndjson"))
                    .sorted(Comparator.reverseOrder()).collect(Collectors.toList());
        }
        List<List<String>> newest = new ArrayList<>();
        int held = 0;
        for (Path f : newestFirst) {
            if (held >= RECENT_LINES) {
                break;
            }
            List<String> lines;
            try {
                lines = Files.readAllLines(f, StandardCharsets.UTF_8);
            } catch (NoSuchFileException delivered) {
                continue;
            }
            newest.add(0, lines);
            held += lines.size();
        }
        newest.forEach(lines -> lines.forEach(recent::addLine));
        bytes = size();
        pending.set(countLines());
    }

    /** Records in the sealed batches (at the start, after sealing what was left open). */
    private long countLines() throws IOException {
        long n = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.ndjson")) {
            for (Path f : files) {
                try (Stream<String> lines = Files.lines(f, StandardCharsets.UTF_8)) {
                    n += lines.filter(l -> !l.isBlank()).count();
                } catch (NoSuchFileException | UncheckedIOException delivered) {
                    // delivered (and deleted) while counting
                }
            }
        }
        return n;
    }

    private long size() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.collect(Collectors.summingLong(f -> f.toFile().length()));
        }
    }

    /** Names sort in append order, also across restarts: start time in ms, then a counter. */
    private String nextName() {
        return String.format("%013d-%06d.ndjson", System.currentTimeMillis(), sequence++ % 1_000_000);
    }

    /**
     * Puts {@code parts} in the place of the sealed batch {@code batchName} that is being delivered: as
     * {@code <batch>-01.ndjson}, {@code <batch>-02.ndjson}, ..., which sort where the batch did. The delivery route then
     * ends without a failure, so that the file consumer deletes the batch itself. Used to split a batch that is too
     * large for the endpoint, and to keep only the records to send again (Elasticsearch's throttled items).
     */
    public synchronized void replace(String batchName, List<String> parts) throws IOException {
        String base = batchName.replaceFirst("\\.ndjson$", "");
        for (int i = 0; i < parts.size(); i++) {
            String name = String.format("%s-%02d.ndjson", base, i + 1);
            Path part = dir.resolve("." + name);
            Files.writeString(part, parts.get(i), StandardCharsets.UTF_8);
            Files.move(part, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * Leaves only {@code lines} in the sealed batch {@code batchFile} whose delivery is failing, in place and in one
     * step (written beside it, then renamed over it): the records the receiver did take are not sent again with the
     * rest. The delivery route then fails, so the file stays where it is and is delivered again, with what is left.
     */
    public synchronized void retain(String batchFile, List<String> lines) throws IOException {
        Path batch = Path.of(batchFile);
        Path next = batch.resolveSibling("." + batch.getFileName() + ".retain");     // hidden: no delivery picks it up
        StringBuilder text = new StringBuilder();
        lines.forEach(line -> text.append(line).append('\n'));
        Files.writeString(next, text, StandardCharsets.UTF_8);
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(next, java.nio.file.StandardOpenOption.WRITE)) {
            ch.force(true);             // on disk before it replaces the batch: a power loss keeps one or the other
        }
        Files.move(next, batch, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Keeps only {@code lines} (UTF-8) of the sealed batch {@code batchName} being delivered: see {@link #replace}. */
    public void keep(String batchName, byte[] lines) throws IOException {
        replace(batchName, List.of(new String(lines, StandardCharsets.UTF_8)));
    }

    /** Turns a batch of JSON lines (UTF-8) into a JSON array, {@code [rec,rec,...]}, made in one array of its size. */
    public static byte[] asJsonArray(byte[] ndjson) {
        int[] size = {1};
        Utf8Lines.forEach(ndjson, (start, end, next) -> size[0] += end - start + 1);
        byte[] array = new byte[Math.max(2, size[0])];
        int[] at = {0};
        Utf8Lines.forEach(ndjson, (start, end, next) -> {
            int length = end - start;
            array[at[0]] = (byte) (at[0] == 0 ? '[' : ',');
            System.arraycopy(ndjson, start, array, at[0] + 1, length);
            at[0] += length + 1;
        });
        array[0] = '[';                         // also of an empty batch: []
        array[array.length - 1] = ']';
        return array;
    }

    public void setDir(String dir) {
        this.dir = Path.of(dir);
    }

    public void setBatchPerAppend(boolean batchPerAppend) {
        this.batchPerAppend = batchPerAppend;
    }

    public void setSink(String sink) {
        this.sink = sink;
    }

    public void setBatchSize(int batchSize) {
        if (batchSize < 1) {
            throw new SettingException("trace.http.batchSize", "a number of records of 1 or more", String.valueOf(batchSize));
        }
        this.batchSize = batchSize;
    }

    public void setBatchTimeout(String batchTimeout) {
        this.batchTimeout = Durations.parse("trace.http.batchTimeout", batchTimeout);
    }

    public void setMaxSize(String maxSizeMb) {
        try {
            this.maxSize = Long.parseLong(maxSizeMb.trim()) * 1024 * 1024;
        } catch (NumberFormatException e) {
            throw new SettingException("trace.spool.maxSize", "a size in MB", maxSizeMb);
        }
    }
}
