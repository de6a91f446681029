package dev.kse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link KoreanSentenceEncoder#open()}: no model directory, so libkse loads its
 * default model (kse-ko-small) from $KSE_MODEL_DIR or beside itself. Each case
 * runs in a child JVM, whose environment the test controls.
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
        String detail = out.get("detail");
        assertTrue(detail.contains(TestSupport.DEFAULT_MODEL) && detail.contains("-Dkse.library"), detail);
    }
}
