package org.m365trace;

import org.apache.camel.support.processor.idempotent.FileIdempotentRepository;

/**
 * Camel's file idempotent repository, answering from its in-memory cache only. The stock class reads the whole
 * store file for every key missing from the cache (twice per new row with eager=false), which makes a large store
 * slower with every row. The cache is loaded from the file at start and holds the newest {@code cacheSize} keys:
 * that is the dedupe bound the README states.
 */
public class TraceSeenRepository extends FileIdempotentRepository {
    @Override
    protected boolean containsStore(String key) {
        return false;
    }
}
