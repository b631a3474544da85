package org.m365trace;

/** A wrong or missing setting. Its message is one line naming the property and what it expects; never the value of a secret. */
public class SettingException extends IllegalArgumentException {

    public SettingException(String message) {
        super(message);
    }

    public SettingException(String property, String expected, String actual) {
        super(property + ": expected " + expected + ", got " + (actual == null || actual.isBlank() ? "nothing" : "'" + actual + "'"));
    }
}
