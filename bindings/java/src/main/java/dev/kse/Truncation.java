package dev.kse;

/** What to do with a text longer than the model's max tokens (docs/long-inputs.md defines each exactly). */
public enum Truncation {
    /** Keep the first max-tokens tokens (the default); {@link Embeddings#truncated()} counts the cut texts. */
    TRUNCATE(0),
    /** Fail the call with {@link KseStatus#INPUT_TOO_LONG}. */
    ERROR(1),
    /**
     * Encode the whole text in windows of max tokens that overlap by
     * {@link KoreanSentenceEncoder.Options.Builder#windowOverlap(int) windowOverlap}
     * tokens (default 32) and combine the windows' vectors into one, each
     * weighted by the tokens it adds; {@link Embeddings#windowed()} and
     * {@link Embeddings#windows()} count them. A text within max tokens is
     * encoded exactly as under {@link #TRUNCATE}.
     */
    WINDOW(2);

    final int code;

    Truncation(int code) {
        this.code = code;
    }
}
