package org.m365trace;

/** A wrong or missing setting. Its message is one line naming the property and what it expects; never the value of a secret. */
public class SettingException extends IllegalArgumentException {

    public SettingException(String message) {
        super(message);
    }

    /** This error of a tenant's setting (many tenants in one process), saying where that setting is given. */
    public SettingException forTenant(String tenant) {
        if (tenant == null || tenant.isBlank()) {
            return this;
        }
        return new SettingException("tenant " + tenant + ": " + getMessage() + " (set it as trace.tenant." + tenant
                + ".<key>, or for every tenant as trace.<key>)");
    }

    /** Fails when a required setting is blank. */
    public static void require(String property, String value, String expected) {
        if (value == null || value.isBlank()) {
            throw new SettingException(property, expected, value);
        }
    }

    public SettingException(String property, String expected, String actual) {
        super(property + ": expected " + expected + ", got " + (actual == null || actual.isBlank() ? "nothing" : "'" + actual + "'"));
    }
}
