package dev.kse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** Failures come back as KseException with the right status; nothing crashes the JVM. */
class ErrorTest {
    @Test
    void statusTableEqualsTheHeader() throws IOException {
        // KseStatus is written by hand: every KSE_OK / KSE_ERR_* of kse.h, same name and number, and no other.
        String header = Files.readString(TestSupport.repo().resolve("include/kse.h"));
        Matcher m = Pattern.compile("^#define (KSE_(?:OK|ERR_[A-Z0-9_]+)) (\\d+)$", Pattern.MULTILINE).matcher(header);
        Map<String, Integer> inHeader = new TreeMap<>();
        while (m.find()) {
            inHeader.put(m.group(1), Integer.parseInt(m.group(2)));
        }
        assertTrue(inHeader.size() > 5, "no status table found in kse.h");
        Map<String, Integer> inJava = new TreeMap<>();
        for (KseStatus s : KseStatus.values()) {
            if (s != KseStatus.UNKNOWN) {
                inJava.put(s.cName(), s.code());
                assertEquals(s, KseStatus.fromCode(s.code()));
            }
        }
        assertEquals(inHeader, inJava);
    }

    @Test
    void missingModelDirectory(@TempDir Path tmp) {
        Path missing = tmp.resolve("no-such-model");
        KseException e = assertThrows(KseException.class, () -> KoreanSentenceEncoder.open(missing));
        assertEquals(KseStatus.MODEL_NOT_FOUND, e.status());
        assertEquals(5, e.code());
        assertTrue(e.detail().contains("no-such-model"), e.detail());
        assertTrue(e.getMessage().startsWith("KSE_ERR_MODEL_NOT_FOUND: "), e.getMessage());
    }

    @Test
    void malformedManifest(@TempDir Path tmp) throws IOException {
        Files.writeString(tmp.resolve("kse.json"), "{ not json");
        KseException e = assertThrows(KseException.class, () -> KoreanSentenceEncoder.open(tmp));
        assertEquals(KseStatus.MODEL_INVALID, e.status(), e.getMessage());
    }

    @Test
    void secondOnnxRuntimeIsRefused(@TempDir Path tmp) throws IOException {
        // Whatever ONNX Runtime the process loaded first serves it; naming another is an error.
        try (KoreanSentenceEncoder first = KoreanSentenceEncoder.open(TestSupport.tinyE5())) {
            assertEquals(16, first.dim());
        }
        Path other = Files.writeString(tmp.resolve("libonnxruntime.so.1"), "not a library");
        KseException e = assertThrows(KseException.class, () -> KoreanSentenceEncoder.open(TestSupport.tinyE5(),
                KoreanSentenceEncoder.Options.builder().ortLibrary(other).build()));
        assertEquals(KseStatus.RUNTIME_UNAVAILABLE, e.status(), e.getMessage());
    }

    @Test
    void useAfterClose() {
        KoreanSentenceEncoder enc = KoreanSentenceEncoder.open(TestSupport.tinyE5());
        int live = KoreanSentenceEncoder.LIVE.get();
        enc.close();
        assertTrue(enc.isClosed());
        assertEquals(live - 1, KoreanSentenceEncoder.LIVE.get(), "close freed the native encoder");
        enc.close(); // idempotent
        assertEquals(live - 1, KoreanSentenceEncoder.LIVE.get());
        List<Executable> calls = List.of(
                () -> enc.encode("가"),
                () -> enc.encode(List.of("가")),
                () -> enc.encodeFlat(List.of("가")),
                () -> enc.encodeBatch(List.of()),
                () -> enc.tokenize("가"),
                () -> enc.countTokens("가"),
                () -> enc.encodeChunks("가", 0, 0),
                () -> enc.encodeChunks(""),
                enc::dim,
                enc::maxTokens,
                enc::modelName,
                enc::modelDir);
        for (Executable call : calls) {
            KseException e = assertThrows(KseException.class, call);
            assertEquals(KseStatus.INVALID_HANDLE, e.status());
        }
        assertTrue(enc.toString().contains("closed"));
    }

    @Test
    void tryWithResourcesCloses() {
        KoreanSentenceEncoder kept;
        try (KoreanSentenceEncoder enc = KoreanSentenceEncoder.open(TestSupport.tinyE5())) {
            kept = enc;
            assertFalse(enc.isClosed());
        }
        assertTrue(kept.isClosed());
        assertThrows(KseException.class, () -> kept.encode("가"));
    }
}
