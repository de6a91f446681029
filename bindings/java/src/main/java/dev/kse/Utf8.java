package dev.kse;

import java.util.Arrays;
import java.util.Locale;

/**
 * Java strings to UTF-8 for the library, in one pass that also rejects
 * unpaired surrogates (which have no UTF-8 form; {@link String#getBytes}
 * would silently turn each into {@code '?'}).
 */
final class Utf8 {
    private Utf8() {}

    /**
     * Writes {@code s} as UTF-8 into {@code dst} from {@code pos}, which must
     * have room for {@code 3 * s.length()} bytes (or for {@link #length}),
     * and returns the position after it.
     *
     * @param index the text's index in the call, for the error message
     * @throws KseException {@link KseStatus#INVALID_UTF8} at an unpaired surrogate
     *     (what was written before it is left in {@code dst})
     */
    static int encode(String s, byte[] dst, int pos, int index) {
        int n = s.length();
        int i = 0;
        while (i < n) {
            char c = s.charAt(i++);
            if (c < 0x80) {
                dst[pos++] = (byte) c;
            } else if (c < 0x800) {
                dst[pos++] = (byte) (0xC0 | (c >> 6));
                dst[pos++] = (byte) (0x80 | (c & 0x3F));
            } else if (!Character.isSurrogate(c)) {
                dst[pos++] = (byte) (0xE0 | (c >> 12));
                dst[pos++] = (byte) (0x80 | ((c >> 6) & 0x3F));
                dst[pos++] = (byte) (0x80 | (c & 0x3F));
            } else {
                char d;
                if (!Character.isHighSurrogate(c) || i == n || !Character.isLowSurrogate(d = s.charAt(i))) {
                    throw unpaired(index, c, i - 1);
                }
                i++;
                int cp = Character.toCodePoint(c, d);
                dst[pos++] = (byte) (0xF0 | (cp >> 18));
                dst[pos++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
                dst[pos++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
                dst[pos++] = (byte) (0x80 | (cp & 0x3F));
            }
        }
        return pos;
    }

    /** {@code s} as UTF-8, or {@link KseException} ({@link KseStatus#INVALID_UTF8}) naming text {@code index}. */
    static byte[] bytes(String s, int index) {
        long worst = 3L * s.length();
        // Past ~700 M chars the worst case does not fit one array: size it exactly (a second pass).
        byte[] buf = new byte[(int) (worst <= Integer.MAX_VALUE - 8 ? worst : Math.min(length(s, index), Integer.MAX_VALUE))];
        int len = encode(s, buf, 0, index);
        return len == buf.length ? buf : Arrays.copyOf(buf, len);
    }

    /** The UTF-8 length of {@code s}, or {@link KseException} as {@link #encode}. */
    static long length(String s, int index) {
        int n = s.length();
        long len = 0;
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                len += 1;
            } else if (c < 0x800) {
                len += 2;
            } else if (!Character.isSurrogate(c)) {
                len += 3;
            } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                len += 4;
                i++;
            } else {
                throw unpaired(index, c, i);
            }
        }
        return len;
    }

    private static KseException unpaired(int index, char c, int at) {
        return new KseException(KseStatus.INVALID_UTF8, String.format(Locale.ROOT,
                "text %d is not valid UTF-8: unpaired surrogate U+%04X at char %d", index, (int) c, at));
    }
}
