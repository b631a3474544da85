package org.m365trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TraceFilesTest {

    @TempDir
    Path dir;

    private TraceFiles open() throws IOException {
        TraceFiles files = new TraceFiles();
        files.setDir(dir.toString());
        files.recover();
        return files;
    }

    @Test
    void writesOneLineARecordIntoTheFileOfItsReceivedDate() throws Exception {
        TraceFiles files = open();
        files.append("{\"n\":1}", "2026-11-22T23:59:59.999Z");
        files.append("{\"n\":2}", "2026-11-23T00:00:00.000Z");
        files.append("{\"n\":3}", "2026-11-23T10:00:00.000Z");
        files.close();

        assertEquals(List.of("{\"n\":1}"), Files.readAllLines(dir.resolve("trace-2026-11-22.ndjson")));
        assertEquals(List.of("{\"n\":2}", "{\"n\":3}"), Files.readAllLines(dir.resolve("trace-2026-11-23.ndjson")));
    }

    @Test
    void aLineCutShortByACrashIsRemovedAtStart() throws Exception {
        Path file = dir.resolve("trace-2026-11-23.ndjson");
        Files.writeString(file, "{\"n\":1}\n{\"n\":2}\n{\"n\":", StandardCharsets.UTF_8);

        TraceFiles files = open();
        files.append("{\"n\":3}", "2026-11-23T10:00:00.000Z");
        files.close();

        assertEquals(List.of("{\"n\":1}", "{\"n\":2}", "{\"n\":3}"), Files.readAllLines(file));
    }

    @Test
    void theRecordInFlightAtACrashIsNotWrittenTwice() throws Exception {
        Path file = dir.resolve("trace-2026-11-23.ndjson");
        Files.writeString(file, "{\"n\":1}\n{\"n\":2}\n", StandardCharsets.UTF_8);

        // the restart reads the window again: n=2 (written, key not stored) comes again, then new records
        TraceFiles files = open();
        files.append("{\"n\":2}", "2026-11-23T10:00:00.000Z");
        files.append("{\"n\":3}", "2026-11-23T10:00:00.000Z");
        files.close();

        assertEquals(List.of("{\"n\":1}", "{\"n\":2}", "{\"n\":3}"), Files.readAllLines(file));
    }

    @Test
    void aFullDiskFailsTheRecordClearlyAndLeavesNoHalfLine() throws Exception {
        TraceFiles files = open();
        files.append("{\"n\":1}", "2026-11-23T10:00:00.000Z");
        files.close();
        Path file = dir.resolve("trace-2026-11-24.ndjson");
        Files.createSymbolicLink(file, Path.of("/dev/full"));     // every write: No space left on device

        TraceFiles again = open();
        IOException e = assertThrows(IOException.class, () -> again.append("{\"n\":2}", "2026-11-24T10:00:00.000Z"));
        assertTrue(e.getMessage().contains("cannot write " + file), e.getMessage());
        assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());

        // the disk has room again: the record is written whole
        again.close();
        Files.delete(file);
        again.append("{\"n\":2}", "2026-11-24T10:00:00.000Z");
        again.close();
        assertEquals(List.of("{\"n\":2}"), Files.readAllLines(file));
    }
}
