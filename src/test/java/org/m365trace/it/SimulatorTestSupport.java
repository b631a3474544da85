package org.m365trace.it;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

import org.apache.camel.test.main.junit5.CamelMainTestSupport;
import org.junit.jupiter.api.AfterEach;
import org.m365trace.TraceForwarder;
import org.m365trace.demo.SimulatedReportingService;
import org.m365trace.state.TraceCheckpoint;

/**
 * The real application (its main class, route files and properties) pointed at the API simulator and, where a test
 * asks for them, real loopback syslog and HTTP receivers; each test gets its own state and output folder.
 */
abstract class SimulatorTestSupport extends CamelMainTestSupport {

    // CamelTestSupport asks for the properties from its constructor, before field initializers run: the servers
    // and the folder are made there, in fields without initializers (an initializer would overwrite them)
    Path tmp;
    SimulatedReportingService api;
    SyslogReceiver syslog;
    HttpReceiver http;
    /** The log lines of this test, from before the routes start. */
    LogLines logs;

    /** The settings of this test; it starts {@link #api} here (and receivers with {@link #withSyslog}, {@link #withHttp}). */
    protected abstract Properties settings();

    @Override
    protected Class<?> getMainClass() {
        return TraceForwarder.class;
    }

    @Override
    protected final Properties useOverridePropertiesWithPropertiesComponent() {
        tmp = Fixtures.unchecked(() -> Files.createTempDirectory(getClass().getSimpleName()));
        if (logs == null) {
            logs = LogLines.capture();
        }
        return settings();
    }

    /** Enables the syslog sink towards a new TCP receiver. */
    Properties withSyslog(Properties p) {
        syslog = Fixtures.unchecked(SyslogReceiver::tcp);
        p.put("trace.syslog.enabled", "true");
        p.put("trace.syslog.port", String.valueOf(syslog.port()));
        return p;
    }

    /** Enables the HTTP sink towards a new receiver. */
    Properties withHttp(Properties p) {
        http = Fixtures.unchecked(HttpReceiver::new);
        p.put("trace.http.enabled", "true");
        p.put("trace.http.url", http.url());
        return p;
    }

    Path out() {
        return tmp.resolve("out");
    }

    TraceCheckpoint checkpoint() {
        return Fixtures.checkpoint(context);
    }

    @AfterEach
    void stopServers() throws Exception {
        if (logs != null) {
            logs.close();
        }
        if (api != null) {
            api.stop();
        }
        if (syslog != null) {
            syslog.close();
        }
        if (http != null) {
            http.close();
        }
    }
}
