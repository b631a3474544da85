package org.m365trace.it;

import java.util.Properties;

import org.apache.camel.CamelContext;
import org.apache.camel.builder.NotifyBuilder;
import org.apache.camel.main.Main;
import org.m365trace.TraceForwarder;
import org.m365trace.state.TraceCheckpoint;

/**
 * The real application in this JVM (its main class, route files and properties) with the given settings, as
 * {@link RestartIT} starts it: for test classes whose methods need different settings.
 */
final class Forwarder implements AutoCloseable {

    private final Main main;

    private Forwarder(Main main) {
        this.main = main;
    }

    static Forwarder start(Properties settings) throws Exception {
        Main main = new Main(TraceForwarder.class);
        main.setOverrideProperties(settings);
        main.start();
        return new Forwarder(main);
    }

    CamelContext context() {
        return main.getCamelContext();
    }

    TraceCheckpoint checkpoint() {
        return Fixtures.checkpoint(context());
    }

    /** Matches once {@code n} more polls (timer runs of route trace-poll) have ended, however they ended. */
    NotifyBuilder polls(int n) {
        return new NotifyBuilder(context()).fromRoute("trace-poll").whenDone(n).create();
    }

    @Override
    public void close() {
        main.stop();
    }
}
