package org.m365trace.sinks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.m365trace.SettingException;

class SpoolTest {

    @TempDir
    Path dir;

    private Spool spool(int batchSize, String batchTimeout) {
        Spool s = new Spool();
        s.setDir(dir.toString());
        s.setSink("http");
        s.setBatchSize(batchSize);
        s.setBatchTimeout(batchTimeout);
        return s;
    }

    private List<Path> sealed() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".ndjson"))
                    .filter(f -> !f.getFileName().toString().startsWith(".")).sorted().toList();
        }
    }

    private static List<String> lines(List<Path> files) throws IOException {
        List<String> lines = new ArrayList<>();
        for (Path f : files) {
            lines.addAll(Files.readAllLines(f, StandardCharsets.UTF_8));
        }
        return lines;
    }

    private List<Path> open() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().startsWith(".open-")).toList();
        }
    }

    @Test
    void sealsAFullBatchAndKeepsTheRestOpen() throws IOException {
        Spool s = spool(2, "1h");
        s.append("{\"n\":1}");
        s.append("{\"n\":2}");
        s.append("{\"n\":3}");
        List<Path> sealed = sealed();
        assertEquals(1, sealed.size(), "one sealed batch: " + sealed);
        assertEquals(List.of("{\"n\":1}", "{\"n\":2}"), Files.readAllLines(sealed.get(0), StandardCharsets.UTF_8));
        List<Path> open = open();
        assertEquals(1, open.size());
        assertEquals(List.of("{\"n\":3}"), Files.readAllLines(open.get(0), StandardCharsets.UTF_8));
        assertEquals(3, s.pendingRecords());

        s.seal();
        assertTrue(open().isEmpty());
        List<Path> after = sealed();
        assertEquals(2, after.size());
        assertEquals(List.of("{\"n\":3}"), Files.readAllLines(after.get(1), StandardCharsets.UTF_8), "names sort in append order");
        assertEquals(3, s.pendingRecords());
    }

    @Test
    void sealWithNothingOpenDoesNothing() throws IOException {
        Spool s = spool(2, "1h");
        s.seal();
        s.append("{\"n\":1}");
        s.append("{\"n\":2}");
        s.seal();
        assertEquals(1, sealed().size());
        assertTrue(open().isEmpty());
    }

    @Test
    void recoversALeftoverOpenFileOnFirstAppend() throws IOException {
        Files.writeString(dir.resolve(".open-x.ndjson"), "{\"old\":1}\n", StandardCharsets.UTF_8);
        Spool s = spool(10, "1h");
        s.append("{\"new\":1}");
        assertTrue(Files.exists(dir.resolve("x.ndjson")), "the leftover is sealed");
        assertFalse(Files.exists(dir.resolve(".open-x.ndjson")));
        assertEquals(List.of("{\"old\":1}"), Files.readAllLines(dir.resolve("x.ndjson"), StandardCharsets.UTF_8));
        assertEquals(1, open().size(), "the new record is in a new open file");
    }

    @Test
    void sealIfDueSealsAfterTheTimeout() throws IOException {
        Spool s = spool(100, "0s");
        s.append("{\"n\":1}");
        assertEquals(1, open().size());
        s.sealIfDue();
        assertTrue(open().isEmpty());
        assertEquals(1, sealed().size());
    }

    @Test
    void sealIfDueWaitsForTheTimeout() throws IOException {
        Spool s = spool(100, "1h");
        s.append("{\"n\":1}");
        s.sealIfDue();
        assertEquals(1, open().size());
        assertTrue(sealed().isEmpty());
    }

    @Test
    void aPageIsSplitIntoBatchesOfBatchSizeAndWithBatchPerAppendItsLastBatchIsSealedAtOnce() throws IOException {
        Spool s = spool(2, "1h");
        s.setBatchPerAppend(true);
        s.appendAll(List.of("{\"n\":1}", "{\"n\":2}", "{\"n\":3}", "{\"n\":2}"), "");
        assertTrue(open().isEmpty(), "nothing left open");
        assertEquals(2, sealed().size());
        assertEquals(List.of("{\"n\":1}", "{\"n\":2}", "{\"n\":3}"), lines(sealed()), "a line twice in a page is queued once");
        assertEquals(3, s.pendingRecords());

        s.appendAll(List.of("{\"n\":3}", "{\"n\":4}"), "");   // the page read again after a failure elsewhere
        assertEquals(List.of("{\"n\":1}", "{\"n\":2}", "{\"n\":3}", "{\"n\":4}"), lines(sealed()));
    }

    @Test
    void aPageThatDoesNotFitIsRefusedWhole() throws IOException {
        Spool s = spool(100, "1h");
        s.setMaxSize("1");
        String big = "{\"s\":\"" + "x".repeat(600_000) + "\"}";
        String bigToo = "{\"s\":\"" + "y".repeat(600_000) + "\"}";
        assertThrows(IOException.class, () -> s.appendAll(List.of("{\"n\":1}", big, bigToo), ""), "1.2 MB in a spool of 1 MB");
        assertTrue(open().isEmpty() && sealed().isEmpty(), "no part of the page was queued");
        assertTrue(s.isFull());
        s.appendAll(List.of("{\"n\":1}"), "");                 // a smaller page fits, and is queued
        s.seal();
        assertEquals(List.of("{\"n\":1}"), lines(sealed()));
    }

    @Test
    void fullSpoolRefusesAppends() {
        Spool s = spool(2, "1h");
        s.setMaxSize("0");
        IOException e = assertThrows(IOException.class, () -> s.append("{\"n\":1}"));
        assertTrue(e.getMessage().contains("trace.spool.maxSize"), e.getMessage());
    }

    @Test
    void aRecordRefusedByAFullSpoolIsQueuedWhenItIsOfferedAgainWithRoom() throws IOException {
        Spool s = spool(1, "1h");
        s.setMaxSize("0");
        assertThrows(IOException.class, () -> s.append("{\"n\":1}"));
        assertThrows(IOException.class, () -> s.append("{\"n\":1}"), "still full: refused again, not taken for queued");
        s.setMaxSize("1");
        s.append("{\"n\":1}");     // the window read again once the sink drained its spool
        assertEquals(List.of("{\"n\":1}"), lines(sealed()));
    }

    @Test
    void badSettingsAreRefused() {
        Spool s = new Spool();
        assertThrows(SettingException.class, () -> s.setBatchSize(0));
        SettingException e = assertThrows(SettingException.class, () -> s.setMaxSize("lots"));
        assertTrue(e.getMessage().startsWith("trace.spool.maxSize"), e.getMessage());
    }

    @Test
    void asJsonArray() {
        assertEquals("[{\"a\":1},{\"b\":2}]", jsonArray("{\"a\":1}\n{\"b\":2}\n"));
        assertEquals("[{\"a\":1},{\"b\":\"été — 😀\"}]", jsonArray("{\"a\":1}\n{\"b\":\"été — 😀\"}"),
                "UTF-8 as it is, a last line without a line break too");
        assertEquals("[]", jsonArray(""));
        assertEquals("[]", jsonArray("\n  \n"));
        assertEquals("[{\"a\":1}]", jsonArray("{\"a\":1}\r\n\n"));
    }

    private static String jsonArray(String ndjson) {
        return new String(Spool.asJsonArray(ndjson.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
    }

    @Test
    void aRecordQueuedAgainWhenItsWindowIsReadAgainIsQueuedOnce() throws IOException {
        // another sink failed the record: the window is read again and this spool is offered it a second time
        Spool s = spool(10, "1h");
        s.append("{\"n\":1}");
        s.append("{\"n\":1}");
        s.append("{\"n\":2}");
        assertEquals(2, s.pendingRecords());
    }

    @Test
    void theRecordInFlightAtACrashIsNotQueuedTwiceAfterTheRestart() throws IOException {
        Spool before = spool(10, "1h");
        before.append("{\"n\":1}");
        // killed here: the record is spooled, its dedupe key not stored; the restart reads the window again
        Spool after = spool(10, "1h");
        after.recover();
        after.append("{\"n\":1}");
        after.append("{\"n\":2}");
        after.seal();
        assertEquals(2, after.pendingRecords());
    }

    @Test
    void pendingRecordsFallAsBatchesAreTakenAndCountWhatAPreviousRunLeft() throws IOException {
        Spool s = spool(2, "1h");
        s.append("{\"n\":1}");
        s.append("{\"n\":2}");
        s.append("{\"n\":3}");
        assertEquals(3, s.pendingRecords());
        s.taken(Files.readAllLines(sealed().get(0), StandardCharsets.UTF_8).size());
        Files.delete(sealed().get(0));      // as the delivery route's file consumer does
        assertEquals(1, s.pendingRecords());

        Spool next = spool(2, "1h");        // the next start finds the open batch of this one
        next.recover();
        assertEquals(1, next.pendingRecords());
    }

    @Test
    void theOldestWaitingRecordIsTheFirstOfTheOldestBatch() throws IOException {
        Spool s = spool(1, "1h");
        assertEquals(null, s.oldestWaiting(), "nothing waits");
        long before = System.currentTimeMillis();
        s.append("{\"n\":1}");
        s.append("{\"n\":2}");
        java.time.Instant oldest = s.oldestWaiting();
        assertTrue(oldest.toEpochMilli() >= before && oldest.toEpochMilli() <= System.currentTimeMillis(), oldest.toString());
        for (Path f : sealed()) {
            Files.delete(f);
        }
        assertEquals(null, s.oldestWaiting(), "all delivered");
    }

    @Test
    void isFullFromARefusedAppendUntilOneFitsAgain() throws IOException {
        Spool s = spool(100, "1h");
        s.setMaxSize("1");
        String big = "{\"pad\":\"" + "x".repeat(700_000) + "\"}";
        s.append(big);
        assertFalse(s.isFull());
        assertThrows(IOException.class, () -> s.append(big.replace("pad", "pad2")));
        assertTrue(s.isFull(), "refused: full");
        s.seal();
        Files.delete(sealed().get(0));      // delivered
        s.append(big.replace("pad", "pad3"));
        assertFalse(s.isFull(), "it fits again");
    }

    @Test
    void retain_leaves_only_the_lines_still_to_send_in_the_batch() throws Exception {
        Spool spool = spool(10, "5s");
        spool.appendAll(java.util.List.of("a", "b", "c"), "");
        spool.seal();
        java.nio.file.Path batch;
        try (java.util.stream.Stream<java.nio.file.Path> files = java.nio.file.Files.list(dir)) {
            batch = files.filter(f -> f.getFileName().toString().endsWith(".ndjson")).findFirst().orElseThrow();
        }
        spool.retain(batch.toString(), java.util.List.of("b", "c"));
        assertEquals("b\nc\n", java.nio.file.Files.readString(batch));
        try (java.util.stream.Stream<java.nio.file.Path> files = java.nio.file.Files.list(dir)) {
            assertEquals(1, files.count(), "rewritten in place, nothing left beside it");
        }
    }
}
