package dev.kse;

import java.util.Arrays;

/**
 * The result of {@link KoreanSentenceEncoder#encodeBatch}: {@code count}
 * vectors of {@code dim} floats, row-major in {@code data} (row {@code i} is
 * {@code data[i * dim] .. data[(i + 1) * dim - 1]}), with the token counts the
 * library reported. The array is the caller's; nothing else refers to it.
 *
 * @param data      the vectors, {@code count * dim} floats
 * @param count     number of texts
 * @param dim       floats per vector
 * @param tokens    tokens fed to the model, special tokens included
 * @param truncated texts cut at the model's max tokens
 * @param windowed  texts over max tokens encoded in windows ({@link Truncation#WINDOW})
 * @param windows   windows those texts took
 */
public record Embeddings(float[] data, int count, int dim, long tokens, long truncated, long windowed,
                         long windows) {
    /** Without window counts (both 0), as before {@link Truncation#WINDOW} existed. */
    public Embeddings(float[] data, int count, int dim, long tokens, long truncated) {
        this(data, count, dim, tokens, truncated, 0, 0);
    }

    /** A copy of row {@code i}. */
    public float[] row(int i) {
        if (i < 0 || i >= count) {
            throw new IndexOutOfBoundsException("row " + i + " of " + count);
        }
        return Arrays.copyOfRange(data, i * dim, (i + 1) * dim);
    }

    /** The rows as separate arrays. */
    public float[][] toArray() {
        float[][] rows = new float[count][];
        for (int i = 0; i < count; i++) {
            rows[i] = Arrays.copyOfRange(data, i * dim, (i + 1) * dim);
        }
        return rows;
    }
}
