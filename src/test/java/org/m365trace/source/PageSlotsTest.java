package org.m365trace.source;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.Test;
import org.m365trace.SettingException;

class PageSlotsTest {

    @Test
    void theTenantsOfOneContextShareTheSlots() throws Exception {
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            PageSlots a = slots(context, "1");
            PageSlots b = slots(context, "5");          // the first tenant's size holds for all
            a.take();
            assertEquals(0, b.available(), "one semaphore for the context");
            AtomicBoolean bTook = new AtomicBoolean();
            CompletableFuture<Void> waiting = CompletableFuture.runAsync(() -> {
                try {
                    b.take();
                    bTook.set(true);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            // b waits while a holds the only slot; a thread parked on the semaphore is what "waits" means here
            await().atMost(Duration.ofSeconds(5)).until(() -> context.getRegistry()
                    .lookupByNameAndType(PageSlots.SHARED, java.util.concurrent.Semaphore.class).hasQueuedThreads());
            assertFalse(bTook.get(), "the second tenant waits for the slot");
            a.give();
            waiting.get();
            assertTrue(bTook.get(), "and takes it once the first gave it back");
            b.give();
            assertEquals(1, a.available());
        }
    }

    @Test
    void givingTwiceOrWithoutASlotGivesNothingAway() throws Exception {
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            PageSlots a = slots(context, "2");
            a.give();                                    // a poll that failed before its first page
            assertEquals(2, a.available());
            a.take();
            a.take();                                    // a tenant holds one slot however often it asks
            assertEquals(1, a.available());
            a.give();
            a.give();                                    // after the page, then in the poll's finally
            assertEquals(2, a.available());
        }
    }

    @Test
    void theSizeIsAWholeNumberOrOnePerProcessor() {
        assertEquals(Math.max(1, Runtime.getRuntime().availableProcessors()), PageSlots.permits(""));
        assertEquals(3, PageSlots.permits(" 3 "));
        for (String wrong : new String[] {"0", "-1", "two", "1.5"}) {
            SettingException e = assertThrows(SettingException.class, () -> PageSlots.permits(wrong));
            assertTrue(e.getMessage().contains("trace.pageConcurrency") && e.getMessage().contains(wrong), e.getMessage());
        }
    }

    private static PageSlots slots(DefaultCamelContext context, String permits) {
        PageSlots s = new PageSlots();
        s.setCamelContext(context);
        s.setPermits(permits);
        return s;
    }
}
