package dev.kse;

/**
 * The JNI entry points in libkse_jni.so (src/main/c/kse_jni.c), one per kse
 * C function. Fallible calls return the kse_status and copy the message into
 * {@code err} (UTF-8, NUL-padded). Callers must have run
 * {@link NativeLoader#ensureLoaded()} and must hold the encoder's read lock
 * for any call that takes a handle.
 */
final class Native {
    /** Size of kse_error.message in kse.h. */
    static final int ERROR_MESSAGE_SIZE = 512;

    private Native() {}

    /** KSE_ABI_VERSION of the kse.h the shim was compiled with. */
    static native int headerAbiVersion();

    static native int abiVersion();

    static native int versionNumber();

    static native byte[] version();

    static native byte[] statusName(int status);

    /** Bytes in use on the C heap (glibc mallinfo2), or -1 if unknown; for leak tests. */
    static native long heapInUse();

    /** Negative option values keep the library's defaults; a null modelDir loads the default model. */
    static native int create(byte[] modelDir, byte[] ortLibrary, int intraThreads, int sessions,
                             int batchTokens, int truncation, int windowOverlap, long[] handleOut, byte[] err);

    static native void free(long handle);

    static native int dim(long handle);

    static native int maxTokens(long handle);

    static native byte[] modelName(long handle);

    /**
     * Texts are data[offsets[i]] .. data[offsets[i+1]] (data may run past
     * offsets[n]: only that much is copied); out must hold n * dim floats.
     * statsOut receives tokens, truncated, windowed, windows (as many as it holds).
     */
    static native int encodePacked(long handle, byte[] data, long[] offsets, float[] out,
                                   long[] statsOut, byte[] err);

    static native int tokenize(long handle, byte[] text, int[] idsOut, long[] countOut, byte[] err);

    /** kse_count_tokens: countOut[0] receives the count. */
    static native int countTokens(long handle, byte[] text, long[] countOut, byte[] err);

    /**
     * kse_encode_chunks. chunksOut (null: capacity 0) receives start, end,
     * tokens per chunk (3 longs each); out (null: ranges only, no model run)
     * receives n * dim floats; countOut[0] receives the number of chunks on
     * success and on BUFFER_TOO_SMALL.
     */
    static native int encodeChunks(long handle, byte[] text, long chunkTokens, long overlap, long[] chunksOut,
                                   float[] out, long[] countOut, byte[] err);
}
