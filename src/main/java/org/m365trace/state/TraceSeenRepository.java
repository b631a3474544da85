package org.m365trace.state;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import org.apache.camel.spi.IdempotentRepository;
import org.apache.camel.support.service.ServiceSupport;
import org.m365trace.source.TraceRecords;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dedupe store of the idempotent consumer: the newest {@code cacheSize} keys, answered from memory and kept in
 * the text file {@code seen.dat}, one key a line, appended as keys are added.
 * <p>
 * Crash-safe: a key line is written in one append, and a line cut short by a crash (no line break) is dropped at
 * start, so its record is simply delivered again. When the file holds twice {@code cacheSize} keys it is compacted
 * to the newest {@code cacheSize}: written to {@code seen.dat.tmp}, forced to disk and renamed over the old file,
 * so a crash leaves either the old or the new file, never a cut one.
 * <p>
 * Keys are stored in two steps, page by page: {@link #add} (the idempotent consumer, eager) reserves a key in memory,
 * so that the same row later in the page or window is a duplicate; {@link #commit} stores the keys of the records the
 * consuming route took, in one append; {@link #rollback} forgets the reserved keys of a page that failed, so that the
 * window read again forwards them.
 * <p>
 * Bounded: memory holds a 128-bit digest of each key (about 24 bytes a key, 12 MB for 500 000), not the key text;
 * the oldest key is forgotten when a new one comes in at the bound. Camel's {@code FileIdempotentRepository} is not
 * used because it reads the whole file into memory and rewrites it in place when trimming.
 * <p>
 * With the jdbc state store ({@link #setState}) the keys live in PostgreSQL instead of {@code seen.dat}: table
 * {@code trace_seen}, primary key (tenant, digest), so a key is stored once whoever stores it; a page's keys are
 * inserted in one statement ({@code INSERT ... ON CONFLICT DO NOTHING}, the inserted count compared) in a transaction
 * that checks this instance still holds the tenant. Memory still answers {@link #add}; it is loaded from the table when
 * this instance takes the tenant ({@link #sync}, at each poll). Keys of records the sinks took while the database was
 * away are kept and stored at the next commit: they are not forwarded again meanwhile.
 */
public class TraceSeenRepository extends ServiceSupport implements IdempotentRepository {

    private static final Logger LOG = LoggerFactory.getLogger(TraceSeenRepository.class);
    private static final String REMOVED = "-";

    private Path file;
    private int cacheSize = 500_000;

    /** A replay run: every record passes and no key is stored (the run sends what the sinks already have). */
    private boolean bypass;

    private DigestSet keys;
    /** Keys reserved by {@link #add} and not committed yet. */
    private final Set<String> reserved = new LinkedHashSet<>();
    /** Keys of rows on the end bound of the window being read: see {@link #carryBound}. */
    private final Set<String> onBound = new LinkedHashSet<>();
    /** Keys of rows in the last overlap of the window being read: see {@link #carryBound}. */
    private final List<String> inOverlap = new ArrayList<>();
    /** Keys of rows on the end bound of the last two windows committed: see {@link #carryBound}. */
    private Set<String> pinned = new LinkedHashSet<>();
    private Set<String> pinnedBefore = new LinkedHashSet<>();
    private Writer log;
    private long logLines;

    /** The jdbc state store, or null (files). */
    private TraceStateStore state;
    /** The epoch under which memory was loaded from the table; -1: not loaded. */
    private long loadedEpoch = -1;
    /** Keys of records the sinks took, not stored yet (the database was away): stored at the next commit. */
    private final List<UUID> unsaved = new ArrayList<>();
    /** Keys inserted since the table was last pruned to the newest cacheSize. */
    private long sincePrune;

    public void setFileStore(String fileStore) {
        this.file = Path.of(fileStore);
    }

    public void setCacheSize(int cacheSize) {
        this.cacheSize = cacheSize;
    }

    /** Non-empty in a replay run of a time range: see {@link #bypass}. */
    public void setReplayFrom(String replayFrom) {
        this.bypass = replayFrom != null && !replayFrom.isBlank();
    }

    /** The state store: with {@code jdbc} the keys live in PostgreSQL. */
    public void setState(TraceStateStore state) {
        this.state = state;
    }

    private boolean jdbc() {
        return state != null && state.isJdbc();
    }

    @Override
    protected synchronized void doStart() throws Exception {
        keys = new DigestSet(cacheSize);
        if (bypass || jdbc()) {
            loadedEpoch = -1;       // loaded at the first poll (sync): PostgreSQL may be away at the start
            return;
        }
        logLines = 0;
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.deleteIfExists(tmpFile());          // a compaction a crash interrupted: seen.dat is still whole
        if (Files.exists(file)) {
            dropCutLastLine();
            try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    logLines++;
                    if (line.startsWith(REMOVED)) {
                        keys.remove(DigestSet.digest(line.substring(1)));
                    } else if (!line.isEmpty()) {
                        keys.add(DigestSet.digest(line));
                    }
                }
            }
        }
        openLog();
        pinned = new LinkedHashSet<>();
        pinnedBefore = new LinkedHashSet<>();
        if (Files.exists(boundFile())) {
            List<String> lines = Files.readAllLines(boundFile(), StandardCharsets.UTF_8);
            int gap = lines.indexOf("");
            pinnedBefore.addAll(gap < 0 ? List.of() : lines.subList(0, gap));
            pinned.addAll(gap < 0 ? lines : lines.subList(gap + 1, lines.size()));
        }
        LOG.debug("dedupe store {}: {} keys, {} on the last two windows' ends", file, keys.size(), pinned.size() + pinnedBefore.size());
    }

    @Override
    protected synchronized void doStop() throws Exception {
        if (log != null) {
            log.close();
            log = null;
        }
    }

    @Override
    public synchronized boolean contains(String key) {
        return !bypass && (isPinned(key) || keys.contains(DigestSet.digest(key)));
    }

    @Override
    public synchronized boolean add(String key) {
        if (bypass) {
            return true;
        }
        if (isPinned(key) || !keys.add(DigestSet.digest(key))) {
            return false;
        }
        reserved.add(key);
        return true;
    }

    /**
     * The consuming route took {@code records} (a list of records, or one record; a string is taken as the key
     * itself): their keys are stored, in one append, so that no later read forwards them again.
     */
    public synchronized void commit(Object records) {
        if (bypass) {
            return;
        }
        List<String> stored = new ArrayList<>();
        for (Object r : records instanceof List<?> list ? list : List.of(records)) {
            String key = r instanceof Map<?, ?> record ? TraceRecords.key(record) : String.valueOf(r);
            if (reserved.remove(key)) {
                stored.add(key);
            }
        }
        if (stored.isEmpty()) {
            return;
        }
        if (jdbc()) {
            List<UUID> digests = new ArrayList<>(stored.size());
            for (String key : stored) {
                digests.add(DigestSet.digest(key));
            }
            store(digests);
            return;
        }
        // every key of the batch is out of reserved before anything is written: if the write fails, the rollback
        // that follows forgets none of them, and what the sinks took is not forwarded again by this process
        try {
            for (String key : stored) {
                log.write(key);             // straight into the log's buffer: no page-sized text first
                log.write('\n');
            }
        } catch (IOException e) {
            throw cannotWrite(e);
        }
        written(stored.size());
    }

    /** The writer of the key log (tests: one that fails). */
    void log(Writer writer) {
        log = writer;
    }

    /**
     * Before a poll, with the jdbc store: makes sure this instance holds the tenant ({@link TraceStateStore#claim}), loads
     * the keys from the table when it took the tenant since the last load (another instance may have stored keys
     * meanwhile), and stores keys left unsaved by an outage. Fails the poll when the database is away or another
     * instance holds the tenant. Nothing with the file store.
     */
    public synchronized void sync() {
        if (bypass || !jdbc()) {
            return;
        }
        long epoch = state.claim();
        if (epoch != loadedEpoch) {
            load();
            loadedEpoch = epoch;
        }
        if (!unsaved.isEmpty()) {
            store(List.of());
        }
    }

    /** Memory from the table: the newest cacheSize keys, oldest first, and the keys on the last two windows' ends. */
    private void load() {
        DigestSet loaded = new DigestSet(cacheSize);
        Set<String> before = new LinkedHashSet<>();
        Set<String> last = new LinkedHashSet<>();
        state.read(c -> {
            c.setAutoCommit(false);                 // a cursor: fetchSize rows at a time, not 500 000 at once
            try (PreparedStatement p = c.prepareStatement("SELECT digest FROM (SELECT digest, seq FROM trace_seen WHERE tenant = ?"
                    + " ORDER BY seq DESC LIMIT ?) newest ORDER BY seq")) {
                p.setFetchSize(10_000);
                p.setString(1, state.key());
                p.setInt(2, cacheSize);
                try (ResultSet r = p.executeQuery()) {
                    while (r.next()) {
                        loaded.add(r.getObject(1, UUID.class));
                    }
                }
            }
            try (PreparedStatement p = c.prepareStatement("SELECT older, key FROM trace_seen_bound WHERE tenant = ?")) {
                p.setString(1, state.key());
                try (ResultSet r = p.executeQuery()) {
                    while (r.next()) {
                        (r.getBoolean(1) ? before : last).add(r.getString(2));
                    }
                }
            }
            c.commit();
            return null;
        });
        for (UUID d : unsaved) {
            loaded.add(d);
        }
        keys = loaded;
        reserved.clear();
        onBound.clear();
        inOverlap.clear();
        pinned = last;
        pinnedBefore = before;
        LOG.debug("dedupe store {}: {} keys loaded from PostgreSQL, {} on the last two windows' ends", state.key(), keys.size(),
                pinned.size() + pinnedBefore.size());
    }

    /**
     * Stores {@code digests} and any left unsaved, in one insert, only while this instance holds the tenant. On failure
     * they stay in memory (their records were taken by the sinks) and are stored at the next commit or poll.
     */
    private void store(List<UUID> digests) {
        unsaved.addAll(digests);
        UUID[] batch = unsaved.toArray(new UUID[0]);
        int inserted = state.write(c -> {
            Array array = c.createArrayOf("uuid", batch);
            try (PreparedStatement p = c.prepareStatement("INSERT INTO trace_seen (tenant, digest, epoch) SELECT ?, d, ?"
                    + " FROM unnest(?) WITH ORDINALITY AS k(d, i) ORDER BY i ON CONFLICT (tenant, digest) DO NOTHING")) {
                p.setString(1, state.key());
                p.setLong(2, state.epoch());
                p.setArray(3, array);
                return p.executeUpdate();
            } finally {
                array.free();
            }
        });
        unsaved.clear();
        if (inserted < batch.length) {
            LOG.info("dedupe store {}: {} of {} keys were stored already (a commit repeated after an outage, or another holder"
                    + " of the tenant forwarded them)", state.key(), batch.length - inserted, batch.length);
        }
        sincePrune += inserted;
        if (sincePrune >= cacheSize) {
            prune();
        }
    }

    /** Keeps the newest cacheSize keys of the tenant in the table, as compaction keeps them in seen.dat. */
    private void prune() {
        int removed = state.write(c -> {
            try (PreparedStatement p = c.prepareStatement("DELETE FROM trace_seen WHERE tenant = ? AND seq < (SELECT seq FROM"
                    + " trace_seen WHERE tenant = ? ORDER BY seq DESC OFFSET ? LIMIT 1)")) {
                p.setString(1, state.key());
                p.setString(2, state.key());
                p.setInt(3, cacheSize - 1);
                return p.executeUpdate();
            }
        });
        sincePrune = 0;
        LOG.debug("dedupe store {}: {} keys older than the newest {} pruned", state.key(), removed, cacheSize);
    }

    /** The page failed: the keys reserved and not committed are forgotten, the window read again forwards them. */
    public synchronized void rollback() {
        for (String key : reserved) {
            keys.remove(DigestSet.digest(key));
        }
        reserved.clear();
        onBound.clear();        // the window is read again and tells them again
        inOverlap.clear();
    }

    /**
     * A row of the window being read was received in its last overlap, and on its end bound if {@code onEnd}
     * (DedupeKey): it is read again later; see {@link #carryBound}.
     */
    public synchronized void readAgainLater(String key, boolean onEnd) {
        if (!bypass) {
            inOverlap.add(key);
            if (onEnd) {
                onBound.add(key);
            }
        }
    }

    /**
     * The window was read and committed. Its rows on its end bound are in the next window too (both bounds are
     * inclusive), read last there, as pages come newest first: after this window's rows and nearly all of the next
     * one's, which in a catch-up of one-day windows are more keys than the store holds. So their keys (a second's
     * rows) are held apart from the newest {@code cacheSize} until the next window is committed, whatever its size,
     * and kept in {@code seen.dat.bound} for a restart in between.
     */
    public synchronized void carryBound() {
        if (bypass) {
            return;
        }
        // the rows of the last overlap come again in the next poll: their keys become the newest (in memory; after a
        // restart seen.dat's order holds, see docs/operations.md, "Dedupe bound")
        if (jdbc()) {
            carryBoundInTable();
            return;
        }
        for (String key : inOverlap) {       // each forwarded, now or before: the window was read whole
            UUID digest = DigestSet.digest(key);
            keys.remove(digest);
            keys.add(digest);
        }
        inOverlap.clear();
        if (pinned.isEmpty() && pinnedBefore.isEmpty() && onBound.isEmpty()) {
            return;
        }
        // two windows' worth: this runs before the window's checkpoint is written, so a window read again after a
        // crash in between still finds the bound it starts on
        pinnedBefore = pinned;
        pinned = new LinkedHashSet<>(onBound);
        onBound.clear();
        try {
            if (pinned.isEmpty() && pinnedBefore.isEmpty()) {
                Files.deleteIfExists(boundFile());
            } else {
                Path tmp = boundFile().resolveSibling(boundFile().getFileName() + ".tmp");
                List<String> lines = new ArrayList<>(pinnedBefore);
                lines.add("");                                     // the two windows, older first
                lines.addAll(pinned);
                Files.write(tmp, lines, StandardCharsets.UTF_8);
                Files.move(tmp, boundFile(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the dedupe store " + boundFile() + ": " + e.getMessage(), e);
        }
    }

    /**
     * carryBound with the jdbc store, in one transaction of the holder: the keys of the last overlap become the newest
     * in the table as in memory (so pruning keeps them, and a new holder loads them), and the keys on the window's end
     * replace the older of the two bound sets. Memory changes only once that is stored: a failure leaves the window
     * to be read again with the bounds it had.
     */
    private void carryBoundInTable() {
        if (!unsaved.isEmpty()) {
            store(List.of());
        }
        boolean bounds = !(pinned.isEmpty() && pinnedBefore.isEmpty() && onBound.isEmpty());
        Set<String> before = bounds ? pinned : pinnedBefore;
        Set<String> last = bounds ? new LinkedHashSet<>(onBound) : pinned;
        UUID[] overlap = inOverlap.stream().map(DigestSet::digest).distinct().toArray(UUID[]::new);
        if (overlap.length > 0 || bounds) {
            state.write(c -> {
                if (overlap.length > 0) {
                    Array array = c.createArrayOf("uuid", overlap);
                    try (PreparedStatement p = c.prepareStatement("UPDATE trace_seen SET seq = nextval('trace_seen_seq')"
                            + " WHERE tenant = ? AND digest = ANY(?)")) {
                        p.setString(1, state.key());
                        p.setArray(2, array);
                        p.executeUpdate();
                    } finally {
                        array.free();
                    }
                }
                if (bounds) {
                    writeBounds(c, before, last);
                }
                return null;
            });
        }
        for (UUID digest : overlap) {
            keys.remove(digest);
            keys.add(digest);
        }
        inOverlap.clear();
        pinnedBefore = before;
        pinned = last;
        onBound.clear();
    }

    private void writeBounds(Connection c, Set<String> before, Set<String> last) throws SQLException {
        try (PreparedStatement p = c.prepareStatement("DELETE FROM trace_seen_bound WHERE tenant = ?")) {
            p.setString(1, state.key());
            p.executeUpdate();
        }
        try (PreparedStatement p = c.prepareStatement("INSERT INTO trace_seen_bound (tenant, older, key) VALUES (?, ?, ?)"
                + " ON CONFLICT DO NOTHING")) {
            for (Set<String> set : List.of(before, last)) {
                for (String key : set) {
                    p.setString(1, state.key());
                    p.setBoolean(2, set == before);
                    p.setString(3, key);
                    p.addBatch();
                }
            }
            p.executeBatch();
        }
    }

    private boolean isPinned(String key) {
        return pinned.contains(key) || pinnedBefore.contains(key);
    }

    private Path boundFile() {
        return file.resolveSibling(file.getFileName() + ".bound");
    }

    @Override
    public synchronized boolean remove(String key) {
        if (bypass) {
            return true;
        }
        pinned.remove(key);
        pinnedBefore.remove(key);
        if (!keys.remove(DigestSet.digest(key))) {
            return false;
        }
        if (!reserved.remove(key)) {
            if (jdbc()) {
                UUID digest = DigestSet.digest(key);
                unsaved.remove(digest);
                state.write(c -> {
                    try (PreparedStatement p = c.prepareStatement("DELETE FROM trace_seen WHERE tenant = ? AND digest = ?")) {
                        p.setString(1, state.key());
                        p.setObject(2, digest);
                        return p.executeUpdate();
                    }
                });
            } else {
                append(REMOVED + key + "\n", 1);
            }
        }
        return true;
    }

    @Override
    public boolean confirm(String key) {
        return true;
    }

    @Override
    public synchronized void clear() {
        keys = new DigestSet(cacheSize);
        reserved.clear();
        onBound.clear();
        inOverlap.clear();
        pinned = new LinkedHashSet<>();
        pinnedBefore = new LinkedHashSet<>();
        if (jdbc()) {
            unsaved.clear();
            state.write(c -> {
                for (String table : List.of("trace_seen", "trace_seen_bound")) {
                    try (PreparedStatement p = c.prepareStatement("DELETE FROM " + table + " WHERE tenant = ?")) {
                        p.setString(1, state.key());
                        p.executeUpdate();
                    }
                }
                return null;
            });
            return;
        }
        try {
            log.close();
            Files.deleteIfExists(file);
            Files.deleteIfExists(boundFile());
            logLines = 0;
            openLog();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot clear the dedupe store " + file, e);
        }
    }

    /** Keys held in memory. */
    public synchronized int size() {
        return keys.size();
    }

    private void append(String lines, int count) {
        try {
            log.write(lines);
        } catch (IOException e) {
            throw cannotWrite(e);
        }
        written(count);
    }

    /** {@code count} more lines were written into the log: flushed, counted, compacted when due. */
    private void written(int count) {
        try {
            log.flush();                          // in the OS before the records count as delivered
            logLines += count;
            if (logLines >= 2L * cacheSize) {
                compact();
            }
        } catch (IOException e) {
            throw cannotWrite(e);
        }
    }

    private UncheckedIOException cannotWrite(IOException e) {
        return new UncheckedIOException("cannot write the dedupe store " + file + ": " + e.getMessage(), e);
    }

    /** Keeps the newest {@code cacheSize} lines: write-then-rename, so a crash never leaves a cut file. */
    private void compact() throws IOException {
        log.close();
        long skip = logLines - cacheSize;
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8);
                Writer out = Files.newBufferedWriter(tmpFile(), StandardCharsets.UTF_8)) {
            long n = 0;
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (n++ >= skip) {
                    out.write(line);
                    out.write('\n');
                }
            }
        }
        try (FileChannel ch = FileChannel.open(tmpFile(), StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        Files.move(tmpFile(), file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        logLines = cacheSize;
        openLog();
    }

    /** A crash can cut the last line short; it was never acknowledged, so it is dropped. */
    private void dropCutLastLine() throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long end = ch.size();
            ByteBuffer one = ByteBuffer.allocate(1);
            long keep = end;
            while (keep > 0) {
                one.clear();
                ch.read(one, keep - 1);
                if (one.get(0) == '\n') {
                    break;
                }
                keep--;
            }
            if (keep < end) {
                LOG.warn("dedupe store {}: dropped a key line cut short by a crash; its record is delivered again", file);
                ch.truncate(keep);
            }
        }
    }

    private void openLog() throws IOException {
        log = new BufferedWriter(new OutputStreamWriter(
                Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND), StandardCharsets.UTF_8), 1 << 16);
    }

    private Path tmpFile() {
        return file.resolveSibling(file.getFileName() + ".tmp");
    }

}
