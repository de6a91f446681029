package dev.kse;

import static dev.kse.TestSupport.maxAbsDiff;
import static dev.kse.TestSupport.norm;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Long inputs (docs/long-inputs.md) on the default model against the
 * independent Python reference in target/xlang/long (made by
 * tests/xlang/make_long_reference.py through `make xlang-reference`): token
 * counts and chunk ranges equal, window and chunk vectors within 1e-5.
 */
class LongInputTest {
    /** Special tokens (&lt;s&gt;, &lt;/s&gt;) plus the prefix tokens of "query: " for the default model. */
    static final int SPECIAL_AND_PREFIX = 5;

    static KoreanSentenceEncoder enc;      // default options (truncate)
    static KoreanSentenceEncoder windowed; // Truncation.WINDOW with params.txt's overlap
    static Map<String, Integer> params;
    static List<byte[]> docBytes;
    static List<String> docs;
    static long[] counts;
    static long[] windows;
    static float[] windowRef;
    static List<long[]> chunkRows;         // document, start byte, end byte, tokens
    static float[] chunkRef;
    static int dim;

    @BeforeAll
    static void load() throws IOException {
        params = new HashMap<>();
        for (String line : Files.readAllLines(TestSupport.xlang("long/params.txt"), StandardCharsets.UTF_8)) {
            if (!line.isBlank()) {
                String[] kv = line.split("=", 2);
                params.put(kv[0].trim(), Integer.parseInt(kv[1].trim()));
            }
        }
        int n = params.get("documents");
        dim = params.get("dim");
        docBytes = new ArrayList<>();
        docs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] b = Files.readAllBytes(TestSupport.xlang("long/doc" + i + ".txt"));
            docBytes.add(b);
            docs.add(new String(b, StandardCharsets.UTF_8));
            assertArrayEquals(b, docs.get(i).getBytes(StandardCharsets.UTF_8), "doc" + i + ".txt is valid UTF-8");
        }
        counts = readLongs("long/counts.txt");
        windows = readLongs("long/windows.txt");
        assertEquals(n, counts.length, "counts.txt has a line per document");
        assertEquals(n, windows.length, "windows.txt has a line per document");
        windowRef = readF32("long/window.f32");
        assertEquals(n * dim, windowRef.length, "window.f32 holds documents x dim floats");
        chunkRows = new ArrayList<>();
        for (String line : Files.readAllLines(TestSupport.xlang("long/chunks.tsv"), StandardCharsets.UTF_8)) {
            if (!line.isEmpty()) {
                chunkRows.add(Arrays.stream(line.split("\t")).mapToLong(Long::parseLong).toArray());
            }
        }
        chunkRef = readF32("long/chunks.f32");
        assertEquals(chunkRows.size() * dim, chunkRef.length, "chunks.f32 holds chunks x dim floats");

        enc = KoreanSentenceEncoder.open(TestSupport.defaultModel());
        windowed = KoreanSentenceEncoder.open(TestSupport.defaultModel(), KoreanSentenceEncoder.Options.builder()
                .truncation(Truncation.WINDOW).windowOverlap(params.get("window_overlap")).build());
        assertEquals(dim, enc.dim());
    }

    @AfterAll
    static void close() {
        if (enc != null) {
            enc.close();
        }
        if (windowed != null) {
            windowed.close();
        }
    }

    static long[] readLongs(String file) throws IOException {
        return Files.readAllLines(TestSupport.xlang(file), StandardCharsets.UTF_8).stream()
                .filter(l -> !l.isBlank()).mapToLong(l -> Long.parseLong(l.trim())).toArray();
    }

    static float[] readF32(String file) throws IOException {
        byte[] raw = Files.readAllBytes(TestSupport.xlang(file));
        float[] f = new float[raw.length / 4];
        ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
        return f;
    }

    static float[] row(float[] data, int i) {
        return Arrays.copyOfRange(data, i * dim, (i + 1) * dim);
    }

    @Test
    void countTokensMatchesReference() {
        for (int i = 0; i < docs.size(); i++) {
            assertEquals(counts[i], enc.countTokens(docs.get(i)), "doc" + i);
            // The count ignores the encoder's long-input policy.
            assertEquals(counts[i], windowed.countTokens(docs.get(i)), "doc" + i + " (window encoder)");
        }
        // Within max tokens the count is tokenize's length (for "": the special tokens and "query: ").
        assertEquals(enc.tokenize("").length, enc.countTokens(""));
        assertEquals(enc.tokenize(docs.get(3)).length, enc.countTokens(docs.get(3)));
        assertEquals(enc.maxTokens(), enc.tokenize(docs.get(0)).length);
        assertTrue(enc.countTokens(docs.get(0)) > enc.maxTokens());
    }

    @Test
    void windowModeMatchesReference() {
        Embeddings e = windowed.encodeBatch(docs);
        float worst = maxAbsDiff(windowRef, e.data());
        System.out.printf("Java: %d documents under WINDOW, max abs difference vs Python reference %g%n",
                docs.size(), worst);
        assertTrue(worst <= 1e-5f, "max abs difference " + worst);
        long wantWindowed = Arrays.stream(windows).filter(k -> k > 1).count();
        long wantWindows = Arrays.stream(windows).filter(k -> k > 1).sum();
        assertTrue(wantWindowed > 0, "the reference has documents over max tokens");
        assertEquals(wantWindowed, e.windowed());
        assertEquals(wantWindows, e.windows());
        assertEquals(0, e.truncated());
        // One at a time: the same vectors, and each document's own window count.
        for (int i = 0; i < docs.size(); i++) {
            Embeddings one = windowed.encodeBatch(List.of(docs.get(i)));
            assertTrue(maxAbsDiff(row(windowRef, i), one.data()) <= 1e-5f, "doc" + i);
            assertEquals(windows[i] > 1 ? 1 : 0, one.windowed(), "doc" + i);
            assertEquals(windows[i] > 1 ? windows[i] : 0, one.windows(), "doc" + i);
        }
        // The default policy cuts instead: no windows, the long documents counted as truncated.
        Embeddings cut = enc.encodeBatch(docs);
        assertEquals(wantWindowed, cut.truncated());
        assertEquals(0, cut.windowed());
        assertEquals(0, cut.windows());
        // A document within max tokens is encoded as under truncate.
        assertTrue(maxAbsDiff(cut.row(3), e.row(3)) <= 1e-5f);
        assertTrue(maxAbsDiff(cut.row(0), e.row(0)) > 1e-3f, "windowing changes a long document's vector");
    }

    @Test
    void chunksMatchReference() {
        int chunkTokens = params.get("chunk_tokens");
        int overlap = params.get("chunk_overlap");
        int r = 0;
        float worst = 0;
        for (int i = 0; i < docs.size(); i++) {
            String doc = docs.get(i);
            byte[] bytes = docBytes.get(i);
            List<Chunk> chunks = enc.encodeChunks(doc, chunkTokens, overlap);
            List<long[]> want = new ArrayList<>();
            while (r + want.size() < chunkRows.size() && chunkRows.get(r + want.size())[0] == i) {
                want.add(chunkRows.get(r + want.size()));
            }
            assertEquals(want.size(), chunks.size(), "doc" + i + " chunk count");
            for (int k = 0; k < chunks.size(); k++) {
                Chunk c = chunks.get(k);
                long[] w = want.get(k);
                String where = "doc" + i + " chunk " + k;
                assertEquals(w[1], c.byteStart(), where + " start byte");
                assertEquals(w[2], c.byteEnd(), where + " end byte");
                assertEquals(w[3], c.tokens(), where + " tokens");
                assertTrue(c.tokens() <= chunkTokens, where);
                float d = maxAbsDiff(row(chunkRef, r + k), c.vector());
                worst = Math.max(worst, d);
                assertTrue(d <= 1e-5f, where + ": max abs difference " + d);
                // The char range is the byte range: the same text.
                String slice = new String(bytes, c.byteStart(), c.byteEnd() - c.byteStart(), StandardCharsets.UTF_8);
                assertEquals(slice, doc.substring(c.start(), c.end()), where);
                assertEquals(slice, c.text(doc), where);
                assertEquals(c.byteStart(), doc.substring(0, c.start()).getBytes(StandardCharsets.UTF_8).length, where);
            }
            r += want.size();
        }
        assertEquals(chunkRows.size(), r, "every reference chunk was compared");
        System.out.printf("Java: %d chunks, max abs difference vs Python reference %g%n", r, worst);
        // doc1 holds emoji (surrogate pairs in Java): char and byte offsets differ there.
        assertTrue(docs.get(1).codePoints().anyMatch(Character::isSupplementaryCodePoint));
        List<Chunk> mixed = enc.encodeChunks(docs.get(1), chunkTokens, overlap);
        assertTrue(mixed.stream().anyMatch(c -> c.start() != c.byteStart()));
    }

    @Test
    void chunksSplitNeverInsideASurrogatePair() {
        // Runs of emoji without sentence ends, cut at token boundaries in small chunks: every cut lands
        // between characters, and the char range decodes to the same text as the byte range.
        String doc = "가족 👩‍👩‍👧‍👦 과 개발자 👨‍💻 국기 🇰🇷🇯🇵 😊😊😊😊😊😊 웃음 🎉🎉 축하 ".repeat(8) + "𝄞𝄞𝄞 끝";
        byte[] bytes = doc.getBytes(StandardCharsets.UTF_8);
        for (int chunkTokens : new int[] {6, 7, 9, 16}) {
            List<Chunk> chunks = enc.encodeChunks(doc, chunkTokens, 0);
            assertTrue(chunks.size() > 3, "chunkTokens " + chunkTokens + ": " + chunks.size() + " chunks");
            int prevEnd = -1;
            for (Chunk c : chunks) {
                assertTrue(c.start() < c.end() && c.end() <= doc.length(), c.toString());
                assertFalse(Character.isLowSurrogate(doc.charAt(c.start())), c + " starts inside a pair");
                assertFalse(c.end() < doc.length() && Character.isLowSurrogate(doc.charAt(c.end())),
                        c + " ends inside a pair");
                assertEquals(new String(bytes, c.byteStart(), c.byteEnd() - c.byteStart(), StandardCharsets.UTF_8),
                        doc.substring(c.start(), c.end()));
                assertTrue(c.end() >= prevEnd, "chunk ends do not decrease");
                prevEnd = c.end();
                assertEquals(1.0, norm(c.vector()), 1e-5);
            }
        }
    }

    @Test
    void charIndicesOfByteOffsets() {
        // "a😊b가": a = byte 0 / char 0, 😊 = bytes 1..5 / chars 1..3, b = byte 5 / char 3, 가 = bytes 6..9 / chars 4..5.
        String s = "a😊b가";
        assertArrayEquals(new int[] {0, 1, 3, 4, 5, 3, 1}, KoreanSentenceEncoder.charIndices(s,
                new long[] {0, 1, 5, 6, 9, 5, 1}));
        assertArrayEquals(new int[0], KoreanSentenceEncoder.charIndices(s, new long[0]));
        for (long bad : new long[] {2, 3, 4, 7, 8}) {
            KseException e = assertThrows(KseException.class,
                    () -> KoreanSentenceEncoder.charIndices(s, new long[] {0, bad}));
            assertEquals(KseStatus.INTERNAL, e.status());
            assertTrue(e.detail().contains("inside a character"), e.detail());
        }
        assertEquals(KseStatus.INTERNAL,
                assertThrows(KseException.class, () -> KoreanSentenceEncoder.charIndices(s, new long[] {10})).status());
    }

    @Test
    void defaultChunkSizeIsMaxTokens() {
        String doc = docs.get(0);
        List<Chunk> chunks = enc.encodeChunks(doc);
        assertEquals(chunks, enc.encodeChunks(doc, 0, 0));
        assertEquals(chunks, enc.encodeChunks(doc, enc.maxTokens(), 0));
        assertTrue(chunks.size() >= 4, "a " + counts[0] + "-token document in chunks of " + enc.maxTokens());
        for (Chunk c : chunks) {
            assertTrue(c.tokens() <= enc.maxTokens(), c.toString());
            assertEquals(dim, c.vector().length);
        }
        // Without overlap the chunks hold each document token once.
        int docTokens = chunks.stream().mapToInt(c -> c.tokens() - SPECIAL_AND_PREFIX).sum();
        assertEquals(counts[0] - SPECIAL_AND_PREFIX, docTokens);
        // The list is the caller's to read, not to change.
        assertThrows(UnsupportedOperationException.class, () -> chunks.remove(0));
    }

    @Test
    void emptyAndBlankDocumentsHaveNoChunks() {
        for (String doc : List.of("", " ", " \n ", "\t\r\n\u3000 ")) {
            assertEquals(List.of(), enc.encodeChunks(doc, 128, 16), "'" + doc + "'");
            assertEquals(List.of(), enc.encodeChunks(doc));
        }
        // A one-sentence document is one chunk: the whole sentence, encoded as a sentence.
        String doc = docs.get(3);
        List<Chunk> one = enc.encodeChunks(doc, 128, 16);
        assertEquals(1, one.size());
        assertEquals(doc.strip(), one.get(0).text(doc));
        assertTrue(maxAbsDiff(enc.encode(doc.strip())[0], one.get(0).vector()) <= 1e-5f);
    }

    @Test
    void badChunkArguments() {
        String doc = docs.get(0);
        int max = enc.maxTokens();
        // Above max tokens, or no room for a document token beside the special and prefix tokens.
        for (int chunkTokens : new int[] {max + 1, SPECIAL_AND_PREFIX, 1}) {
            KseException e = assertThrows(KseException.class, () -> enc.encodeChunks(doc, chunkTokens, 0),
                    "chunkTokens " + chunkTokens);
            assertEquals(KseStatus.INVALID_ARGUMENT, e.status(), e.getMessage());
        }
        // The smallest chunk holds one document token.
        List<Chunk> tiny = enc.encodeChunks(docs.get(3), SPECIAL_AND_PREFIX + 1, 0);
        assertEquals(counts[3] - SPECIAL_AND_PREFIX, tiny.size());
        tiny.forEach(c -> assertEquals(SPECIAL_AND_PREFIX + 1, c.tokens()));
        // Overlap must be below the room, chunkTokens - 5.
        int room = 128 - SPECIAL_AND_PREFIX;
        for (int overlap : new int[] {room, room + 1, 1000}) {
            KseException e = assertThrows(KseException.class, () -> enc.encodeChunks(doc, 128, overlap),
                    "overlap " + overlap);
            assertEquals(KseStatus.INVALID_ARGUMENT, e.status(), e.getMessage());
        }
        assertEquals(1, enc.encodeChunks(docs.get(3), 128, room - 1).size());
        KseException e = assertThrows(KseException.class, () -> enc.encodeChunks(doc, 0, enc.maxTokens()));
        assertEquals(KseStatus.INVALID_ARGUMENT, e.status());
        // Negative values never reach the library.
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, () -> enc.encodeChunks(doc, -1, 0));
        assertTrue(x.getMessage().contains("chunkTokens"), x.getMessage());
        x = assertThrows(IllegalArgumentException.class, () -> enc.encodeChunks(doc, 128, -1));
        assertTrue(x.getMessage().contains("overlap"), x.getMessage());
        assertEquals("document is null",
                assertThrows(NullPointerException.class, () -> enc.encodeChunks(null, 128, 0)).getMessage());
        assertEquals("text is null", assertThrows(NullPointerException.class, () -> enc.countTokens(null)).getMessage());
    }

    @Test
    void badArgumentsOnAnEmptyDocument() {
        // Argument checks come first: an empty document does not excuse a bad chunk size.
        KseException e = assertThrows(KseException.class, () -> enc.encodeChunks("", enc.maxTokens() + 1, 0));
        assertEquals(KseStatus.INVALID_ARGUMENT, e.status(), e.getMessage());
        e = assertThrows(KseException.class, () -> enc.encodeChunks(" ", 128, 200));
        assertEquals(KseStatus.INVALID_ARGUMENT, e.status(), e.getMessage());
    }

    @Test
    void windowOverlapIsCheckedAtCreation() {
        int room = enc.maxTokens() - SPECIAL_AND_PREFIX; // 507 for the default model
        for (int overlap : new int[] {room, room + 1}) {
            KseException e = assertThrows(KseException.class, () -> KoreanSentenceEncoder.open(
                    TestSupport.defaultModel(), KoreanSentenceEncoder.Options.builder()
                            .truncation(Truncation.WINDOW).windowOverlap(overlap).build()),
                    "window overlap " + overlap);
            assertEquals(KseStatus.INVALID_ARGUMENT, e.status(), e.getMessage());
        }
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class,
                () -> KoreanSentenceEncoder.Options.builder().windowOverlap(-1));
        assertTrue(x.getMessage().contains("windowOverlap"), x.getMessage());
        // The largest overlap opens.
        try (KoreanSentenceEncoder widest = KoreanSentenceEncoder.open(TestSupport.defaultModel(),
                KoreanSentenceEncoder.Options.builder().truncation(Truncation.WINDOW).windowOverlap(room - 1).build())) {
            assertEquals(counts[3], widest.countTokens(docs.get(3)));
        }
        // A larger overlap takes more windows and gives a different long-document vector.
        try (KoreanSentenceEncoder wide = KoreanSentenceEncoder.open(TestSupport.defaultModel(),
                KoreanSentenceEncoder.Options.builder().truncation(Truncation.WINDOW).windowOverlap(300).build())) {
            Embeddings e = wide.encodeBatch(List.of(docs.get(0), docs.get(3)));
            assertTrue(e.windows() > windows[0], e.windows() + " windows");
            assertNotEquals(0f, maxAbsDiff(row(windowRef, 0), e.row(0)));
            assertTrue(maxAbsDiff(row(windowRef, 3), e.row(1)) <= 1e-5f);
        }
    }

    @Test
    void unpairedSurrogatesAreInvalidUtf8() {
        // Java strings cannot hold invalid UTF-8; an unpaired surrogate is the analogue, refused before the library.
        String bad = "한국어 문장입니다. 가나\uD800 끝.";
        List<Executable> calls = List.of(
                () -> enc.countTokens(bad),
                () -> enc.encodeChunks(bad, 128, 16),
                () -> enc.encodeChunks(bad));
        for (Executable call : calls) {
            KseException e = assertThrows(KseException.class, call);
            assertEquals(KseStatus.INVALID_UTF8, e.status(), e.getMessage());
            assertEquals("text 0 is not valid UTF-8: unpaired surrogate U+D800 at char 13", e.detail());
        }
        KseException e = assertThrows(KseException.class, () -> enc.countTokens("\uDC00"));
        assertEquals("text 0 is not valid UTF-8: unpaired surrogate U+DC00 at char 0", e.detail());
        // A whitespace-only document with a lone surrogate is still refused, not "no chunks".
        e = assertThrows(KseException.class, () -> enc.encodeChunks(" \uDBFF ", 128, 0));
        assertEquals(KseStatus.INVALID_UTF8, e.status());
        // The encoder is unharmed, and a proper pair is text like any other.
        assertEquals(counts[3], enc.countTokens(docs.get(3)));
        assertTrue(enc.countTokens("😊") > SPECIAL_AND_PREFIX);
        assertEquals(1, enc.encodeChunks("😊").size());
    }

    @Test
    void embeddedNulIsText() {
        // Java's '\0' goes to the library as byte 0 with an explicit length, not as a terminator.
        assertTrue(enc.countTokens("가나다\0라마바 사아자") > enc.countTokens("가나다"));
        List<Chunk> chunks = enc.encodeChunks("가나다\0라마바 사아자.", 128, 0);
        assertEquals(1, chunks.size());
        assertEquals("가나다\0라마바 사아자.".length(), chunks.get(0).end());
    }

    @Test
    void chunkEqualityComparesVectors() {
        List<Chunk> a = enc.encodeChunks(docs.get(3));
        List<Chunk> b = enc.encodeChunks(docs.get(3));
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertTrue(a.get(0).toString().startsWith("Chunk[chars 0.."), a.get(0).toString());
    }
}
