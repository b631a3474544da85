package org.m365trace.sinks;

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

    private static String rec(int n, String received) {
        return "{\"messageTraceId\":\"m" + n + "\",\"received\":\"" + received + "\",\"status\":\"Delivered\"}";
    }

    @Test
    void writesOneLineARecordIntoTheFileOfItsReceivedDate() throws Exception {
        TraceFiles files = open();
        files.appendBatch(utf8(rec(1, "2026-11-22T23:59:59.999Z") + "\n" + rec(2, "2026-11-23T00:00:00.000Z") + "\n"));
        files.appendBatch(utf8(rec(3, "2026-11-23T10:00:00.000Z") + "\n"));
        files.close();

        assertEquals(List.of(rec(1, "2026-11-22T23:59:59.999Z")), Files.readAllLines(dir.resolve("trace-2026-11-22.ndjson")));
        assertEquals(List.of(rec(2, "2026-11-23T00:00:00.000Z"), rec(3, "2026-11-23T10:00:00.000Z")),
                Files.readAllLines(dir.resolve("trace-2026-11-23.ndjson")));
    }

    @Test
    void aLineCutShortByACrashIsRemovedAtStart() throws Exception {
        Path file = dir.resolve("trace-2026-11-23.ndjson");
        String r1 = rec(1, "2026-11-23T09:00:00.000Z");
        String r2 = rec(2, "2026-11-23T09:00:00.000Z");
        Files.writeString(file, r1 + "\n" + r2.substring(0, 20), StandardCharsets.UTF_8);

        TraceFiles files = open();
        files.appendBatch(utf8(r1 + "\n" + r2 + "\n"));    // the batch comes again from the spool
        files.close();

        assertEquals(List.of(r1, r2), Files.readAllLines(file));
    }

    @Test
    void aBatchDeliveredAgainAfterACrashIsNotWrittenTwice() throws Exception {
        Path file = dir.resolve("trace-2026-11-23.ndjson");
        String r1 = rec(1, "2026-11-23T09:00:00.000Z");
        String r2 = rec(2, "2026-11-23T09:00:00.000Z");
        String r3 = rec(3, "2026-11-23T09:00:00.000Z");
        Files.writeString(file, r1 + "\n" + r2 + "\n", StandardCharsets.UTF_8);

        // killed after writing r1 and r2 of the batch r1..r3, before its spool file was deleted
        TraceFiles files = open();
        files.appendBatch(utf8(r1 + "\n" + r2 + "\n" + r3 + "\n"));
        files.close();

        assertEquals(List.of(r1, r2, r3), Files.readAllLines(file));
    }

    @Test
    void aFullDiskFailsTheBatchClearlyAndItsRetryWritesEachRecordOnce() throws Exception {
        Path full = dir.resolve("trace-2026-11-24.ndjson");
        Files.createSymbolicLink(full, Path.of("/dev/full"));     // every write: No space left on device
        String r1 = rec(1, "2026-11-23T10:00:00.000Z");
        String r2 = rec(2, "2026-11-24T10:00:00.000Z");

        TraceFiles files = open();
        IOException e = assertThrows(IOException.class, () -> files.appendBatch(utf8(r1 + "\n" + r2 + "\n")));
        assertTrue(e.getMessage().contains("cannot write " + full), e.getMessage());
        assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());

        // the disk has room again: the batch comes again, r1 (written before the failure) is not doubled
        files.close();
        Files.delete(full);
        files.appendBatch(utf8(r1 + "\n" + r2 + "\n"));
        files.close();
        assertEquals(List.of(r1), Files.readAllLines(dir.resolve("trace-2026-11-23.ndjson")));
        assertEquals(List.of(r2), Files.readAllLines(full));
    }

    @Test
    void instancesSharingTheFolderWithTheJdbcStoreWriteAndRepairOnlyTheirOwnFiles() throws Exception {
        String r1 = rec(1, "2026-11-23T10:00:00.000Z");
        String cut = "{\"messageTraceId\":\"m9\",\"rec";
        Path other = dir.resolve("trace-i1-b-2026-11-23.ndjson");      // instance "i1-b": a line it is writing right now
        Files.writeString(other, r1 + "\n" + cut);

        TraceFiles files = new TraceFiles();
        files.setDir(dir.toString());
        files.setInstance("i1");
        files.setStore("JDBC");
        files.recover();
        files.appendBatch(utf8(r1 + "\n"));
        files.close();
        assertEquals(List.of(r1), Files.readAllLines(dir.resolve("trace-i1-2026-11-23.ndjson")), "named by the instance");
        assertEquals(r1 + "\n" + cut, Files.readString(other), "another instance's file, its line cut short, left alone");

        TraceFiles single = open();          // the file store: trace-YYYY-MM-DD.ndjson as before
        single.appendBatch(utf8(r1 + "\n"));
        single.close();
        assertEquals(List.of(r1), Files.readAllLines(dir.resolve("trace-2026-11-23.ndjson")));
    }

    @Test
    void theReceivedDateIsReadFromTheRecord() {
        assertEquals("2026-11-23", TraceFiles.receivedDate(rec(1, "2026-11-23T10:00:00.000Z")));
        assertEquals("unknown", TraceFiles.receivedDate("{\"messageTraceId\":\"m\"}"));
    }

    private static byte[] utf8(String batch) {
        return batch.getBytes(StandardCharsets.UTF_8);
    }
}
