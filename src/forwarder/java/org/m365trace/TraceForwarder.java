package org.m365trace;

import org.apache.camel.main.Main;

/**
 * The standalone jar's entry point: Camel Main with the YAML routes of {@code routes/} and {@code application.properties}.
 * A wrong or missing setting ends the process with one line naming the property (exit code 2).
 */
public final class TraceForwarder {

    private TraceForwarder() {
    }

    public static void main(String[] args) throws Exception {
        try {
            Main main = new Main(TraceForwarder.class);
            int code = main.run(args);
            System.exit(code == 0 && Replay.failed() ? 1 : code);
        } catch (Exception e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof SettingException) {
                    System.err.println("m365-trace-forwarder: " + t.getMessage());
                    System.err.flush();
                    // nothing was started: end now, so that this line stays the last one (no shutdown-hook chatter)
                    Runtime.getRuntime().halt(2);
                }
            }
            throw e;
        }
    }
}
