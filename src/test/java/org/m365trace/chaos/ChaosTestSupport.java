package org.m365trace.chaos;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

/** What ChaosIT and SoakIT share: the harness, closed after each test, and its diagnostics printed when one fails. */
abstract class ChaosTestSupport {

    ChaosHarness harness;

    @RegisterExtension
    final TestWatcher diagnostics = new TestWatcher() {
        @Override
        public void testFailed(ExtensionContext context, Throwable cause) {
            if (harness != null) {
                System.err.println(ChaosTestSupport.this.getClass().getSimpleName() + " failed; what the harness knows:\n" + harness.diagnostics());
            }
        }
    };

    @AfterEach
    void tearDown() throws Exception {
        if (harness != null) {
            harness.close();
        }
    }
}
