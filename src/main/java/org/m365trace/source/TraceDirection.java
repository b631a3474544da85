package org.m365trace.source;

import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

import org.m365trace.SettingException;

/**
 * The direction of a record from {@code trace.localDomains} (issue 13): {@code inbound} (sender external, recipient
 * local), {@code outbound} (sender local, recipient external), {@code internal} (both local), {@code external}
 * (neither). These are ECS's own {@code email.direction} values.
 * <p>
 * An address is local when the domain after its last {@code @} is a listed domain or a subdomain of one
 * ({@code mail.contoso.com} for {@code contoso.com}; not {@code evilcontoso.com}), compared case-insensitively. An
 * address without {@code @} (or none at all) is not local. With no domains listed the feature is off and
 * {@link #of(String, String)} gives null: the field is left out.
 * <p>
 * Immutable and thread-safe; a lookup is a few hash lookups (one per label of the domain), no regular expression.
 */
public final class TraceDirection {

    public static final String PROPERTY = "trace.localDomains";
    public static final String INBOUND = "inbound";
    public static final String OUTBOUND = "outbound";
    public static final String INTERNAL = "internal";
    public static final String EXTERNAL = "external";

    private static final String EXPECTED = "a comma list of mail domains such as contoso.com,contoso.onmicrosoft.com"
            + " (a subdomain of a listed domain counts)";
    /** One DNS label: letters (Unicode too, for IDNs), digits, '_' and inner '-'. */
    private static final Pattern LABEL = Pattern.compile("[\\p{L}\\p{N}_](?:[\\p{L}\\p{N}_-]*[\\p{L}\\p{N}_])?");
    private static final TraceDirection OFF = new TraceDirection(Set.of());

    private final Set<String> domains;

    private TraceDirection(Set<String> domains) {
        this.domains = domains;
    }

    /** The feature switched off: every direction is null. */
    public static TraceDirection off() {
        return OFF;
    }

    /**
     * The directions for {@code localDomains} ({@code trace.localDomains}); blank: off. Blank entries (a trailing
     * comma) are ignored; anything else that is not a domain name is a {@link SettingException} naming the entry.
     */
    public static TraceDirection of(String localDomains) {
        if (localDomains == null || localDomains.isBlank()) {
            return OFF;
        }
        Set<String> domains = new LinkedHashSet<>();
        for (String entry : localDomains.split(",", -1)) {
            String d = entry.strip().toLowerCase(Locale.ROOT);
            if (d.isEmpty()) {
                continue;
            }
            if (d.endsWith(".") && d.length() > 1) {
                d = d.substring(0, d.length() - 1);     // the DNS root dot: contoso.com. is contoso.com
            }
            if (!isDomain(d)) {
                throw new SettingException(PROPERTY, EXPECTED, entry.strip());
            }
            domains.add(d);
        }
        return domains.isEmpty() ? OFF : new TraceDirection(Collections.unmodifiableSet(domains));
    }

    /** True when domains are listed (the field is written). */
    public boolean enabled() {
        return !domains.isEmpty();
    }

    /** The listed domains, lower case. */
    public Set<String> domains() {
        return domains;
    }

    /** {@code inbound}, {@code outbound}, {@code internal} or {@code external}; null when the feature is off. */
    public String of(String senderAddress, String recipientAddress) {
        if (domains.isEmpty()) {
            return null;
        }
        boolean from = isLocal(senderAddress);
        boolean to = isLocal(recipientAddress);
        return from ? (to ? INTERNAL : OUTBOUND) : (to ? INBOUND : EXTERNAL);
    }

    /** Whether the address's domain is a listed domain or a subdomain of one. */
    public boolean isLocal(String address) {
        if (address == null || domains.isEmpty()) {
            return false;
        }
        int at = address.lastIndexOf('@');
        if (at < 0) {
            return false;
        }
        String d = address.substring(at + 1).strip().toLowerCase(Locale.ROOT);
        if (d.endsWith(".")) {
            d = d.substring(0, d.length() - 1);
        }
        while (!d.isEmpty()) {
            if (domains.contains(d)) {
                return true;
            }
            int dot = d.indexOf('.');
            if (dot < 0) {
                return false;
            }
            d = d.substring(dot + 1);
        }
        return false;
    }

    private static boolean isDomain(String d) {
        if (d.length() > 253) {
            return false;
        }
        for (String label : d.split("\\.", -1)) {
            if (label.length() > 63 || !LABEL.matcher(label).matches()) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return domains.isEmpty() ? "off" : String.join(",", domains);
    }
}
