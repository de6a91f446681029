package dev.kse;

/**
 * The kse_status values of the C API (include/kse.h). {@link #UNKNOWN} stands
 * for a value this binding does not know (a newer library); the raw number is
 * kept in {@link KseException#code()}.
 */
public enum KseStatus {
    /** Success. */
    OK(0),
    /** An argument is missing or out of range (bad option value). */
    INVALID_ARGUMENT(1),
    /** A text is not valid UTF-8: from Java, a string with an unpaired surrogate (the message names the text and where). */
    INVALID_UTF8(2),
    /** An output buffer is too small. */
    BUFFER_TOO_SMALL(3),
    /** A text is longer than the model's max tokens and truncation is {@link Truncation#ERROR}. */
    INPUT_TOO_LONG(4),
    /** The model directory or one of its files does not exist. */
    MODEL_NOT_FOUND(5),
    /** The model directory is malformed or inconsistent. */
    MODEL_INVALID(6),
    /** The ONNX Runtime library is missing, unloadable or too old. */
    RUNTIME_UNAVAILABLE(7),
    /** ONNX Runtime failed while creating a session or running the model. */
    RUNTIME(8),
    /** The tokenizer failed on a text. */
    TOKENIZER(9),
    /** The library does not know this binding's options layout. */
    UNSUPPORTED_VERSION(10),
    /** The encoder is not live: it has been closed. */
    INVALID_HANDLE(11),
    /** A bug in kse (an internal panic was caught). */
    INTERNAL(12),
    /** A status this version of the binding does not define. */
    UNKNOWN(-1);

    private static final KseStatus[] BY_CODE = values();

    private final int code;

    KseStatus(int code) {
        this.code = code;
    }

    /** The C value, e.g. 5 for {@code KSE_ERR_MODEL_NOT_FOUND}; -1 for {@link #UNKNOWN}. */
    public int code() {
        return code;
    }

    /** The C name, as kse_status_name returns it, e.g. {@code "KSE_ERR_MODEL_NOT_FOUND"}. */
    public String cName() {
        return this == OK ? "KSE_OK" : "KSE_ERR_" + name();
    }

    /** The status for a C value; {@link #UNKNOWN} for values this binding does not define. */
    public static KseStatus fromCode(int code) {
        for (KseStatus s : BY_CODE) {
            if (s.code == code && s != UNKNOWN) {
                return s;
            }
        }
        return UNKNOWN;
    }
}
