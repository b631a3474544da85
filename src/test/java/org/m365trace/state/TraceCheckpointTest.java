package org.m365trace.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TraceCheckpointTest {

    @TempDir
    Path dir;

    private TraceCheckpoint checkpoint() {
        TraceCheckpoint c = new TraceCheckpoint();
        c.setStateDir(dir.resolve("state").toString());
        return c;
    }

    @Test
    void nullBeforeTheFirstCommit() {
        assertNull(checkpoint().read());
    }

    @Test
    void commitMovesForwardOnly() throws IOException {
        TraceCheckpoint c = checkpoint();
        Instant t1 = Instant.parse("2026-03-02T10:00:00Z");
        Instant t2 = Instant.parse("2026-03-02T11:00:00Z");
        c.commit(t1);
        assertEquals(t1, c.read());
        c.commit(t2);
        assertEquals(t2, c.read());
        c.commit(t1);
        assertEquals(t2, c.read(), "never backwards");
        assertEquals(t2, checkpoint().read(), "a new instance reads the saved value");
    }

    @Test
    void noTemporaryFileIsLeft() throws IOException {
        TraceCheckpoint c = checkpoint();
        c.commit(Instant.parse("2026-03-02T10:00:00Z"));
        c.commit(Instant.parse("2026-03-02T10:05:00.123Z"));
        assertEquals(Instant.parse("2026-03-02T10:05:00.123Z"), c.read());
        try (Stream<Path> files = Files.list(c.getFile().getParent())) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().endsWith(".tmp")));
        }
        assertTrue(Files.exists(c.getFile()));
    }
}
