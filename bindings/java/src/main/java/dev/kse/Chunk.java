package dev.kse;

import java.util.Arrays;
import java.util.Locale;

/**
 * One chunk of a document from {@link KoreanSentenceEncoder#encodeChunks}:
 * where it lies in the document, how many tokens the model saw for it, and
 * its vector.
 *
 * <p>{@code document.substring(start(), end())} is the chunk's text.
 * Consecutive chunks may overlap (they share the requested number of
 * tokens), and a range never starts or ends with whitespace unless the chunk
 * is nothing else.
 *
 * <p>Equality compares the vectors' contents ({@link Arrays#equals(float[], float[])}),
 * not the arrays' identity. The vector array is the caller's; nothing else
 * refers to it.
 *
 * @param start     index of the chunk's first {@code char} in the document
 * @param end       index just past its last {@code char} (never inside a surrogate pair)
 * @param byteStart offset of its first byte in the document's UTF-8 encoding (as the C API reports it)
 * @param byteEnd   offset just past its last byte
 * @param tokens    ids of the chunk's model row, special and prefix tokens included
 * @param vector    the chunk's embedding, {@link KoreanSentenceEncoder#dim()} floats
 */
public record Chunk(int start, int end, int byteStart, int byteEnd, int tokens, float[] vector) {
    /** The chunk's text: {@code document.substring(start(), end())}. */
    public String text(String document) {
        return document.substring(start, end);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Chunk c && start == c.start && end == c.end && byteStart == c.byteStart
                && byteEnd == c.byteEnd && tokens == c.tokens && Arrays.equals(vector, c.vector);
    }

    @Override
    public int hashCode() {
        int h = Integer.hashCode(start);
        h = 31 * h + end;
        h = 31 * h + byteStart;
        h = 31 * h + byteEnd;
        h = 31 * h + tokens;
        return 31 * h + Arrays.hashCode(vector);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "Chunk[chars %d..%d, bytes %d..%d, %d tokens, %d-d vector]",
                start, end, byteStart, byteEnd, tokens, vector == null ? 0 : vector.length);
    }
}
