package dev.kse;

/**
 * A failed kse call: {@link #status()} says what kind of failure (the C
 * API's kse_status), {@link #detail()} is the library's message naming the
 * problem. Also thrown, with {@link KseStatus#INVALID_HANDLE}, by calls on a
 * closed encoder. Unchecked, like the other failures of a running program
 * (most kse errors are setup problems a caller cannot recover from locally).
 */
public class KseException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final KseStatus status;
    private final int code;
    private final String detail;

    public KseException(KseStatus status, String detail) {
        this(status, status.code(), detail);
    }

    KseException(KseStatus status, int code, String detail) {
        super(status.cName() + (status == KseStatus.UNKNOWN ? "(" + code + ")" : "") + ": " + detail);
        this.status = status;
        this.code = code;
        this.detail = detail;
    }

    /** The failure's kind. */
    public KseStatus status() {
        return status;
    }

    /** The raw kse_status value (differs from {@code status().code()} only for {@link KseStatus#UNKNOWN}). */
    public int code() {
        return code;
    }

    /** The library's message, without the status name. */
    public String detail() {
        return detail;
    }
}
