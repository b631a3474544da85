package org.m365trace.sinks;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

import org.m365trace.state.DigestSet;
import org.m365trace.state.InstanceFolder;
import org.m365trace.state.TraceStateStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The file sink's delivery: appends each record of a spool batch as one line to {@code trace-<received date>.ndjson}
 * in {@code trace.file.dir} ({@code trace-<instance>-<received date>.ndjson} with the jdbc store, where instances may
 * share the folder).
 * <p>
 * It does what Camel's file producer (append mode) cannot promise after a fault:
 * <ul>
 * <li>a write that fails part-way (disk full) is cut back, so a file never holds half a line;</li>
 * <li>at start, a last line cut short by a crash is removed (its record is delivered again);</li>
 * <li>a batch delivered again (after a failure part-way, or a crash before its spool file was deleted) does not
 * write its records twice: the lines written lately, and at start the last lines of the newest files, are
 * remembered and an identical line is skipped.</li>
 * </ul>
 * Files stay open between records (a few at most, one per received date) instead of being opened per record.
 */
public class TraceFiles {

    private static final Logger LOG = LoggerFactory.getLogger(TraceFiles.class);
    private static final int REMEMBERED_LINES = 10_000;        // per file at start; more than a spool batch (5,000)
    private static final int REMEMBERED_FILES = 3;
    private static final int TAIL_BYTES = 1 << 20;
    private static final int OPEN_FILES = 4;

    private static final String RECEIVED = "\"received\":\"";
    private static final byte[] RECEIVED_BYTES = Utf8Lines.key("received");

    private Path dir;
    /** {@code trace-}, or with the jdbc store {@code trace-<instance>-}: instances sharing the folder write their own files. */
    private String prefix = "trace-";
    private String store = "";
    private String instance = "";
    private Pattern names = names(prefix);
    /** recover() ran: it runs at the first batch, once this process holds the lock of trace.stateDir. */
    private boolean recovered;
    private final DigestSet written = new DigestSet(REMEMBERED_LINES * REMEMBERED_FILES);
    private final Map<Path, FileChannel> open = new LinkedHashMap<>(8, 0.75f, true);

    /** {@code trace.state.store}: with {@code jdbc} (several instances) the files are named by the instance. */
    public void setStore(String store) {
        this.store = store == null ? "" : store;
        prefixes();
    }

    /** {@code trace.instance} (else the host name, as the instance's leases and folders). */
    public void setInstance(String instance) {
        this.instance = instance == null ? "" : instance;
        prefixes();
    }

    private void prefixes() {
        boolean jdbc = TraceStateStore.JDBC.equals(TraceStateStore.storeOf(store));
        prefix = jdbc ? "trace-" + InstanceFolder.name(instance) + "-" : "trace-";
        names = names(prefix);
    }

    /** This instance's files exactly: {@code trace-i1-} must not take {@code trace-i1-b-2026-12-01.ndjson} for its own. */
    private static Pattern names(String prefix) {
        return Pattern.compile(Pattern.quote(prefix) + "\\d{4}-\\d{2}-\\d{2}\\.ndjson");
    }

    public void setDir(String dir) {
        this.dir = Path.of(dir);
    }

    /**
     * Repairs what a crash left and remembers the newest lines. Runs before the first batch is written, so once this
     * process holds the lock of trace.stateDir (a second process must not cut the running one's line short).
     */
    public synchronized void recover() throws IOException {
        if (Files.isDirectory(dir)) {
            repairAndRemember();
        }
        recovered = true;
    }

    private void repairAndRemember() throws IOException {
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> all = Files.newDirectoryStream(dir, f -> names.matcher(f.getFileName().toString()).matches())) {
            for (Path f : all) {
                dropCutLastLine(f);
                files.add(f);
            }
        }
        files.sort(Comparator.comparing((Path f) -> f.toFile().lastModified()).reversed());
        for (Path f : files.subList(0, Math.min(REMEMBERED_FILES, files.size()))) {
            rememberTail(f);
        }
    }

    /**
     * Appends every record of a spool batch (JSON lines, UTF-8, as the spool file holds them) to the file of its
     * received date; all or fail. Returns the lines it wrote: those of a batch delivered again that are in the files
     * already are not written twice. The batch is worked on as bytes and written from that one array (a batch is a few
     * MB: decoded and copied per date and per line, it was most of what the file sink allocated).
     */
    public synchronized byte[] appendBatch(byte[] bytes) throws IOException {
        if (!recovered) {
            recover();
        }
        Map<String, List<int[]>> byDate = new LinkedHashMap<>();     // each file's new lines: {start, next}
        Map<String, List<UUID>> digestsByDate = new HashMap<>();
        int[] lines = {0, 0};                                         // seen, skipped
        Utf8Lines.forEach(bytes, (start, end, next) -> {
            lines[0]++;
            UUID digest = DigestSet.lineDigest(bytes, start, end - start);
            if (written.contains(digest)) {
                lines[1]++;
                return;
            }
            String date = receivedDate(bytes, start, end);
            byDate.computeIfAbsent(date, d -> new ArrayList<>()).add(new int[] {start, next});
            digestsByDate.computeIfAbsent(date, d -> new ArrayList<>()).add(digest);
        });
        Set<FileChannel> touched = new HashSet<>();
        for (Map.Entry<String, List<int[]>> file : byDate.entrySet()) {
            touched.add(append(bytes, file.getValue(), file.getKey()));
            digestsByDate.get(file.getKey()).forEach(written::add);     // written: not again if a later file fails
        }
        // on disk before the batch leaves the spool: a power cut after its deletion must not take the lines with it
        for (FileChannel ch : touched) {
            if (ch.isOpen()) {
                ch.force(false);
            }
        }
        if (lines[1] == 0) {
            return bytes;        // the common case: every line written
        }
        LOG.info("file sink: {} of {} records of a batch delivered again were in the files already, not written twice", lines[1], lines[0]);
        java.io.ByteArrayOutputStream wrote = new java.io.ByteArrayOutputStream();
        byDate.values().forEach(ranges -> ranges.forEach(r -> wrote.write(bytes, r[0], r[1] - r[0])));
        return wrote.toByteArray();
    }

    /** {@link #receivedDate(String)} of the line {@code bytes[start, end)}, without decoding it when it can. */
    private static String receivedDate(byte[] bytes, int start, int end) {
        String date = Utf8Lines.field(bytes, start, end, RECEIVED_BYTES);
        if (date != null && date.length() >= 10) {
            return date.substring(0, 10);
        }
        return receivedDate(new String(bytes, start, end - start, StandardCharsets.UTF_8));
    }

    /**
     * Appends the lines {@code ranges} of {@code bytes} (each {start, end}, a line break included but for a batch's last
     * line without one) to the file of their date, all or none; returns its channel.
     */
    private FileChannel append(byte[] bytes, List<int[]> ranges, String date) throws IOException {
        Path file = dir.resolve(prefix + date + ".ndjson");
        FileChannel ch = channel(file);
        long before = ch.size();
        List<ByteBuffer> data = new ArrayList<>(ranges.size() + 1);
        int[] run = null;                 // adjacent lines go out as one buffer
        for (int[] r : ranges) {
            if (run != null && run[1] == r[0]) {
                run[1] = r[1];
            } else {
                if (run != null) {
                    data.add(ByteBuffer.wrap(bytes, run[0], run[1] - run[0]));
                }
                run = new int[] {r[0], r[1]};
            }
        }
        data.add(ByteBuffer.wrap(bytes, run[0], run[1] - run[0]));
        if (bytes[run[1] - 1] != '\n') {
            data.add(ByteBuffer.wrap(new byte[] {'\n'}));
        }
        ByteBuffer[] buffers = data.toArray(ByteBuffer[]::new);
        try {
            while (buffers[buffers.length - 1].hasRemaining()) {
                ch.write(buffers);
            }
        } catch (IOException e) {
            cutBack(file, ch, before);
            throw new IOException("the file sink cannot write " + file + " (" + e.getMessage() + "); the records wait in its spool", e);
        }
        return ch;
    }

    /**
     * The yyyy-MM-dd of the record's received field (the JSON as this product writes it, also inside an ECS document),
     * else of the received time of a raw row.
     */
    static String receivedDate(String json) {
        int at = json.indexOf(RECEIVED);
        if (at >= 0 && json.length() >= at + RECEIVED.length() + 10) {
            return json.substring(at + RECEIVED.length(), at + RECEIVED.length() + 10);
        }
        try {
            java.time.Instant received = SinkSchema.received(SinkSchema.read(json));
            return received == null ? "unknown" : received.toString().substring(0, 10);
        } catch (RuntimeException notJson) {
            return "unknown";
        }
    }

    /** Closes the open files. */
    public synchronized void close() {
        for (FileChannel ch : open.values()) {
            try {
                ch.close();
            } catch (IOException e) {
                LOG.warn("file sink: closing a file failed: {}", e.getMessage());
            }
        }
        open.clear();
    }

    private FileChannel channel(Path file) throws IOException {
        FileChannel ch = open.get(file);
        if (ch != null && ch.isOpen()) {
            return ch;
        }
        try {
            Files.createDirectories(dir);
            if (Files.isRegularFile(file)) {
                dropCutLastLine(file);     // a failed append that could not be cut back at once
            }
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new IOException("the file sink cannot open " + file + " (" + e + "); the records wait in its spool", e);
        }
        open.put(file, ch);
        if (open.size() > OPEN_FILES) {
            var eldest = open.entrySet().iterator();
            eldest.next().getValue().close();
            eldest.remove();
        }
        return ch;
    }

    /** Cuts a failed append off and lets the file go: the next attempt opens the path again (a disk remounted, a
     *  file removed or replaced meanwhile). */
    private void cutBack(Path file, FileChannel ch, long size) {
        open.remove(file);
        try (ch) {
            ch.truncate(size);
        } catch (IOException e) {
            // the next start removes the cut line
            LOG.warn("file sink: cannot cut {} back to its last whole line now: {}", file, e.getMessage());
        }
    }

    /** Removes a last line without its line break (a write cut short), so the next line starts on a line of its own. */
    static void dropCutLastLine(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long size = ch.size();
            byte[] tail = readTail(ch, size);
            int keep = tail.length;
            while (keep > 0 && tail[keep - 1] != '\n') {
                keep--;
            }
            if (keep < tail.length) {
                long newSize = size - (tail.length - keep);
                if (keep == 0 && size > tail.length) {
                    throw new IOException(file + " ends with a line longer than " + TAIL_BYTES + " bytes: not a trace file");
                }
                LOG.warn("removed the unfinished last line of {} (a crash or a failed write); its record is written again", file);
                ch.truncate(newSize);
            }
        }
    }

    private void rememberTail(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            String[] lines = new String(readTail(ch, ch.size()), StandardCharsets.UTF_8).split("\n");
            // the first piece is a partial line when the tail starts mid-file: skip it then
            int from = Math.max(ch.size() > TAIL_BYTES ? 1 : 0, lines.length - REMEMBERED_LINES);
            for (int i = from; i < lines.length; i++) {
                if (!lines[i].isEmpty()) {
                    written.addLine(lines[i]);
                }
            }
        }
    }

    private static byte[] readTail(FileChannel ch, long size) throws IOException {
        int n = (int) Math.min(size, TAIL_BYTES);
        ByteBuffer buf = ByteBuffer.allocate(n);
        while (buf.hasRemaining() && ch.read(buf, size - n + buf.position()) >= 0) {
            // read until full
        }
        return buf.array();
    }
}
