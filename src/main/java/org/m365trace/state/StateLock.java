package org.m365trace.state;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.m365trace.SettingException;

/**
 * A lock file in a state folder, held for the life of the process (or until {@link #unlock()}): two processes on the
 * same state would deliver everything twice. The operating system frees it when the process ends, even by kill -9.
 */
public class StateLock {

    private Path stateDir;
    private String name = "lock";
    private FileChannel lockFile;
    private FileLock lock;

    public synchronized void lock() throws IOException {
        Files.createDirectories(stateDir);
        lockFile = FileChannel.open(stateDir.resolve(name), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        try {
            lock = lockFile.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            lockFile.close();
            throw new SettingException("trace.stateDir: " + stateDir + " is in use by another running forwarder or replay; "
                    + "stop it first, or give this one its own trace.stateDir (with trace.state.store=jdbc: its own trace.instance)");
        }
    }

    public synchronized void unlock() throws IOException {
        if (lockFile != null) {
            lockFile.close();
            lockFile = null;
            lock = null;
        }
    }

    public void setStateDir(String stateDir) {
        this.stateDir = Path.of(stateDir);
    }

    /** The lock file's name in the state folder: {@code lock} (the source's), {@code spool.lock} (the sinks'). */
    public void setName(String name) {
        this.name = name;
    }
}
