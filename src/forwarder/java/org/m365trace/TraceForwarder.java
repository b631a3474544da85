package org.m365trace;

import org.apache.camel.main.Main;
import org.slf4j.LoggerFactory;

/**
 * The standalone jar's entry point: Camel Main with the YAML routes of {@code routes/} and {@code application.properties}.
 * A wrong or missing setting ends the process with one line naming the property (exit code 2). The log format
 * ({@code trace.log.format}) is applied first, so that every line, Camel's first included, has it; once Camel has read
 * the settings, they are logged in one block ({@link SettingsSummary}).
 */
public final class TraceForwarder {

    private TraceForwarder() {
    }

    public static void main(String[] args) throws Exception {
        String format;
        try {
            format = LogFormat.ofThisProcess().resolve();
        } catch (SettingException e) {
            stop(LogFormat.TEXT, e);
            return;
        }
        LogFormat.apply(format);
        try {
            Main main = new Main(TraceForwarder.class);
            // no classpath scan of package org.m365trace for @BindToRegistry beans, configurations or Java routes: the
            // routes and their beans are all declared in the YAML files, and in the jar the scan reads through the whole
            // jar (about 0.3 s of every start). Code, not camel.main.basePackageScanEnabled: Camel Main takes the main
            // class's package before it reads that setting, which then cannot switch the scan off.
            main.configure().withBasePackageScanEnabled(false);
            main.addMainListener(new SettingsSummary());
            int code = main.run(args);
            System.exit(code == 0 && Replay.failed() ? 1 : code);
        } catch (Exception e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof SettingException s) {
                    stop(format, s);
                }
            }
            if (LogFormat.JSON.equals(format)) {
                // the JVM would print the stack trace as text lines
                LoggerFactory.getLogger(TraceForwarder.class).error("m365-trace-forwarder: " + e.getMessage(), e);
                System.exit(1);
            }
            throw e;
        }
    }

    /** Ends the process with the one line saying which setting is wrong (in json: as a JSON line), exit code 2. */
    private static void stop(String format, SettingException e) {
        String line = "m365-trace-forwarder: " + e.getMessage();
        if (LogFormat.JSON.equals(format)) {
            LoggerFactory.getLogger(TraceForwarder.class).error(line);
        } else {
            System.err.println(line);
        }
        System.err.flush();
        // nothing was started: end now, so that this line stays the last one (no shutdown-hook chatter)
        Runtime.getRuntime().halt(2);
    }
}
