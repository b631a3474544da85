package org.m365trace.state;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * The end of the newest window whose every page was read and every record accepted by every enabled sink.
 * One line of ISO-8601 in {@code trace.stateDir/checkpoint}, replaced atomically (write, fsync, rename).
 */
public class TraceCheckpoint {

    private Path file;
    private final StateLock lock = new StateLock();

    /** Takes {@code trace.stateDir/lock} for the life of the process: one source per state folder. */
    public void lock() throws IOException {
        lock.lock();
    }

    /** Frees the lock taken by {@link #lock()}. */
    public void unlock() throws IOException {
        lock.unlock();
    }

    /** The saved checkpoint, or null before the first window completed. */
    public synchronized Instant read() {
        try {
            if (!Files.exists(file)) {
                return null;
            }
            return Instant.parse(Files.readString(file, StandardCharsets.UTF_8).trim());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the checkpoint " + file, e);
        }
    }

    /** Moves the checkpoint forward to {@code end}; never backwards. */
    public synchronized void commit(Instant end) throws IOException {
        Instant current = read();
        if (current != null && !end.isAfter(current)) {
            return;
        }
        Files.createDirectories(file.getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, end + "\n", StandardCharsets.UTF_8);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    public void setStateDir(String stateDir) {
        this.file = Path.of(stateDir).resolve("checkpoint");
        lock.setStateDir(stateDir);
    }

    public Path getFile() {
        return file;
    }
}
