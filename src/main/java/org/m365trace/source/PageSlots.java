package org.m365trace.source;

import java.util.concurrent.Semaphore;

import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.m365trace.SettingException;

/**
 * How many pages all tenants of a process read at once: a page's records are in memory from its parse until the
 * sinks took them (up to {@code trace.pageSize} records of about 1 KB each), and every tenant polls on a thread of its
 * own. With a hundred tenants catching up together, a hundred pages were in memory at once, and a 256 MB heap ran out;
 * and on two cores, more than two pages at once only take turns. The request for a page is made outside the slot
 * (waiting for Microsoft costs no memory); the slot is taken when the reply arrives and given back once the page's
 * records are in every sink's spool, or when the poll fails. A record's details request (trace.graph.details) gives the
 * slot back while it waits for its answer, the request budget or a 429, and takes one again after.
 * <p>
 * One semaphore per Camel context, shared by the beans of every tenant (the Kamelet's local bean
 * {@code pageSlots}): the first tenant's {@code permits} sets its size. A tenant reads one page at a time, so this bean
 * remembers whether its tenant holds a slot, and {@link #give} is safe to call twice.
 */
public class PageSlots implements CamelContextAware {

    /** The shared semaphore's name in the registry. */
    static final String SHARED = "m365trace.pageSlots";

    private CamelContext camelContext;
    private String permits = "";
    private Semaphore slots;
    private volatile boolean held;

    /** Empty: one per processor. */
    public void setPermits(String permits) {
        this.permits = permits == null ? "" : permits.trim();
    }

    /** The number of pages read at once that {@code permits} asks for. */
    public static int permits(String text) {
        if (text == null || text.isBlank()) {
            return Math.max(1, Runtime.getRuntime().availableProcessors());
        }
        try {
            int n = Integer.parseInt(text.trim());
            if (n >= 1) {
                return n;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new SettingException("trace.pageConcurrency", "a whole number of 1 or more, or empty for one per processor", text);
    }

    /**
     * Finds or binds the shared slots now, as the tenant's route is made: bound lazily from a poll thread, the registry
     * changed under code that was reading it as the context finished starting (a ConcurrentModificationException).
     */
    public void init() {
        shared();
    }

    /** Waits for a slot, unless this tenant holds one already. */
    public void take() throws InterruptedException {
        if (!held) {
            shared().acquire();
            held = true;
        }
    }

    /** Gives this tenant's slot back; nothing if it holds none. */
    public void give() {
        if (held) {
            held = false;
            shared().release();
        }
    }

    /** Slots free now (tests, metrics). */
    public int available() {
        return shared().availablePermits();
    }

    private Semaphore shared() {
        if (slots == null) {
            int n = permits(permits);
            if (camelContext == null) {
                slots = new Semaphore(n, true);
            } else {
                synchronized (camelContext) {
                    Semaphore s = camelContext.getRegistry().lookupByNameAndType(SHARED, Semaphore.class);
                    if (s == null) {
                        s = new Semaphore(n, true);         // fair: a tenant that waits long is next
                        camelContext.getRegistry().bind(SHARED, Semaphore.class, s);
                    }
                    slots = s;
                }
            }
        }
        return slots;
    }

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }
}
