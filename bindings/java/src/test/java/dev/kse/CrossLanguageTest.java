package dev.kse;

import static dev.kse.TestSupport.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The default model against the independent Python reference embeddings in
 * target/xlang (made by `make xlang-reference`): every component within 1e-5.
 */
class CrossLanguageTest {
    static KoreanSentenceEncoder enc;
    static List<String> sentences;
    static float[] reference;

    @BeforeAll
    static void load() throws IOException {
        // sentences.txt: UTF-8, one sentence per line ('\n'); a final newline ends the last line.
        String text = Files.readString(TestSupport.xlang("sentences.txt"), StandardCharsets.UTF_8);
        sentences = new ArrayList<>(List.of(text.split("\n", -1)));
        if (text.endsWith("\n")) {
            sentences.remove(sentences.size() - 1);
        }
        String json = Files.readString(TestSupport.xlang("reference.json"), StandardCharsets.UTF_8);
        assertEquals(jsonInt(json, "n"), sentences.size(), "reference.json n vs sentences.txt lines");
        byte[] raw = Files.readAllBytes(TestSupport.xlang("reference.f32"));
        ByteBuffer buf = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        reference = new float[raw.length / 4];
        buf.asFloatBuffer().get(reference);
        enc = KoreanSentenceEncoder.open(TestSupport.defaultModel());
        assertEquals(jsonInt(json, "dim"), enc.dim());
        assertEquals(sentences.size() * enc.dim(), reference.length, "reference.f32 holds n x dim floats");
    }

    @AfterAll
    static void close() {
        if (enc != null) {
            enc.close();
        }
    }

    static int jsonInt(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\"\\s*:\\s*(\\d+)").matcher(json);
        assertTrue(m.find(), "reference.json has no \"" + key + "\"");
        return Integer.parseInt(m.group(1));
    }

    @Test
    void batchMatchesPythonReference() {
        Embeddings e = enc.encodeBatch(sentences);
        float worst = maxAbsDiff(reference, e.data());
        System.out.printf("Java: %d sentences, max abs difference vs Python reference %g%n", sentences.size(), worst);
        assertTrue(worst <= 1e-5f, "max abs difference " + worst);
        assertEquals(1, e.truncated(), "exactly one sentence exceeds 512 tokens");
        assertTrue(sentences.contains("") && sentences.stream().anyMatch(s -> !s.isEmpty() && s.isBlank()));
    }

    @Test
    void oneByOneMatchesReferenceAndBatch() {
        float[] batch = enc.encodeFlat(sentences);
        int dim = enc.dim();
        for (int i = 0; i < sentences.size(); i++) {
            float[] single = enc.encode(sentences.get(i))[0];
            float[] ref = java.util.Arrays.copyOfRange(reference, i * dim, (i + 1) * dim);
            float[] row = java.util.Arrays.copyOfRange(batch, i * dim, (i + 1) * dim);
            assertTrue(maxAbsDiff(ref, single) <= 1e-5f, "sentence " + i + " vs reference");
            assertTrue(maxAbsDiff(row, single) <= 1e-6f, "sentence " + i + " batched vs alone");
        }
    }

    @Test
    void paraphrasesAreCloserThanUnrelatedSentences() {
        float[][] v = enc.encode(sentences.get(0), sentences.get(1), sentences.get(2));
        assertTrue(dot(v[0], v[1]) > dot(v[0], v[2]) + 0.02, "paraphrase pair beats an unrelated sentence");
        assertEquals(384, enc.dim());
        assertEquals(512, enc.maxTokens());
    }

    static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }
}
