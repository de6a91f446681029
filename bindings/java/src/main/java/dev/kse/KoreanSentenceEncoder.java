package dev.kse;

import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A loaded sentence-embedding model (the kse C API's {@code kse_encoder}).
 *
 * <pre>{@code
 * try (KoreanSentenceEncoder enc = KoreanSentenceEncoder.open()) {    // the default model, kse-ko-small
 *     float[][] v = enc.encode("안녕하세요", "반갑습니다");   // 2 x enc.dim()
 * }
 * KoreanSentenceEncoder named = KoreanSentenceEncoder.open(Path.of("models/kse-ko-small"));  // a model directory
 * KoreanSentenceEncoder mini = KoreanSentenceEncoder.openNamed("kse-ko-mini");  // a model shipped with kse
 * }</pre>
 *
 * <p><b>The default model.</b> {@link #open()} and {@link #open(Options)} name
 * no directory: libkse loads its default model, kse-ko-small, from
 * {@code $KSE_MODEL_DIR} if set, else from {@code models/kse-ko-small} of the
 * build tree or {@code share/kse/models/kse-ko-small} of the installed tree
 * that libkse sits in (never of a temporary or world-writable directory,
 * where anyone could plant one). The jar's bundled libkse is extracted to a
 * private temporary directory, so with it the default model comes only from
 * {@code KSE_MODEL_DIR} or from a jar built with the model compiled into its
 * libkse; otherwise pass the directory ({@link #open(Path)}) or load an
 * installed or built libkse with {@code -Dkse.library}.
 *
 * <p><b>Shipped models.</b> {@link #openNamed(String)} loads a model shipped
 * with kse ({@link #SHIPPED_MODELS}) by its name from the same build or
 * installed tree, e.g. kse-ko-mini, the default distilled into 6 layers:
 * about twice as fast, the same 384-d vectors, KorSTS dev 84.75 against the
 * default's 85.54.
 *
 * <p><b>Threads.</b> An encoder is thread-safe: any number of threads may call
 * {@link #encode}, {@link #tokenize} and the other methods at once (up to
 * {@link Options.Builder#sessions(int) sessions} model runs proceed in
 * parallel, the others wait inside the library). Load it once and share it;
 * loading takes about a second for the default model.
 *
 * <p><b>Closing.</b> {@link #close()} frees the native encoder. It waits for
 * calls already running on other threads to finish, and is idempotent. After
 * it, every method except {@code close()} and {@link #isClosed()} throws
 * {@link KseException} with {@link KseStatus#INVALID_HANDLE}. An encoder that
 * becomes unreachable without being closed is freed by a
 * {@link java.lang.ref.Cleaner}, but close it explicitly (try-with-resources):
 * the garbage collector does not know how much native memory it holds.
 *
 * <p><b>Text.</b> Strings are passed to the library as UTF-8. A string with an
 * unpaired surrogate (a {@code char} in U+D800..U+DFFF that is not half of a
 * pair) has no UTF-8 form: the call throws {@link KseException} with
 * {@link KseStatus#INVALID_UTF8} naming the text's index in the call and the
 * surrogate's position, e.g. {@code text 3 is not valid UTF-8: unpaired
 * surrogate U+D800 at char 5}, and nothing is encoded. {@code null} texts
 * and lists are rejected with {@link NullPointerException} naming them.
 */
public final class KoreanSentenceEncoder implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create(runnable -> {
        Thread t = new Thread(runnable, "kse-cleaner");
        t.setDaemon(true);
        return t;
    });

    /** Native encoders currently alive (for tests of the Cleaner and of close). */
    static final AtomicInteger LIVE = new AtomicInteger();

    private static final int MAX_ARRAY = Integer.MAX_VALUE - 8;

    /** Appended to MODEL_NOT_FOUND for {@link #open()} on the jar's bundled libkse without KSE_MODEL_DIR. */
    static final String BUNDLED_NO_MODEL = " (this jar's libkse is extracted to a private temporary directory and"
            + " does not look for a model around it, nor does it carry one; to get the default model, kse-ko-small:"
            + " set KSE_MODEL_DIR to its directory (models/kse-ko-small of a kse checkout, or"
            + " share/kse/models/kse-ko-small of an installed kse), pass a model directory with"
            + " KoreanSentenceEncoder.open(Path), use a jar built with the model compiled in (`make embedded`, then"
            + " mvn -f bindings/java/pom.xml package -Dkse.libkse=target/embedded/release/libkse.so), or load an"
            + " installed libkse with -Dkse.library)";

    /** Appended to MODEL_NOT_FOUND for {@link #openNamed(String)} on the jar's bundled libkse. */
    static final String BUNDLED_NO_NAMED_MODEL = " (this jar's libkse is extracted to a private temporary directory and"
            + " has no shipped models beside it: pass the model's directory with KoreanSentenceEncoder.open(Path)"
            + " (models/<name> of a kse checkout, or share/kse/models/<name> of an installed kse), or load an installed"
            + " libkse with -Dkse.library)";

    /**
     * The names of the models shipped with kse, for {@link #openNamed(String)}:
     * kse-ko-small (the default model) and kse-ko-mini (the default distilled
     * into 6 layers: about twice as fast, the same 384-d vectors).
     */
    public static final List<String> SHIPPED_MODELS = List.of("kse-ko-small", "kse-ko-mini");

    private final Handle handle;
    private final Cleaner.Cleanable cleanable;
    private final Path modelDir;
    private final int dim;
    private final int maxTokens;
    private final String modelName;

    /**
     * The native handle and the lock that guards it. Kept apart from the
     * encoder so the Cleaner can free it without reaching the encoder. Calls
     * hold the read lock while they use the handle; freeing takes the write
     * lock, so it waits for running calls and no call sees a freed handle.
     */
    private static final class Handle implements Runnable {
        final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
        long value; // guarded by lock; 0 once freed
        volatile boolean closed;

        Handle(long value) {
            this.value = value;
        }

        @Override
        public void run() {
            closed = true;
            Lock w = lock.writeLock();
            w.lock();
            try {
                if (value != 0) {
                    Native.free(value);
                    value = 0;
                    LIVE.decrementAndGet();
                }
            } finally {
                w.unlock();
            }
        }
    }

    private KoreanSentenceEncoder(long h, Path modelDir, int dim, int maxTokens, String modelName) {
        this.modelDir = modelDir;
        this.dim = dim;
        this.maxTokens = maxTokens;
        this.modelName = modelName;
        this.handle = new Handle(h);
        this.cleanable = CLEANER.register(this, handle);
        LIVE.incrementAndGet();
    }

    /**
     * Opens the default model, kse-ko-small, with default options: see
     * {@link #open(Options)}.
     */
    public static KoreanSentenceEncoder open() {
        return open(Options.defaults());
    }

    /**
     * Opens libkse's default model, kse-ko-small (no directory is passed to
     * {@code kse_create}): the directory in {@code $KSE_MODEL_DIR} if set, else
     * {@code models/kse-ko-small} of the build tree or
     * {@code share/kse/models/kse-ko-small} of the installed tree that libkse
     * sits in. {@link #modelDir()} is then {@code null}.
     *
     * @throws KseException {@link KseStatus#MODEL_NOT_FOUND} naming the places
     *     looked at when none has the model (with the jar's bundled libkse,
     *     which sits in a temporary directory and has no model beside it, the
     *     message says how to get one: a jar built with the model inside, set
     *     {@code KSE_MODEL_DIR}, or pass the directory), and as
     *     {@link #open(Path, Options)}
     * @throws UnsatisfiedLinkError when the native libraries cannot be loaded
     */
    public static KoreanSentenceEncoder open(Options options) {
        return create(null, null, options);
    }

    /** Opens the model directory with default options. */
    public static KoreanSentenceEncoder open(Path modelDir) {
        return open(modelDir, Options.defaults());
    }

    /**
     * Opens a model directory (a {@code kse.json} manifest with its graph and
     * tokenizer).
     *
     * @throws KseException {@link KseStatus#MODEL_NOT_FOUND} for a missing
     *     directory or file, {@link KseStatus#MODEL_INVALID} for a malformed
     *     one, {@link KseStatus#RUNTIME_UNAVAILABLE} when ONNX Runtime cannot be
     *     loaded, {@link KseStatus#INVALID_ARGUMENT} for a bad option value
     * @throws UnsatisfiedLinkError when the native libraries cannot be loaded
     */
    public static KoreanSentenceEncoder open(Path modelDir, Options options) {
        Objects.requireNonNull(modelDir, "modelDir (use open() or open(Options) for the default model)");
        Path dir = modelDir.toAbsolutePath();
        return create(dir.toString(), dir, options);
    }

    /** Opens a model shipped with kse by its name, with default options: see {@link #openNamed(String, Options)}. */
    public static KoreanSentenceEncoder openNamed(String name) {
        return openNamed(name, Options.defaults());
    }

    /**
     * Opens a model shipped with kse by its name, one of {@link #SHIPPED_MODELS}
     * (e.g. {@code "kse-ko-mini"}): libkse loads it from {@code models/<name>}
     * of the build tree or {@code share/kse/models/<name>} of the installed tree
     * that libkse sits in, with the default model's rules ({@code
     * $KSE_MODEL_DIR} is not consulted, nor the current directory; the jar's
     * bundled libkse has no shipped models beside it). {@link #modelDir()} is
     * then {@code null}; {@link #modelName()} is the name.
     *
     * @throws IllegalArgumentException when {@code name} is not one of
     *     {@link #SHIPPED_MODELS} (use {@link #open(Path)} for a model directory)
     * @throws KseException {@link KseStatus#MODEL_NOT_FOUND} naming the places
     *     looked at when none has the model, and as {@link #open(Path, Options)}
     * @throws UnsatisfiedLinkError when the native libraries cannot be loaded
     */
    public static KoreanSentenceEncoder openNamed(String name, Options options) {
        Objects.requireNonNull(name, "name");
        if (!SHIPPED_MODELS.contains(name)) {
            throw new IllegalArgumentException("no model shipped with kse is named \"" + name + "\" (the names are "
                    + String.join(", ", SHIPPED_MODELS) + "); use open(Path) for a model directory");
        }
        return create(name, null, options);
    }

    /**
     * Passes {@code model} (a directory, a shipped model's name, or null for the
     * default model) to {@code kse_create}; {@code dir} is what {@link #modelDir()} reports.
     */
    private static KoreanSentenceEncoder create(String model, Path dir, Options options) {
        Objects.requireNonNull(options, "options");
        NativeLoader.ensureLoaded();
        long[] out = new long[1];
        byte[] err = new byte[Native.ERROR_MESSAGE_SIZE];
        int status = Native.create(model == null ? null : cString(model),
                options.ortLibrary == null ? null : cString(options.ortLibrary.toAbsolutePath().toString()),
                options.intraThreads, options.sessions, options.batchTokens,
                options.truncation == null ? -1 : options.truncation.code, options.windowOverlap, out, err);
        if (status != 0) {
            KseException e = error(status, err);
            if (dir == null && status == KseStatus.MODEL_NOT_FOUND.code() && NativeLoader.bundled()) {
                String env = System.getenv("KSE_MODEL_DIR");
                if (model != null) {
                    e = new KseException(e.status(), status, e.detail() + BUNDLED_NO_NAMED_MODEL);
                } else if (env == null || env.isEmpty()) {
                    e = new KseException(e.status(), status, e.detail() + BUNDLED_NO_MODEL);
                }
            }
            throw e;
        }
        try {
            return new KoreanSentenceEncoder(out[0], dir, Native.dim(out[0]), Native.maxTokens(out[0]),
                    utf8(Native.modelName(out[0])));
        } catch (RuntimeException | Error e) {
            Native.free(out[0]);
            throw e;
        }
    }

    /** Embeds the sentences: one {@link #dim()}-float vector per sentence, in order. */
    public float[][] encode(String... sentences) {
        Objects.requireNonNull(sentences, "sentences is null");
        return encodeBatch(Arrays.asList(sentences)).toArray();
    }

    /** Embeds the sentences: one {@link #dim()}-float vector per sentence, in order. */
    public float[][] encode(List<String> sentences) {
        return encodeBatch(sentences).toArray();
    }

    /** Embeds the sentences into one row-major array of {@code sentences.size() * dim()} floats. */
    public float[] encodeFlat(List<String> sentences) {
        return encodeBatch(sentences).data();
    }

    /**
     * Embeds the sentences in one library call and returns the vectors
     * (row-major) with the token, truncation and window counts.
     *
     * @throws KseException e.g. {@link KseStatus#INPUT_TOO_LONG} with {@link Truncation#ERROR},
     *     {@link KseStatus#INVALID_UTF8} for a text with an unpaired surrogate
     * @throws NullPointerException when the list or one of its texts is null
     * @throws IllegalArgumentException when the batch is too large for one Java array
     */
    public Embeddings encodeBatch(List<String> sentences) {
        Objects.requireNonNull(sentences, "sentences is null");
        Object[] texts = sentences.toArray();
        int n = texts.length;
        long chars = 0;
        for (int i = 0; i < n; i++) {
            if (texts[i] == null) {
                throw new NullPointerException("text " + i + " is null");
            }
            chars += ((String) texts[i]).length();
        }
        long floats = (long) n * dim;
        if (floats > MAX_ARRAY) {
            throw new IllegalArgumentException("batch of " + n + " texts is too large for one call; split it");
        }
        // All texts as UTF-8 in one buffer, converted and checked in one pass (text i is
        // data[offsets[i]] .. data[offsets[i + 1]]); the JNI shim reads only up to offsets[n], so
        // the buffer may be larger. Room for the worst case (3 bytes a char) up front unless large.
        long[] offsets = new long[n + 1];
        long capacity = 3 * chars <= (1 << 22) ? 3 * chars : chars + (chars >> 1);
        byte[] data = new byte[(int) Math.min(MAX_ARRAY, Math.max(16, capacity))];
        int pos = 0;
        for (int i = 0; i < n; i++) {
            String s = (String) texts[i];
            long need = pos + 3L * s.length();
            if (need > data.length) {
                if (need > MAX_ARRAY) {
                    need = pos + Utf8.length(s, i); // exact, for batches near 2 GB
                    if (need > MAX_ARRAY) {
                        throw new IllegalArgumentException("batch of " + n + " texts (" + chars
                                + " chars) is too large for one call; split it");
                    }
                }
                data = Arrays.copyOf(data, (int) Math.min(MAX_ARRAY, Math.max(need, 2L * data.length)));
            }
            pos = Utf8.encode(s, data, pos, i);
            offsets[i + 1] = pos;
        }
        float[] out = new float[(int) floats];
        long[] stats = new long[4];
        byte[] err = new byte[Native.ERROR_MESSAGE_SIZE];
        Lock r = readLock();
        try {
            int status = Native.encodePacked(handle.value, data, offsets, out, stats, err);
            if (status != 0) {
                throw error(status, err);
            }
        } finally {
            r.unlock();
            Reference.reachabilityFence(this);
        }
        return new Embeddings(out, n, dim, stats[0], stats[1], stats[2], stats[3]);
    }

    /**
     * The token ids the model sees for one text: prefix added, special tokens
     * in place, cut at {@link #maxTokens()} (or {@link KseStatus#INPUT_TOO_LONG}
     * with {@link Truncation#ERROR}; with {@link Truncation#WINDOW}, the first
     * window's ids). {@link #countTokens} gives the length without the cut.
     */
    public int[] tokenize(String text) {
        Objects.requireNonNull(text, "text is null");
        byte[] bytes = Utf8.bytes(text, 0);
        byte[] err = new byte[Native.ERROR_MESSAGE_SIZE];
        long[] count = new long[1];
        int[] ids = new int[Math.max(maxTokens, 1)];
        Lock r = readLock();
        try {
            int status = Native.tokenize(handle.value, bytes, ids, count, err);
            if (status == KseStatus.BUFFER_TOO_SMALL.code() && count[0] <= MAX_ARRAY) {
                ids = new int[(int) count[0]];
                status = Native.tokenize(handle.value, bytes, ids, count, err);
            }
            if (status != 0) {
                throw error(status, err);
            }
        } finally {
            r.unlock();
            Reference.reachabilityFence(this);
        }
        return count[0] == ids.length ? ids : Arrays.copyOf(ids, (int) count[0]);
    }

    /**
     * How many ids the model would see for {@code text} without truncation:
     * prefix and special tokens included, as {@link #tokenize} would return
     * them if the model had no token limit. Runs only the tokenizer, never
     * the model; a text fits in one model row when this is at most
     * {@link #maxTokens()}.
     *
     * @throws KseException {@link KseStatus#INVALID_UTF8} for a text with an
     *     unpaired surrogate (the message says {@code text 0}, as {@link #tokenize})
     * @throws ArithmeticException if the count does not fit an {@code int}
     */
    public int countTokens(String text) {
        Objects.requireNonNull(text, "text is null");
        byte[] bytes = Utf8.bytes(text, 0);
        byte[] err = new byte[Native.ERROR_MESSAGE_SIZE];
        long[] count = new long[1];
        Lock r = readLock();
        try {
            int status = Native.countTokens(handle.value, bytes, count, err);
            if (status != 0) {
                throw error(status, err);
            }
        } finally {
            r.unlock();
            Reference.reachabilityFence(this);
        }
        if (count[0] > Integer.MAX_VALUE) {
            throw new ArithmeticException("token count " + count[0] + " does not fit an int");
        }
        return (int) count[0];
    }

    /** {@link #encodeChunks(String, int, int)} with chunks of {@link #maxTokens()} tokens and no overlap. */
    public List<Chunk> encodeChunks(String document) {
        return encodeChunks(document, 0, 0);
    }

    /**
     * Splits one document into chunks of at most {@code chunkTokens} tokens
     * each (special and prefix tokens included), cut at sentence ends where it
     * can ({@code .} {@code ?} {@code !} {@code …} before whitespace,
     * {@code 。} {@code ？} {@code ！}, line breaks) and at token boundaries
     * where one sentence alone is too long, consecutive chunks sharing
     * {@code overlap} tokens, and embeds each chunk (one model row per chunk,
     * normalised as the model's vectors are). docs/long-inputs.md defines the
     * cuts exactly.
     *
     * <p>Each {@link Chunk} gives its range as {@code char} indices into
     * {@code document} ({@code document.substring(c.start(), c.end())} is its
     * text; a surrogate pair is never split) and as UTF-8 byte offsets, its
     * token count and its vector. An empty or whitespace-only document has
     * no chunks (an empty list).
     *
     * @param chunkTokens the most tokens a chunk's row may hold, special and
     *     prefix tokens included; 0 means {@link #maxTokens()}
     * @param overlap tokens consecutive chunks share; less than
     *     {@code chunkTokens} minus the special and prefix tokens
     * @return the chunks in document order, an unmodifiable list
     * @throws IllegalArgumentException when {@code chunkTokens} or {@code overlap}
     *     is negative, or the chunks' vectors do not fit one Java array
     * @throws KseException {@link KseStatus#INVALID_ARGUMENT} when
     *     {@code chunkTokens} exceeds {@link #maxTokens()} or leaves no room
     *     for document tokens beside the special and prefix tokens, or
     *     {@code overlap} is not below that room; {@link KseStatus#INVALID_UTF8}
     *     for a document with an unpaired surrogate (the message says
     *     {@code text 0}, as {@link #tokenize})
     * @throws NullPointerException when {@code document} is null
     */
    public List<Chunk> encodeChunks(String document, int chunkTokens, int overlap) {
        Objects.requireNonNull(document, "document is null");
        if (chunkTokens < 0) {
            throw new IllegalArgumentException("chunkTokens must be >= 0 (0: the model's max tokens), got " + chunkTokens);
        }
        if (overlap < 0) {
            throw new IllegalArgumentException("overlap must be >= 0, got " + overlap);
        }
        byte[] bytes = Utf8.bytes(document, 0);
        byte[] err = new byte[Native.ERROR_MESSAGE_SIZE];
        long[] count = new long[1];
        long[] ranges = null;
        float[] vectors = null;
        Lock r = readLock();
        try {
            // First the count (tokenizer only, nothing written), then the ranges and vectors.
            int status = Native.encodeChunks(handle.value, bytes, chunkTokens, overlap, null, null, count, err);
            if (status == KseStatus.BUFFER_TOO_SMALL.code() || (status == 0 && count[0] > 0)) {
                long n = count[0];
                if (3 * n > MAX_ARRAY || n * dim > MAX_ARRAY) {
                    throw new IllegalArgumentException("document of " + document.length() + " chars has " + n
                            + " chunks, too many for one Java array; split it or use larger chunks");
                }
                ranges = new long[(int) (3 * n)];
                vectors = new float[(int) (n * dim)];
                status = Native.encodeChunks(handle.value, bytes, chunkTokens, overlap, ranges, vectors, count, err);
            }
            if (status != 0) {
                throw error(status, err);
            }
        } finally {
            r.unlock();
            Reference.reachabilityFence(this);
        }
        int n = (int) count[0];
        if (n == 0) {
            return List.of();
        }
        if (ranges == null || 3L * n > ranges.length) {
            throw new KseException(KseStatus.INTERNAL, "kse_encode_chunks reported " + n
                    + " chunks after the sizing call reported " + (ranges == null ? 0 : ranges.length / 3));
        }
        // Byte offsets to char indices, all in one pass over the document.
        long[] offsets = new long[2 * n];
        for (int i = 0; i < n; i++) {
            long start = ranges[3 * i], end = ranges[3 * i + 1];
            if (start < 0 || start > end || end > bytes.length) {
                throw new KseException(KseStatus.INTERNAL, "kse_encode_chunks gave chunk " + i + " the byte range "
                        + start + ".." + end + " in a document of " + bytes.length + " bytes");
            }
            offsets[2 * i] = start;
            offsets[2 * i + 1] = end;
        }
        int[] chars = charIndices(document, offsets);
        Chunk[] chunks = new Chunk[n];
        for (int i = 0; i < n; i++) {
            chunks[i] = new Chunk(chars[2 * i], chars[2 * i + 1], (int) ranges[3 * i], (int) ranges[3 * i + 1],
                    (int) Math.min(ranges[3 * i + 2], Integer.MAX_VALUE),
                    Arrays.copyOfRange(vectors, i * dim, (i + 1) * dim));
        }
        return List.of(chunks);
    }

    /**
     * The {@code char} index in {@code s} at each UTF-8 byte offset in
     * {@code byteOffsets} (into {@code s}'s UTF-8 form; {@code s} has no
     * unpaired surrogate). A 4-byte character is a surrogate pair: its start
     * maps to the high surrogate's index, its end past the low one.
     *
     * @throws KseException {@link KseStatus#INTERNAL} for an offset inside a
     *     character or past the end (the library promises neither)
     */
    static int[] charIndices(String s, long[] byteOffsets) {
        int m = byteOffsets.length;
        // Sort (offset, position) pairs packed into longs; offsets are < 2^31 (a byte[] index).
        long[] keyed = new long[m];
        for (int k = 0; k < m; k++) {
            long b = byteOffsets[k];
            if (b < 0 || b > Integer.MAX_VALUE) {
                throw new KseException(KseStatus.INTERNAL, "byte offset " + b + " is out of range");
            }
            keyed[k] = (b << 32) | k;
        }
        Arrays.sort(keyed);
        int[] result = new int[m];
        int n = s.length();
        int ci = 0;
        long bp = 0;
        for (long key : keyed) {
            long target = key >>> 32;
            while (bp < target && ci < n) {
                char c = s.charAt(ci);
                if (c < 0x80) {
                    bp += 1;
                    ci += 1;
                } else if (c < 0x800) {
                    bp += 2;
                    ci += 1;
                } else if (Character.isHighSurrogate(c) && ci + 1 < n && Character.isLowSurrogate(s.charAt(ci + 1))) {
                    bp += 4;
                    ci += 2;
                } else {
                    bp += 3;
                    ci += 1;
                }
            }
            if (bp != target) {
                throw new KseException(KseStatus.INTERNAL, "byte offset " + target
                        + (bp > target ? " is inside a character" : " is past the end") + " of the document");
            }
            result[(int) (key & 0xFFFFFFFFL)] = ci;
        }
        return result;
    }

    /** Floats per vector. */
    public int dim() {
        checkOpen();
        return dim;
    }

    /** The model's max tokens per text, special tokens included. */
    public int maxTokens() {
        checkOpen();
        return maxTokens;
    }

    /** The model's name from its manifest. */
    public String modelName() {
        checkOpen();
        return modelName;
    }

    /**
     * The model directory this encoder was opened from (absolute), or
     * {@code null} when it was opened with the default model ({@link #open()})
     * or a shipped model's name ({@link #openNamed(String)}).
     */
    public Path modelDir() {
        checkOpen();
        return modelDir;
    }

    /** Whether {@link #close()} has been called (or the Cleaner has run). */
    public boolean isClosed() {
        return handle.closed;
    }

    /** Frees the native encoder, after calls running on other threads finish. Idempotent. */
    @Override
    public void close() {
        cleanable.clean();
    }

    @Override
    public String toString() {
        return "KoreanSentenceEncoder[" + modelName + ", dim " + dim + (isClosed() ? ", closed]" : "]");
    }

    /** The version of the loaded libkse, e.g. {@code "0.2.0"}. */
    public static String libraryVersion() {
        NativeLoader.ensureLoaded();
        return utf8(Native.version());
    }

    /** The libkse file in use: a temporary copy of the jar's, or the one named by {@code -Dkse.library}/{@code KSE_LIBRARY}. */
    public static Path libraryPath() {
        return NativeLoader.libraryPath();
    }

    /** The C name of a status value as the loaded library spells it (kse_status_name). */
    static String nativeStatusName(int status) {
        NativeLoader.ensureLoaded();
        return utf8(Native.statusName(status));
    }

    private Lock readLock() {
        Lock r = handle.lock.readLock();
        r.lock();
        if (handle.value == 0) {
            r.unlock();
            throw closedError();
        }
        return r;
    }

    private void checkOpen() {
        if (handle.closed) {
            throw closedError();
        }
    }

    private static KseException closedError() {
        return new KseException(KseStatus.INVALID_HANDLE, "the encoder is closed");
    }

    private static KseException error(int status, byte[] err) {
        int len = 0;
        while (len < err.length && err[len] != 0) {
            len++;
        }
        String message = new String(err, 0, len, StandardCharsets.UTF_8);
        return new KseException(KseStatus.fromCode(status), status, message);
    }

    private static byte[] cString(String s) {
        if (s.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("path contains a NUL character: " + s);
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return Arrays.copyOf(b, b.length + 1);
    }

    private static String utf8(byte[] b) {
        return b == null ? "" : new String(b, StandardCharsets.UTF_8);
    }

    /** Options for {@link #open(Path, Options)} and {@link #open(Options)}; unset values keep the library's defaults. */
    public static final class Options {
        private static final Options DEFAULTS = builder().build();

        final int intraThreads;
        final int sessions;
        final int batchTokens;
        final Truncation truncation;
        final int windowOverlap;
        final Path ortLibrary;

        private Options(Builder b) {
            this.intraThreads = b.intraThreads;
            this.sessions = b.sessions;
            this.batchTokens = b.batchTokens;
            this.truncation = b.truncation;
            this.windowOverlap = b.windowOverlap;
            this.ortLibrary = b.ortLibrary;
        }

        /** The library's defaults: one session, auto threads, 512 batch tokens, truncation on, window overlap 32. */
        public static Options defaults() {
            return DEFAULTS;
        }

        public static Builder builder() {
            return new Builder();
        }

        /** Builds {@link Options}; each setter maps to the kse_options field of the same name. */
        public static final class Builder {
            private int intraThreads = -1;
            private int sessions = -1;
            private int batchTokens = -1;
            private Truncation truncation;
            private int windowOverlap = -1;
            private Path ortLibrary;

            private Builder() {}

            /** ONNX Runtime intra-op threads per session; 0 = the machine's cores divided among the sessions. */
            public Builder intraThreads(int n) {
                intraThreads = nonNegative(n, "intraThreads");
                return this;
            }

            /** How many encode calls on one encoder run at the same time (default 1; others wait). */
            public Builder sessions(int n) {
                sessions = nonNegative(n, "sessions");
                return this;
            }

            /** Upper bound on (texts in a batch) x (longest text's tokens) per model run (default 512). */
            public Builder batchTokens(int n) {
                batchTokens = nonNegative(n, "batchTokens");
                return this;
            }

            /** What to do with over-long texts (default {@link Truncation#TRUNCATE}). */
            public Builder truncation(Truncation t) {
                truncation = Objects.requireNonNull(t, "truncation");
                return this;
            }

            /**
             * Under {@link Truncation#WINDOW}: tokens consecutive windows share
             * (default 32). Must be less than the model's max tokens minus its
             * special and prefix tokens (507 for the default model), else
             * opening fails with {@link KseStatus#INVALID_ARGUMENT}.
             */
            public Builder windowOverlap(int n) {
                windowOverlap = nonNegative(n, "windowOverlap");
                return this;
            }

            /**
             * The ONNX Runtime library to load instead of searching (KSE_ORT_LIBRARY,
             * then beside libkse). The first one loaded serves the whole process.
             */
            public Builder ortLibrary(Path path) {
                ortLibrary = Objects.requireNonNull(path, "path");
                return this;
            }

            public Options build() {
                return new Options(this);
            }

            private static int nonNegative(int n, String what) {
                if (n < 0) {
                    throw new IllegalArgumentException(what + " must be >= 0, got " + n);
                }
                return n;
            }
        }
    }
}
