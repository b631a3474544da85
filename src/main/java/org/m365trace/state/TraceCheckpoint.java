package org.m365trace.state;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.time.Instant;

/**
 * The end of the newest window whose every page was read and every record accepted by every enabled sink.
 * One line of ISO-8601 in {@code trace.stateDir/checkpoint}, replaced atomically (write, fsync, rename); with the
 * jdbc state store ({@link #setState}) the tenant's row of {@code trace_checkpoint}, written only by the tenant's holder.
 */
public class TraceCheckpoint {

    private Path file;
    private final StateLock lock = new StateLock();
    private TraceStateStore state;
    /** The checkpoint last read or written (jdbc store): for meters, which must not wait on the database. */
    private volatile Instant last;

    /**
     * Takes {@code trace.stateDir/lock} for the life of the process: one source per state folder. With the jdbc store the
     * tenant's holder is the lease in the database instead (several instances may then share a state folder).
     */
    public void lock() throws IOException {
        if (!jdbc()) {
            lock.lock();
        }
    }

    /** Frees the lock taken by {@link #lock()}. */
    public void unlock() throws IOException {
        lock.unlock();
    }

    /** The saved checkpoint, or null before the first window completed. */
    public synchronized Instant read() {
        if (jdbc()) {
            last = state.read(c -> {
                try (PreparedStatement p = c.prepareStatement("SELECT checkpoint FROM trace_checkpoint WHERE tenant = ?")) {
                    p.setString(1, state.key());
                    try (ResultSet r = p.executeQuery()) {
                        return r.next() ? r.getTimestamp(1).toInstant() : null;
                    }
                }
            });
            return last;
        }
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
        if (jdbc()) {
            state.write(c -> {
                try (PreparedStatement p = c.prepareStatement("INSERT INTO trace_checkpoint (tenant, checkpoint, epoch) VALUES (?, ?, ?)"
                        + " ON CONFLICT (tenant) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, epoch = EXCLUDED.epoch,"
                        + " updated_at = now() WHERE trace_checkpoint.checkpoint < EXCLUDED.checkpoint")) {
                    p.setString(1, state.key());
                    p.setTimestamp(2, Timestamp.from(end));
                    p.setLong(3, state.epoch());
                    return p.executeUpdate();
                }
            });
            if (last == null || end.isAfter(last)) {
                last = end;
            }
            return;
        }
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

    /**
     * The checkpoint without waiting on a database: with the jdbc store the one last read or written by this instance
     * (null before), else the file's.
     */
    public Instant last() {
        return jdbc() ? last : read();
    }

    /** The state store: with {@code jdbc} the checkpoint lives in PostgreSQL. */
    public void setState(TraceStateStore state) {
        this.state = state;
    }

    private boolean jdbc() {
        return state != null && state.isJdbc();
    }

    public void setStateDir(String stateDir) {
        this.file = Path.of(stateDir).resolve("checkpoint");
        lock.setStateDir(stateDir);
    }

    public Path getFile() {
        return file;
    }
}
