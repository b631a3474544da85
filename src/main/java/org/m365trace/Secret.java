package org.m365trace;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

import org.apache.camel.CamelContext;

/**
 * A secret setting ({@code trace.clientSecret}, {@code trace.password}, ...): its value as given, or the content of
 * the file named by {@code <key>File} (the way Kubernetes secrets and systemd credentials arrive). The file is read
 * again whenever it changed, and at once after {@link #reread()} (a 401), so a rotated secret is picked up without a
 * restart. The value is never parsed for placeholders here, and never shown: {@link #toString()} names the setting.
 */
public final class Secret {

    private final String property;
    private final String value;
    private final Path file;
    private String read;
    private Object stamp;

    private Secret(String property, String value, Path file) {
        this.property = property;
        this.value = value == null ? "" : value;
        this.file = file;
    }

    /** The secret of {@code property}: the file {@code file} when one is named, else {@code value} as it is. */
    public static Secret of(String property, String value, String file) {
        return new Secret(property, value, file == null || file.isBlank() ? null : Path.of(file.strip()));
    }

    /**
     * The text of a secret bean property: a {@link Secret} (bound in the registry and passed as {@code #bean:<name>}, so
     * that Camel's property binding, which parses every string it binds for placeholders, never sees the secret), or the
     * string given.
     */
    public static String text(Object secret) {
        return secret instanceof Secret s ? s.value() : secret == null ? null : secret.toString();
    }

    /**
     * The value of a secret setting as given, never parsed for placeholders; "" when unset. For beans of the route files,
     * which read their secrets themselves: Camel's property binding would parse a secret bound to them.
     */
    public static String given(CamelContext context, String property) {
        return context.getPropertiesComponent().resolveProperty(property + "?nested=false").orElse("");
    }

    /** True when a value or a file is given. */
    public boolean isSet() {
        return file != null || !value.isEmpty();
    }

    /** True when the secret comes from a file ({@code <key>File}). */
    public boolean fromFile() {
        return file != null;
    }

    /** The file named by {@code <key>File}; null when the value is given. */
    public String file() {
        return file == null ? null : file.toString();
    }

    /** The setting that names where the secret comes from: {@code trace.clientSecret} or {@code trace.clientSecretFile}. */
    public String setting() {
        return file == null ? property : property + "File";
    }

    /** The secret now: the file's content (trailing line breaks removed) when a file is named, else the value given. */
    public synchronized String value() {
        if (file == null) {
            return value;
        }
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            Object now = a.lastModifiedTime() + "|" + a.size() + "|" + a.fileKey();
            if (read == null || !now.equals(stamp)) {
                read = strip(Files.readString(file, StandardCharsets.UTF_8));
                stamp = now;
            }
            return read;
        } catch (IOException | RuntimeException e) {
            throw new SettingException(property + "File: cannot read the file " + file + " ("
                    + e.getClass().getSimpleName() + ")");
        }
    }

    /** Forgets what was read from the file: the next {@link #value()} reads it again (after the secret was refused). */
    public synchronized void reread() {
        read = null;
    }

    /** Fails at startup when the file named cannot be read or is empty. */
    public void check(String expected) {
        if (file != null && value().isEmpty()) {
            throw new SettingException(property + "File: the file " + file + " is empty; expected " + expected);
        }
    }

    private static String strip(String s) {
        int end = s.length();
        while (end > 0 && (s.charAt(end - 1) == '\n' || s.charAt(end - 1) == '\r')) {
            end--;
        }
        return s.substring(0, end);
    }

    @Override
    public String toString() {
        return file == null ? property + "=xxxxxx" : property + "File=" + file;
    }
}
