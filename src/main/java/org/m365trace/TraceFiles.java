package org.m365trace;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The file sink: appends each record as one line to {@code trace-<received date>.ndjson} in {@code trace.file.dir}.
 * <p>
 * It does what Camel's file producer (append mode) cannot promise after a fault:
 * <ul>
 * <li>a write that fails part-way (disk full) is cut back, so a file never holds half a line;</li>
 * <li>at start, a last line cut short by a crash is removed (its record is delivered again);</li>
 * <li>the record that was in flight when the process was killed (written here, its dedupe key not yet stored) is
 * not written twice: the last lines of the newest file are remembered at start and an identical line is skipped.
 * Records pass the sinks one at a time, so at most one record is in flight.</li>
 * </ul>
 * Files stay open between records (a few at most, one per received date) instead of being opened per record.
 */
public class TraceFiles {

    private static final Logger LOG = LoggerFactory.getLogger(TraceFiles.class);
    private static final int REMEMBERED_LINES = 100;
    private static final int TAIL_BYTES = 1 << 20;
    private static final int OPEN_FILES = 4;

    private Path dir;
    private final Set<String> lastLines = new HashSet<>();
    private final Map<Path, FileChannel> open = new LinkedHashMap<>(8, 0.75f, true);

    public void setDir(String dir) {
        this.dir = Path.of(dir);
    }

    /** Repairs what a crash left and remembers the newest lines. Run at start. */
    public synchronized void recover() throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        Path newest = null;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "trace-*.ndjson")) {
            for (Path f : files) {
                dropCutLastLine(f);
                if (newest == null || Files.getLastModifiedTime(f).compareTo(Files.getLastModifiedTime(newest)) > 0) {
                    newest = f;
                }
            }
        }
        if (newest != null) {
            rememberTail(newest);
        }
    }

    /** Appends one record (JSON without line breaks) to the file of its received date (yyyy-MM-dd...). */
    public synchronized void append(String json, String received) throws IOException {
        if (lastLines.remove(json)) {
            LOG.info("file sink: a record written just before the previous run ended is not written again");
            return;
        }
        Path file = dir.resolve("trace-" + received.substring(0, 10) + ".ndjson");
        FileChannel ch = channel(file);
        long before = ch.size();
        ByteBuffer data = ByteBuffer.wrap((json + "\n").getBytes(StandardCharsets.UTF_8));
        try {
            while (data.hasRemaining()) {
                ch.write(data);
            }
        } catch (IOException e) {
            cutBack(file, ch, before);
            throw new IOException("the file sink cannot write " + file + " (" + e.getMessage() + "); the window is read again later", e);
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
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new IOException("the file sink cannot open " + file + " (" + e + "); the window is read again later", e);
        }
        open.put(file, ch);
        if (open.size() > OPEN_FILES) {
            var eldest = open.entrySet().iterator();
            eldest.next().getValue().close();
            eldest.remove();
        }
        return ch;
    }

    private void cutBack(Path file, FileChannel ch, long size) {
        try {
            ch.truncate(size);
        } catch (IOException e) {
            // the next start removes the cut line
            LOG.warn("file sink: cannot cut {} back to its last whole line now: {}", file, e.getMessage());
            open.remove(file);
            try {
                ch.close();
            } catch (IOException ignored) {
                // already failing
            }
        }
    }

    private static void dropCutLastLine(Path file) throws IOException {
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
                LOG.warn("file sink: removed a line of {} cut short by a crash; its record is written again", file);
                ch.truncate(newSize);
            }
        }
    }

    private void rememberTail(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            String[] lines = new String(readTail(ch, ch.size()), StandardCharsets.UTF_8).split("\n");
            // the first piece may be a partial line when the tail starts mid-file: skip it then
            int from = Math.max(ch.size() > TAIL_BYTES ? 1 : 0, lines.length - REMEMBERED_LINES);
            lastLines.addAll(Arrays.asList(lines).subList(Math.min(from, lines.length), lines.length));
            lastLines.remove("");
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
