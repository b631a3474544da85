package org.m365trace.chaos;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import java.util.function.IntFunction;
import java.util.stream.Collectors;

/**
 * The mail traffic the fake Graph serves: a fixed, seeded set of message-trace rows (one per message and recipient)
 * around an anchor instant {@code t0}, with the two kinds of timing the real service has:
 * <ul>
 * <li><b>late rows</b>: a row becomes visible ({@link Row#visibleAt}) some time after its {@code receivedDateTime};</li>
 * <li><b>status changes</b>: a row is first {@code pending} or {@code gettingStatus} and later {@code delivered} or
 * {@code failed} ({@link Row#phases}); its {@code receivedDateTime} never changes.</li>
 * </ul>
 * Everything settles by {@link #quietAfter()}: after that instant no row appears and no status changes.
 */
final class TraceDataset {

    /** How much traffic, and when its late rows appear and its statuses change (offsets from {@code t0}). */
    record Plan(int historicMessages, Duration history, Duration liveSpan, double liveMessagesPerSecond,
                int lateRows, Duration lateFrom, Duration lateUntil,
                int changingRows, Duration changesFrom, Duration changesUntil) {
    }

    /** From {@code from} on, the row has {@code status} (Graph spelling). */
    record Phase(String status, Instant from) {
    }

    /** One message-trace row: a message as seen by one recipient. */
    record Row(String id, String senderAddress, String recipientAddress, String messageId, Instant received,
               String receivedText, String subject, int size, String fromIP, String toIP, Instant visibleAt,
               List<Phase> phases, boolean withODataType) {

        /** (messageTraceId, recipientAddress): what identifies a row across status changes. */
        String rowKey() {
            return id + "|" + recipientAddress;
        }

        /** The dedupe key of the record of this row in {@code graphStatus}. */
        String key(String graphStatus) {
            return rowKey() + "|" + Contract.status(graphStatus);
        }

        boolean visible(Instant now) {
            return !now.isBefore(visibleAt);
        }

        /** The Graph status at {@code now}. */
        String statusAt(Instant now) {
            String status = phases.get(0).status();
            for (Phase p : phases) {
                if (!now.isBefore(p.from())) {
                    status = p.status();
                }
            }
            return status;
        }

        String finalStatus() {
            return phases.get(phases.size() - 1).status();
        }

        Instant settledAt() {
            Instant last = visibleAt;
            for (Phase p : phases) {
                if (p.from().isAfter(last)) {
                    last = p.from();
                }
            }
            return last;
        }
    }

    private static final DateTimeFormatter SECONDS = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss'Z'", Locale.ROOT)
            .withZone(ZoneOffset.UTC);

    private static final String[] SUBJECTS = {
        "Your November invoice",
        "Réunion «Q1» — \"budget\" C:\\Finance\\Q1\nSecond line ✓ 日本語",
        "Limited offer",
        "Invoice 2026-0142",
        "Benefits enrolment",
        "RE: quarterly numbers\tdraft 3",
        "Emoji 🚀 launch / \"quotes\" and 'single' and {braces} [brackets]",
        "Ünïcödé Grüße aus Köln",
        "line one\r\nline two\\nnot a newline",
        "<script>alert('x')</script> & ampersand",
        "Weekly digest #",
    };
    private static final String[] SENDERS = {
        "billing@fabrikam.com", "carol@contoso.com", "promo@mailer.example.net", "hr@fabrikam.com",
        "noreply@example.net", "o'neil@contoso.com", "newsletter@fabrikam.com",
    };
    private static final String[] FINAL_STATUSES = {"delivered", "failed"};

    private final Instant t0;
    private final List<Row> rows;
    private final Map<String, Row> byRowKey;

    private TraceDataset(Instant t0, List<Row> rows) {
        this.t0 = t0;
        this.rows = Collections.unmodifiableList(rows);
        this.byRowKey = rows.stream().collect(Collectors.toMap(Row::rowKey, Function.identity()));
    }

    static TraceDataset generate(long seed, Instant t0, Plan plan) {
        return new Generator(new Random(seed), t0.truncatedTo(ChronoUnit.SECONDS)).generate(plan);
    }

    Instant t0() {
        return t0;
    }

    List<Row> rows() {
        return rows;
    }

    Row row(String rowKey) {
        return byRowKey.get(rowKey);
    }

    /** When the last row appears or the last status changes. */
    Instant quietAfter() {
        return rows.stream().map(Row::settledAt).max(Comparator.naturalOrder()).orElse(t0);
    }

    /** The rows visible at {@code now} and received within [{@code ge}, {@code le}], newest first, as Graph orders them. */
    List<Row> query(Instant ge, Instant le, Instant now) {
        return rows.stream()
                .filter(r -> r.visible(now) && !r.received().isBefore(ge) && !r.received().isAfter(le))
                .sorted(Comparator.comparing(Row::received).reversed().thenComparing(Row::rowKey))
                .toList();
    }

    String describe() {
        long late = rows.stream().filter(r -> r.visibleAt().isAfter(r.received().plusSeconds(5))).count();
        long changing = rows.stream().filter(r -> r.phases().size() > 1).count();
        long live = rows.stream().filter(r -> !r.received().isBefore(t0)).count();
        return rows.size() + " rows (" + live + " received after t0, " + late + " late, " + changing
                + " changing status), quiet after t0+" + Duration.between(t0, quietAfter()).toSeconds() + "s";
    }

    /** Builds the rows; every random choice comes from one seeded {@link Random}. */
    private static final class Generator {
        private final Random rnd;
        private final Instant t0;
        private final List<Row> rows = new ArrayList<>();
        private int messages;

        Generator(Random rnd, Instant t0) {
            this.rnd = rnd;
            this.t0 = t0;
        }

        TraceDataset generate(Plan plan) {
            long historySeconds = plan.history().toSeconds();
            for (int i = 0; i < plan.historicMessages(); i++) {
                Instant received = t0.minusSeconds(120 + (long) (rnd.nextDouble() * (historySeconds - 120)));
                message(received, received, settled());
            }
            long liveMessages = Math.round(plan.liveSpan().toSeconds() * plan.liveMessagesPerSecond());
            for (long i = 0; i < liveMessages; i++) {
                Instant received = t0.plusMillis((long) (rnd.nextDouble() * plan.liveSpan().toMillis()));
                // most rows show up within seconds; some later than trace.delay, caught only through trace.overlap
                Instant visible = received.plusMillis(rnd.nextInt(10) < 8 ? rnd.nextInt(5000) : 20_000 + rnd.nextInt(40_000));
                message(received, visible, settled());
            }
            for (int i = 0; i < plan.lateRows(); i++) {
                Instant appears = between(plan.lateFrom(), plan.lateUntil());
                Instant received = appears.minusSeconds(20 + rnd.nextInt(100));
                message(received, appears, settled());
            }
            for (int i = 0; i < plan.changingRows(); i++) {
                Instant change = between(plan.changesFrom(), plan.changesUntil());
                Instant received = change.minusSeconds(60 + rnd.nextInt(20 * 60));
                List<Phase> phases = new ArrayList<>();
                phases.add(new Phase(rnd.nextInt(4) == 0 ? "gettingStatus" : "pending", received));
                // one in five changes twice: pending -> gettingStatus -> final (or the other way round), 10-40 s apart
                long room = Duration.between(change, t0.plus(plan.changesUntil())).toSeconds() - 10;
                if (rnd.nextInt(5) == 0 && room >= 1) {
                    phases.add(new Phase("gettingStatus".equals(phases.get(0).status()) ? "pending" : "gettingStatus", change));
                    change = change.plusSeconds(10 + rnd.nextInt((int) Math.min(30, room)));
                }
                phases.add(new Phase(FINAL_STATUSES[rnd.nextInt(FINAL_STATUSES.length)], change));
                changingMessage(received, phases);
            }
            return new TraceDataset(t0, rows);
        }

        private Instant between(Duration from, Duration until) {
            return t0.plusMillis(from.toMillis() + (long) (rnd.nextDouble() * (until.toMillis() - from.toMillis())));
        }

        /** The status of a row that never changes: mostly delivered, the rest spread over Graph's values. */
        private String settled() {
            int p = rnd.nextInt(1000);
            if (p < 690) {
                return rnd.nextInt(25) == 0 ? "Delivered" : "delivered";   // Microsoft's examples use both casings
            }
            if (p < 760) {
                return "failed";
            }
            if (p < 820) {
                return "filteredAsSpam";
            }
            if (p < 860) {
                return "quarantined";
            }
            if (p < 900) {
                return "expanded";
            }
            if (p < 950) {
                return "pending";
            }
            if (p < 995) {
                return "gettingStatus";
            }
            return "unknownFutureValue";                                      // an evolvable enum's newer value
        }

        /** A message to 1-3 recipients, each in a status that never changes ({@code firstStatus} for the first). */
        private void message(Instant received, Instant visible, String firstStatus) {
            int recipients = 1 + (rnd.nextInt(10) < 6 ? 0 : rnd.nextInt(3));
            message(received, visible, recipients, r -> List.of(new Phase(r == 0 ? firstStatus : settled(), received)));
        }

        /** A message to one recipient whose status changes. */
        private void changingMessage(Instant received, List<Phase> phases) {
            message(received, received, 1, r -> phases);
        }

        private void message(Instant received, Instant visible, int recipients, IntFunction<List<Phase>> phasesOf) {
            int n = messages++;
            String id = new UUID(rnd.nextLong(), rnd.nextLong()).toString();
            String sender = SENDERS[rnd.nextInt(SENDERS.length)];
            boolean outbound = sender.endsWith("@contoso.com");
            String messageId = "<" + new UUID(rnd.nextLong(), rnd.nextLong()) + "@" + sender.substring(sender.indexOf('@') + 1) + ">";
            String subject = SUBJECTS[rnd.nextInt(SUBJECTS.length)] + (rnd.nextInt(3) == 0 ? " " + n : "");
            int size = 1024 + rnd.nextInt(20 * 1024 * 1024);
            String fromIP = outbound ? "192.0.2." + (1 + rnd.nextInt(250)) : "198.51.100." + (1 + rnd.nextInt(250));
            String receivedText = receivedText(received);
            Instant parsed = Instant.parse(receivedText);
            boolean odataType = rnd.nextInt(10) == 0;
            Set<String> taken = new HashSet<>();
            for (int r = 0; r < recipients; r++) {
                String recipient;
                do {
                    recipient = outbound ? "user" + rnd.nextInt(500) + "@fabrikam.com" : "user" + rnd.nextInt(800) + "@contoso.com";
                } while (!taken.add(recipient));
                String toIP = outbound ? "203.0.113." + (1 + rnd.nextInt(250)) : "";
                rows.add(new Row(id, sender, recipient, messageId, parsed, receivedText, subject, size, fromIP, toIP,
                        visible, phasesOf.apply(r), odataType));
            }
        }

        /** Mostly whole seconds as Microsoft shows them; some with 3 or 7 fractional digits (the 4th below 5). */
        private String receivedText(Instant received) {
            int style = rnd.nextInt(10);
            if (style == 0) {
                return SECONDS.format(received).replace("Z", String.format(".%03dZ", rnd.nextInt(1000)));
            }
            if (style == 1) {
                return SECONDS.format(received).replace("Z", String.format(".%03d%d%03dZ", rnd.nextInt(1000), rnd.nextInt(5), rnd.nextInt(1000)));
            }
            return SECONDS.format(received);
        }
    }
}
