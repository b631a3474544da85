package org.m365trace.bench;

import java.nio.file.Path;
import java.util.List;

/** The rates of the product's stages, measured in-process with its own classes. */
final class StageBench {

    record Stage(String name, double rowsPerSecond, String note) {
    }

    private final FakeTraceApi fake;
    private final Path dir;

    StageBench(FakeTraceApi fake, Path dir) {
        this.fake = fake;
        this.dir = dir;
    }

    List<Stage> run() throws Exception {
        return List.of();
    }
}
