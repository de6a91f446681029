package dev.kse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link KoreanSentenceEncoder#open()}: no model directory, so libkse loads its
 * default model (kse-ko-small) from $KSE_MODEL_DIR or beside itself; and
 * {@link KoreanSentenceEncoder#openNamed(String)}: a shipped model by name,
 * from beside libkse only. Each case that loads a model this way runs in a
 * child JVM, whose environment the test controls.
 */
class DefaultModelTest {
    @Test
    @Timeout(120)
    void openWithoutDirectoryLoadsTheDefaultModelBesideLibkse() throws Exception {
        // The build tree's libkse finds the build tree's models/kse-ko-small.
        Path lib = TestSupport.require(TestSupport.repo().resolve("target/release/libkse.so"), "libkse", "make setup");
        TestSupport.require(TestSupport.repo().resolve("models").resolve(TestSupport.DEFAULT_MODEL).resolve("kse.json"),
                "the default model", "make setup");
        Map<String, String> out = LoaderTest.runProbe(List.of("-Dkse.library=" + lib), Map.of(),
                List.of("KSE_MODEL_DIR"), "--default");
        assertEquals(TestSupport.DEFAULT_MODEL, out.get("name"), String.valueOf(out));
        assertEquals("null", out.get("modelDir"), "an encoder opened with the default model has no modelDir()");
        assertEquals(384, out.get("vector").split(",").length);
    }

    @Test
    @Timeout(120)
    void kseModelDirEnvironmentVariableNamesTheDefaultModel() throws Exception {
        // With the jar's bundled libkse (a temporary copy: no model beside it).
        Path model = TestSupport.defaultModel();
        Map<String, String> out = LoaderTest.runProbe(List.of(), Map.of("KSE_MODEL_DIR", model.toString()),
                List.of(), "--default");
        assertEquals(TestSupport.DEFAULT_MODEL, out.get("name"), String.valueOf(out));
    }

    @Test
    @Timeout(120)
    void missingKseModelDirIsModelNotFoundNamingIt(@TempDir Path tmp) throws Exception {
        Path missing = tmp.resolve("no-such-model");
        Map<String, String> out = LoaderTest.runProbe(List.of(), Map.of("KSE_MODEL_DIR", missing.toString()),
                List.of(), "--default");
        assertEquals(KseStatus.MODEL_NOT_FOUND.name(), out.get("status"), String.valueOf(out));
        assertTrue(out.get("detail").contains(missing.toString()), out.get("detail"));
    }

    @Test
    @Timeout(120)
    void bundledLibkseWithoutKseModelDirSaysWhatToDo() throws Exception {
        Map<String, String> out = LoaderTest.runProbe(List.of(), Map.of(), List.of("KSE_MODEL_DIR"), "--default");
        assertEquals(KseStatus.MODEL_NOT_FOUND.name(), out.get("status"), String.valueOf(out));
        assertSaysHowToGetAModel(out.get("detail"));
    }

    /**
     * The jar's libkse is extracted under java.io.tmpdir, a directory anyone
     * may write to; a model planted there (beside the extraction directory,
     * where a build or installed tree would have it) must not be loaded.
     */
    @Test
    @Timeout(180)
    void bundledLibkseIgnoresAModelPlantedInTheTempDirectory(@TempDir Path tmp) throws Exception {
        Path shared = Files.createDirectory(tmp.resolve("tmp"));
        List<Path> planted = List.of(shared.resolve("models").resolve(TestSupport.DEFAULT_MODEL),
                shared.resolve("share/kse/models").resolve(TestSupport.DEFAULT_MODEL));
        for (Path dir : planted) {
            plant(TestSupport.defaultModel(), dir);
        }
        // Like /tmp: anyone may create entries, only their owners may remove them.
        Process chmod = new ProcessBuilder("chmod", "1777", shared.toString()).inheritIO().start();
        assertEquals(0, chmod.waitFor(), "chmod 1777 " + shared);
        // The plants themselves are loadable models: only where they are keeps them out.
        try (KoreanSentenceEncoder enc = KoreanSentenceEncoder.open(planted.get(0))) {
            assertEquals("planted", enc.modelName());
        }

        Map<String, String> out = LoaderTest.runProbe(List.of("-Djava.io.tmpdir=" + shared), Map.of(),
                List.of("KSE_MODEL_DIR"), "--default");
        Path lib = Path.of(String.valueOf(out.get("path")));
        assertEquals(shared, lib.getParent().getParent(), "extracted under java.io.tmpdir: " + out);
        assertEquals("rwx------", out.get("extractedMode"), String.valueOf(out));
        assertEquals(out.get("uid"), out.get("extractedUid"), String.valueOf(out));
        if (out.containsKey("name")) {
            // A libkse that carries the default model uses it, and nothing planted.
            assertNotEquals("planted", out.get("name"), "the planted model was loaded: " + out);
        } else {
            assertEquals(KseStatus.MODEL_NOT_FOUND.name(), out.get("status"), String.valueOf(out));
            assertSaysHowToGetAModel(out.get("detail"));
        }
    }

    @Test
    @Timeout(120)
    void openNamedLoadsAShippedModelBesideLibkse(@TempDir Path tmp) throws Exception {
        // The build tree's libkse finds the build tree's models/kse-ko-mini; $KSE_MODEL_DIR is not consulted.
        Path lib = TestSupport.require(TestSupport.repo().resolve("target/release/libkse.so"), "libkse", "make setup");
        Path mini = TestSupport.require(TestSupport.repo().resolve("models/kse-ko-mini/kse.json"),
                "the kse-ko-mini model", "git checkout models/kse-ko-mini").getParent();
        Path empty = Files.createDirectory(tmp.resolve("kse-ko-mini"));
        Map<String, String> out = LoaderTest.runProbe(List.of("-Dkse.library=" + lib),
                Map.of("KSE_MODEL_DIR", empty.toString()), List.of(), "--named=kse-ko-mini");
        assertEquals("kse-ko-mini", out.get("name"), String.valueOf(out));
        assertEquals("null", out.get("modelDir"), "an encoder opened by name has no modelDir()");
        try (KoreanSentenceEncoder enc = KoreanSentenceEncoder.open(mini)) {
            assertArrayEquals(enc.encode("안녕하세요")[0], vector(out.get("vector")), "openNamed vs open(" + mini + ")");
        }
    }

    @Test
    @Timeout(120)
    void bundledLibkseHasNoShippedModelBesideItAndSaysWhatToDo() throws Exception {
        Map<String, String> out = LoaderTest.runProbe(List.of(), Map.of(), List.of(), "--named=kse-ko-mini");
        assertEquals(KseStatus.MODEL_NOT_FOUND.name(), out.get("status"), String.valueOf(out));
        String detail = out.get("detail");
        for (String says : List.of("model kse-ko-mini was named", "KoreanSentenceEncoder.open(Path)", "-Dkse.library")) {
            assertTrue(detail.contains(says), "says " + says + ": " + detail);
        }
    }

    @Test
    void openNamedTakesOnlyAShippedModelsName() {
        assertEquals(List.of("kse-ko-small", "kse-ko-mini"), KoreanSentenceEncoder.SHIPPED_MODELS);
        for (String name : List.of("nope", "./kse-ko-mini", "models/kse-ko-mini", "KSE-KO-MINI")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> KoreanSentenceEncoder.openNamed(name), name);
            assertTrue(e.getMessage().contains("kse-ko-small, kse-ko-mini") && e.getMessage().contains("open(Path)"),
                    e.getMessage());
        }
    }

    /** A vector as LoaderProbe prints it ({@link java.util.Arrays#toString(float[])}). */
    private static float[] vector(String printed) {
        String[] parts = printed.replaceAll("[\\[\\] ]", "").split(",");
        float[] v = new float[parts.length];
        for (int i = 0; i < parts.length; i++) {
            v[i] = Float.parseFloat(parts[i]);
        }
        return v;
    }

    /** A copy of the model directory at {@code to}, its manifest's name changed to "planted". */
    private static void plant(Path model, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(model)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (Files.isRegularFile(f)) {
                    Files.copy(f, to.resolve(f.getFileName()));
                }
            }
        }
        Path manifest = to.resolve("kse.json");
        String json = Files.readString(manifest);
        String renamed = json.replaceFirst("\"name\"\\s*:\\s*\"[^\"]*\"", "\"name\": \"planted\"");
        assertNotEquals(json, renamed, "kse.json has a name");
        Files.writeString(manifest, renamed);
    }

    /** The message for the bundled libkse without a model names every way to get one. */
    private static void assertSaysHowToGetAModel(String detail) {
        for (String way : List.of(TestSupport.DEFAULT_MODEL, "KSE_MODEL_DIR", "open(Path)", "make embedded",
                "-Dkse.libkse=", "-Dkse.library")) {
            assertTrue(detail != null && detail.contains(way), "says " + way + ": " + detail);
        }
    }
}
