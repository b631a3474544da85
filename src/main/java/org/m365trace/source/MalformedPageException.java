package org.m365trace.source;

/** A reply of the message-trace API that cannot be read as a page of rows. The window is read again. */
public class MalformedPageException extends RuntimeException {
    public MalformedPageException(String message) {
        super(message);
    }

    public MalformedPageException(String message, Throwable cause) {
        super(message, cause);
    }
}
