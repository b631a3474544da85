package org.m365trace.sinks;

import java.util.Locale;

import org.m365trace.SettingException;

/** The shape of the records a sink writes: {@code trace.file.schema}, {@code trace.syslog.schema}, {@code trace.http.schema}. */
public enum TraceSchema {
    /** The contract's record (docs/contract.md, "Records"); the default. */
    NORMALIZED,
    /** An Elastic Common Schema 8.x document ({@link EcsRecord}). */
    ECS,
    /** The row exactly as the API served it, plus {@code api} (and {@code tenant}). */
    RAW;

    /** The schema a setting names, case-insensitively; blank is {@link #NORMALIZED}. */
    public static TraceSchema of(String property, String value) {
        if (value == null || value.isBlank()) {
            return NORMALIZED;
        }
        return switch (value.strip().toLowerCase(Locale.ROOT)) {
            case "normalized" -> NORMALIZED;
            case "ecs" -> ECS;
            case "raw" -> RAW;
            default -> throw new SettingException(property, "normalized, ecs or raw", value);
        };
    }

    /** The setting's spelling: {@code normalized}, {@code ecs}, {@code raw}. */
    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
