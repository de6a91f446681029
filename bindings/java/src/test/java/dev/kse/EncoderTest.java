package dev.kse;

import static dev.kse.TestSupport.maxAbsDiff;
import static dev.kse.TestSupport.norm;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** The API on the tiny-e5 test model: shapes, values, tokenization, options, batching. */
class EncoderTest {
    static final List<String> SENTENCES = List.of(
            "다만, 도로와 인접해서 거리의 소음이 들려요.",
            "한 남자가 기타를 치고 있다.",
            "오늘 날씨 정말 좋다 😊👍",
            "",
            "   ",
            "KTX 3호차 12A석, 서울→부산 09:30 출발 (₩59,800)",
            "ㅋ");

    static KoreanSentenceEncoder enc;

    @BeforeAll
    static void open() {
        enc = KoreanSentenceEncoder.open(TestSupport.tinyE5());
    }

    @AfterAll
    static void close() {
        enc.close();
    }

    static String longText() {
        return "가 ".repeat(2000);
    }

    @Test
    void reportsTheModel() {
        assertEquals(16, enc.dim());
        assertEquals(512, enc.maxTokens());
        assertEquals("tiny-e5", enc.modelName());
        assertEquals(TestSupport.tinyE5().toAbsolutePath(), enc.modelDir());
        assertFalse(enc.isClosed());
        assertEquals("0.2.0", KoreanSentenceEncoder.libraryVersion());
        assertTrue(enc.toString().contains("tiny-e5"), enc.toString());
    }

    @Test
    void encodesUnitVectorsInOrder() {
        float[][] v = enc.encode(SENTENCES);
        assertEquals(SENTENCES.size(), v.length);
        for (int i = 0; i < v.length; i++) {
            assertEquals(16, v[i].length);
            for (float x : v[i]) {
                assertTrue(Float.isFinite(x), "row " + i + " has a non-finite value");
            }
            assertEquals(1.0, norm(v[i]), 1e-5, "row " + i + " is L2-normalised");
        }
        // Different texts give different vectors, and the same text the same vector.
        assertTrue(maxAbsDiff(v[0], v[1]) > 1e-3);
        assertArrayEquals(v[0], enc.encode(SENTENCES.get(0))[0]);
    }

    @Test
    void allEntryPointsAgree() {
        float[][] rows = enc.encode(SENTENCES.toArray(new String[0]));
        float[] flat = enc.encodeFlat(SENTENCES);
        Embeddings batch = enc.encodeBatch(SENTENCES);
        assertEquals(SENTENCES.size() * 16, flat.length);
        assertEquals(SENTENCES.size(), batch.count());
        assertEquals(16, batch.dim());
        for (int i = 0; i < rows.length; i++) {
            assertArrayEquals(rows[i], Arrays.copyOfRange(flat, i * 16, (i + 1) * 16));
            assertArrayEquals(rows[i], batch.row(i));
        }
        assertTrue(batch.tokens() > SENTENCES.size() * 2L, "tokens counted: " + batch.tokens());
        assertEquals(0, batch.truncated());
        assertThrows(IndexOutOfBoundsException.class, () -> batch.row(SENTENCES.size()));
    }

    @Test
    void batchedEqualsOneByOne() {
        List<String> texts = new ArrayList<>(SENTENCES);
        texts.add(longText());
        texts.add("짧은 문장");
        float[][] batched = enc.encode(texts);
        for (int i = 0; i < texts.size(); i++) {
            float[] single = enc.encode(texts.get(i))[0];
            assertTrue(maxAbsDiff(batched[i], single) <= 1e-6, "text " + i + " differs from its batched vector");
        }
    }

    @Test
    void emptyBatches() {
        assertEquals(0, enc.encode().length);
        assertEquals(0, enc.encodeFlat(List.of()).length);
        assertEquals(0, enc.encodeBatch(List.of()).count());
    }

    @Test
    void nullsAreRejected() {
        NullPointerException e = assertThrows(NullPointerException.class, () -> enc.encode("a", null, "b"));
        assertEquals("text 1 is null", e.getMessage());
        e = assertThrows(NullPointerException.class, () -> enc.encodeBatch(Arrays.asList("a", "b", null)));
        assertEquals("text 2 is null", e.getMessage());
        List<Executable> nullLists = List.of(
                () -> enc.encode((String[]) null),
                () -> enc.encode((List<String>) null),
                () -> enc.encodeFlat(null),
                () -> enc.encodeBatch(null));
        for (Executable call : nullLists) {
            assertEquals("sentences is null", assertThrows(NullPointerException.class, call).getMessage());
        }
        assertEquals("text is null", assertThrows(NullPointerException.class, () -> enc.tokenize(null)).getMessage());
    }

    @Test
    void unpairedSurrogatesAreInvalidUtf8() {
        // Each case: the texts of one call, and the message naming the bad one.
        List<Object[]> cases = List.of(
                new Object[] {List.of("가", "나", "다", "가나다라마\uD800"),
                        "text 3 is not valid UTF-8: unpaired surrogate U+D800 at char 5"},
                new Object[] {List.of("\uDC00가"), "text 0 is not valid UTF-8: unpaired surrogate U+DC00 at char 0"},
                new Object[] {List.of("ok", "a\uDBFFb"), "text 1 is not valid UTF-8: unpaired surrogate U+DBFF at char 1"},
                // A pair in the wrong order is two unpaired halves; the first is reported.
                new Object[] {List.of("😊\uDE0A\uD83D"), "text 0 is not valid UTF-8: unpaired surrogate U+DE0A at char 2"},
                new Object[] {List.of("a", "b\uDFFF", "\uD800"),
                        "text 1 is not valid UTF-8: unpaired surrogate U+DFFF at char 1"});
        for (Object[] c : cases) {
            @SuppressWarnings("unchecked")
            List<String> texts = (List<String>) c[0];
            String want = (String) c[1];
            List<Executable> calls = List.of(
                    () -> enc.encode(texts),
                    () -> enc.encode(texts.toArray(new String[0])),
                    () -> enc.encodeFlat(texts),
                    () -> enc.encodeBatch(texts));
            for (Executable call : calls) {
                KseException e = assertThrows(KseException.class, call);
                assertEquals(KseStatus.INVALID_UTF8, e.status(), e.getMessage());
                assertEquals(want, e.detail());
                assertEquals("KSE_ERR_INVALID_UTF8: " + want, e.getMessage());
            }
        }
        KseException e = assertThrows(KseException.class, () -> enc.tokenize("가나\uD800"));
        assertEquals(KseStatus.INVALID_UTF8, e.status());
        assertEquals("text 0 is not valid UTF-8: unpaired surrogate U+D800 at char 2", e.detail());
        // The encoder is unharmed, and a proper pair (an emoji) is text like any other.
        assertTrue(maxAbsDiff(enc.encode("가")[0], enc.encode(List.of("가", "😊"))[0]) <= 1e-6);
        assertNotEquals(Arrays.toString(enc.tokenize("?")), Arrays.toString(enc.tokenize("😊")));
    }

    @Test
    void utf8MatchesTheJdkOnValidText() {
        // Boundaries of each UTF-8 length, a supplementary pair at both ends, and random valid strings.
        List<String> texts = new ArrayList<>(List.of("", "a", "\u007F\u0080", "\u07FF\u0800", "\uD7FF\uE000\uFFFF",
                "\uD800\uDC00", "\uDBFF\uDFFF", "😊 다만, 도로와 KTX ₩", "\u0000x"));
        java.util.Random random = new java.util.Random(14);
        for (int k = 0; k < 2000; k++) {
            StringBuilder b = new StringBuilder();
            for (int len = random.nextInt(40); len > 0; len--) {
                int cp = switch (random.nextInt(4)) {
                    case 0 -> random.nextInt(0x80);
                    case 1 -> 0x80 + random.nextInt(0x800 - 0x80);
                    case 2 -> 0x800 + random.nextInt(0xD800 - 0x800);
                    default -> 0x10000 + random.nextInt(0x110000 - 0x10000);
                };
                b.appendCodePoint(cp);
            }
            texts.add(b.toString());
        }
        for (String t : texts) {
            byte[] want = t.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            assertArrayEquals(want, Utf8.bytes(t, 0), t);
            assertEquals(want.length, Utf8.length(t, 0), t);
        }
        // And through the packed path: the same vectors as one at a time.
        float[][] batched = enc.encode(texts.subList(0, 50));
        for (int i = 0; i < 50; i++) {
            assertTrue(maxAbsDiff(enc.encode(texts.get(i))[0], batched[i]) <= 1e-6, "text " + i);
        }
    }

    @Test
    void tokenizes() {
        int[] ids = enc.tokenize("안녕하세요");
        assertTrue(ids.length >= 3, Arrays.toString(ids));
        // XLM-R specials around the text: <s> = 0 ... </s> = 2; the "query: " prefix is inside.
        assertEquals(0, ids[0]);
        assertEquals(2, ids[ids.length - 1]);
        assertTrue(enc.tokenize("안녕하세요 반갑습니다 좋은 아침입니다").length > enc.tokenize("").length);
        assertEquals(enc.maxTokens(), enc.tokenize(longText()).length);
    }

    @Test
    void truncatesLongTexts() {
        Embeddings e = enc.encodeBatch(List.of("짧다", longText()));
        assertEquals(1, e.truncated());
    }

    @Test
    void truncationErrorOption() {
        KoreanSentenceEncoder.Options strict =
                KoreanSentenceEncoder.Options.builder().truncation(Truncation.ERROR).build();
        try (KoreanSentenceEncoder e = KoreanSentenceEncoder.open(TestSupport.tinyE5(), strict)) {
            assertArrayEquals(enc.encode("짧다")[0], e.encode("짧다")[0]);
            KseException x = assertThrows(KseException.class, () -> e.encode("짧다", longText()));
            assertEquals(KseStatus.INPUT_TOO_LONG, x.status());
            assertEquals(KseStatus.INPUT_TOO_LONG, assertThrows(KseException.class, () -> e.tokenize(longText())).status());
        }
    }

    @Test
    void optionsDoNotChangeVectors() {
        KoreanSentenceEncoder.Options opts = KoreanSentenceEncoder.Options.builder()
                .sessions(2).intraThreads(1).batchTokens(64).build();
        try (KoreanSentenceEncoder e = KoreanSentenceEncoder.open(TestSupport.tinyE5(), opts)) {
            float[] a = enc.encodeFlat(SENTENCES);
            float[] b = e.encodeFlat(SENTENCES);
            assertTrue(maxAbsDiff(a, b) <= 1e-6, "max diff " + maxAbsDiff(a, b));
        }
    }

    @Test
    void badOptionValues() {
        KseException e = assertThrows(KseException.class, () -> KoreanSentenceEncoder.open(TestSupport.tinyE5(),
                KoreanSentenceEncoder.Options.builder().sessions(0).build()));
        assertEquals(KseStatus.INVALID_ARGUMENT, e.status());
        assertThrows(IllegalArgumentException.class, () -> KoreanSentenceEncoder.Options.builder().sessions(-1));
        assertThrows(IllegalArgumentException.class, () -> KoreanSentenceEncoder.Options.builder().batchTokens(-5));
    }

    @Test
    void statusNamesMatchTheLibrary() {
        for (KseStatus s : KseStatus.values()) {
            if (s != KseStatus.UNKNOWN) {
                assertEquals(KoreanSentenceEncoder.nativeStatusName(s.code()), s.cName());
                assertEquals(s, KseStatus.fromCode(s.code()));
            }
        }
        assertEquals(KoreanSentenceEncoder.nativeStatusName(999), KseStatus.UNKNOWN.cName());
        assertEquals(KseStatus.UNKNOWN, KseStatus.fromCode(999));
        assertEquals(KseStatus.UNKNOWN, KseStatus.fromCode(-1));
        // The library defines no status this binding lacks.
        assertEquals(KseStatus.UNKNOWN.cName(), KoreanSentenceEncoder.nativeStatusName(KseStatus.values().length - 1));
    }
}
