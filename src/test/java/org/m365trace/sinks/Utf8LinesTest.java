package org.m365trace.sinks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class Utf8LinesTest {

    private static final byte[] API = Utf8Lines.key("api");
    private static final byte[] TENANT = Utf8Lines.key("tenant");

    @Test
    void aFieldIsFoundFromEitherEndAndNeverInsideAString() {
        String line = "{\"subject\":\"\\\"api\\\":\\\"reporting\\\" \\\"tenant\\\":\\\"evil\\\" \u00e9\",\"api\":\"graph\",\"tenant\":\"contoso\"}";
        byte[] bytes = (line + "\n\n" + line.replace("contoso", "fabrikam") + "\n").getBytes(StandardCharsets.UTF_8);
        List<String> found = new ArrayList<>();
        Utf8Lines.forEach(bytes, (start, end, next) -> {
            assertEquals(Utf8Lines.field(bytes, start, end, API), Utf8Lines.lastField(bytes, start, end, API));
            assertSame("graph", Utf8Lines.lastField(bytes, start, end, API), "the api of every line is one string");
            found.add(Utf8Lines.lastField(bytes, start, end, TENANT));
            assertEquals(Utf8Lines.field(bytes, start, end, TENANT), Utf8Lines.lastField(bytes, start, end, TENANT));
        });
        assertEquals(List.of("contoso", "fabrikam"), found, "blank lines skipped");
        byte[] edge = "\"api\":\"reporting\"".getBytes(StandardCharsets.UTF_8);    // the field fills the line exactly
        assertSame("reporting", Utf8Lines.lastField(edge, 0, edge.length, API));
        assertNull(Utf8Lines.lastField(edge, 1, edge.length, API), "a field that starts before the line is not in it");
        assertNull(Utf8Lines.lastField(edge, 0, edge.length - 1, API), "nor one whose value ends after it");
        byte[] none = "{\"a\":\"b\"}".getBytes(StandardCharsets.UTF_8);
        assertNull(Utf8Lines.lastField(none, 0, none.length, API));
        assertEquals(2, Utf8Lines.count(bytes));
    }
}
