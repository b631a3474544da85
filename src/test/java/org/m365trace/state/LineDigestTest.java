package org.m365trace.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import java.util.UUID;

import org.apache.commons.codec.digest.MurmurHash3;
import org.junit.jupiter.api.Test;

/** {@link DigestSet#lineDigest}: MurmurHash3 x64 128 as the reference implementation computes it. */
class LineDigestTest {

    @Test
    void is_murmur3_x64_128_for_every_length_and_offset() {
        Random random = new Random(42);
        for (int length = 0; length <= 200; length++) {
            byte[] bytes = new byte[length + 7];
            random.nextBytes(bytes);
            for (int offset : new int[] {0, 3, 7}) {
                long[] expected = MurmurHash3.hash128x64(bytes, offset, length, 0);
                assertEquals(new UUID(expected[0], expected[1]), DigestSet.lineDigest(bytes, offset, length), "length " + length + ", offset " + offset);
            }
        }
    }

    @Test
    void lines_that_differ_in_one_character_differ() {
        String line = "{\"messageTraceId\":\"a1\",\"recipientAddress\":\"bob@contoso.com\",\"status\":\"Delivered\"}";
        Set<UUID> seen = new HashSet<>();
        for (int i = 0; i < line.length(); i++) {
            byte[] changed = line.getBytes(StandardCharsets.UTF_8);
            changed[i] ^= 1;
            assertEquals(true, seen.add(DigestSet.lineDigest(changed, 0, changed.length)), "position " + i);
        }
        byte[] original = line.getBytes(StandardCharsets.UTF_8);
        assertNotEquals(DigestSet.lineDigest(original, 0, original.length - 1), DigestSet.lineDigest(original, 0, original.length));
    }
}
