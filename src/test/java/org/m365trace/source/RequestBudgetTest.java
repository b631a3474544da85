package org.m365trace.source;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

import org.junit.jupiter.api.Test;

class RequestBudgetTest {

    private Instant now = Instant.parse("2026-11-20T08:00:00Z");

    private RequestBudget budget(int requests, String period) {
        RequestBudget b = new RequestBudget();
        b.setRequests(requests);
        b.setPeriod(period);
        b.setClock(new Clock() {
            @Override
            public ZoneOffset getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return now;
            }
        });
        return b;
    }

    @Test
    void within_the_budget_nothing_waits_then_the_next_waits_for_the_oldest_to_leave_the_window() {
        RequestBudget b = budget(3, "5m");
        assertEquals(0, b.reserve());
        now = now.plusSeconds(10);
        assertEquals(0, b.reserve());
        assertEquals(0, b.reserve());
        assertEquals(290_250, b.reserve(), "the first request leaves the 5-minute window 290 s from now (plus a margin)");
        assertEquals(300_250, b.reserve(), "then the second (booked 10 s after the first)");
        now = now.plusSeconds(600);
        assertEquals(0, b.reserve(), "an idle window is free again");
    }

    @Test
    void a_request_that_left_later_than_booked_is_counted_from_its_answer() {
        RequestBudget b = budget(2, "5m");
        assertEquals(0, b.reserve());
        now = now.plusSeconds(2);                 // a token was fetched first: the request arrived 2 s after its booking
        b.answered();
        assertEquals(0, b.reserve());
        b.answered();
        assertEquals(300_250, b.reserve(), "the first request counts from its answer, 2 s after its booking");
    }
}
class ApiRepliesTest {
    @Test
    void retry_after_in_seconds_or_as_a_date_else_capped_doubling() {
        ApiReplies r = new ApiReplies();
        r.setMaxBackoff("8s");
        r.setClock(Clock.fixed(Instant.parse("2026-11-20T08:00:00Z"), ZoneOffset.UTC));
        assertEquals(2000, r.retryAfterMillis("2", 1));
        assertEquals(30_000, r.retryAfterMillis("Fri, 20 Nov 2026 08:00:30 GMT", 1));
        assertEquals(1000, r.retryAfterMillis(null, 1));
        assertEquals(4000, r.retryAfterMillis("", 3));
        assertEquals(8000, r.retryAfterMillis("soon", 10), "capped at trace.graph.maxBackoff");
    }
}
