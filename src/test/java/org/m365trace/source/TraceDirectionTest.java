package org.m365trace.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.m365trace.SettingException;

class TraceDirectionTest {

    private final TraceDirection contoso = TraceDirection.of("contoso.com, contoso.onmicrosoft.com");

    @Test
    void theFourDirections() {
        assertEquals("inbound", contoso.of("billing@fabrikam.com", "alice@contoso.com"));
        assertEquals("outbound", contoso.of("carol@contoso.com", "dave@fabrikam.com"));
        assertEquals("internal", contoso.of("erin@contoso.com", "all-staff@contoso.com"));
        assertEquals("external", contoso.of("a@fabrikam.com", "b@example.net"));
    }

    @Test
    void aSubdomainOfAListedDomainIsLocal() {
        assertTrue(contoso.isLocal("x@mail.contoso.com"));
        assertTrue(contoso.isLocal("x@eu.mail.contoso.com"));
        assertTrue(contoso.isLocal("x@contoso.onmicrosoft.com"));
        assertEquals("internal", contoso.of("x@eu.mail.contoso.com", "y@contoso.onmicrosoft.com"));
    }

    @Test
    void onlyWholeLabelsMatch() {
        assertFalse(contoso.isLocal("x@evilcontoso.com"), "a suffix that is not a subdomain");
        assertFalse(contoso.isLocal("x@contoso.com.example.net"), "a listed domain as a prefix");
        assertFalse(contoso.isLocal("x@onmicrosoft.com"), "the parent of a listed domain");
        assertFalse(contoso.isLocal("x@com"));
        assertEquals("external", contoso.of("x@evilcontoso.com", "y@contoso.com.example.net"));
    }

    @Test
    void caseIsIgnoredOnBothSides() {
        TraceDirection d = TraceDirection.of("Contoso.COM");
        assertEquals(Set.of("contoso.com"), d.domains());
        assertEquals("internal", d.of("Carol@CONTOSO.com", "DAVE@Mail.Contoso.Com"));
        assertEquals("inbound", d.of("x@FABRIKAM.COM", "alice@contoso.com"));
    }

    @Test
    void theLastAtSignCountsAndMissingAddressesAreNotLocal() {
        assertTrue(contoso.isLocal("\"a@fabrikam.com\"@contoso.com"));
        assertFalse(contoso.isLocal("\"a@contoso.com\"@fabrikam.com"));
        assertFalse(contoso.isLocal(null));
        assertFalse(contoso.isLocal("contoso.com"), "no @: not an address");
        assertFalse(contoso.isLocal("<>"));
        assertEquals("inbound", contoso.of(null, "alice@contoso.com"));
        assertEquals("outbound", contoso.of("carol@contoso.com", null));
    }

    @Test
    void aTrailingRootDotIsTheSameDomain() {
        assertTrue(TraceDirection.of("contoso.com.").isLocal("a@contoso.com"));
        assertTrue(contoso.isLocal("a@contoso.com."));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", " , ,"})
    void emptyIsOff(String value) {
        TraceDirection d = TraceDirection.of(value);
        assertFalse(d.enabled());
        assertNull(d.of("carol@contoso.com", "dave@fabrikam.com"));
        assertFalse(d.isLocal("carol@contoso.com"));
    }

    @Test
    void nullIsOffAndBlankEntriesAreSkipped() {
        assertFalse(TraceDirection.of(null).enabled());
        assertNull(TraceDirection.off().of("a@b.c", "d@e.f"));
        TraceDirection d = TraceDirection.of("contoso.com,,fabrikam.com,");
        assertEquals(Set.of("contoso.com", "fabrikam.com"), d.domains());
        assertTrue(d.enabled());
    }

    @Test
    void internationalizedDomains() {
        TraceDirection d = TraceDirection.of("bücher.de,xn--bcher-kva.de");
        assertTrue(d.isLocal("info@BÜCHER.de"));
        assertTrue(d.isLocal("info@xn--bcher-kva.de"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"contoso .com", "@contoso.com", "alice@contoso.com", "*.contoso.com", "contoso..com",
            ".contoso.com", "-contoso.com", "contoso-.com", "contoso.com;fabrikam.com", "contoso.com fabrikam.com",
            "http://contoso.com"})
    void aWrongDomainNamesTheSettingOnOneLine(String entry) {
        SettingException e = assertThrows(SettingException.class, () -> TraceDirection.of("fabrikam.net, " + entry));
        assertTrue(e.getMessage().startsWith("trace.localDomains: expected a comma list of mail domains"), e.getMessage());
        assertTrue(e.getMessage().endsWith(", got '" + entry + "'"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
}
