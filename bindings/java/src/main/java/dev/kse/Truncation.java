package dev.kse;

/** What to do with a text longer than the model's max tokens. */
public enum Truncation {
    /** Keep the first max-tokens tokens (the default); {@link Embeddings#truncated()} counts the cut texts. */
    TRUNCATE(0),
    /** Fail the call with {@link KseStatus#INPUT_TOO_LONG}. */
    ERROR(1);

    final int code;

    Truncation(int code) {
        this.code = code;
    }
}
