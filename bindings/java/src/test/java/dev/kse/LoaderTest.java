package dev.kse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** How the native libraries are found: the bundled copy, the override, and a bad override. */
class LoaderTest {
    @Test
    void loadsTheBundledCopyFromAPrivateTempDirectory() throws IOException {
        Path lib = KoreanSentenceEncoder.libraryPath();
        String override = System.getProperty("kse.library", System.getenv("KSE_LIBRARY"));
        if (override != null && !override.isEmpty()) {
            assertEquals(Path.of(override).toAbsolutePath(), lib);
            return;
        }
        Path dir = lib.getParent();
        assertEquals("libkse.so.0", lib.getFileName().toString());
        assertTrue(dir.getFileName().toString().startsWith("kse-java-"), dir.toString());
        for (String f : List.of("libkse.so.0", "libkse_jni.so", "libonnxruntime.so.1")) {
            assertTrue(Files.isRegularFile(dir.resolve(f)), f + " extracted");
        }
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(dir);
        assertEquals(PosixFilePermissions.fromString("rwx------"), perms, "only the owner can plant libraries there");
    }

    @Test
    @Timeout(120)
    void childJvmWithBundledLibrariesDeletesItsCopyAtExit() throws Exception {
        Map<String, String> out = runProbe(List.of(), Map.of());
        Path lib = Path.of(out.get("path"));
        assertTrue(lib.getParent().getFileName().toString().startsWith("kse-java-"), lib.toString());
        assertFalse(Files.exists(lib.getParent()), "temporary copy removed at exit: " + lib.getParent());
        assertVectorMatches(out.get("vector"));
    }

    @Test
    @Timeout(120)
    void libraryPropertyOverridesTheBundledCopy() throws Exception {
        Path installed = TestSupport.require(TestSupport.repo().resolve("target/release/libkse.so"),
                "libkse", "make setup");
        Map<String, String> out = runProbe(List.of("-Dkse.library=" + installed), Map.of());
        assertEquals(installed.toString(), out.get("path"));
        assertEquals(KoreanSentenceEncoder.libraryVersion(), out.get("version"));
        assertVectorMatches(out.get("vector"));
    }

    @Test
    @Timeout(120)
    void badOverrideFailsClearlyAndConsistently() throws Exception {
        Map<String, String> out = runProbe(List.of(), Map.of("KSE_LIBRARY", "/nonexistent/libkse.so"));
        String error = out.get("error");
        assertTrue(error != null && error.contains("KSE_LIBRARY") && error.contains("/nonexistent/libkse.so"),
                String.valueOf(out));
        assertEquals(error, out.get("second"), "a later call reports the same failure");
    }

    private static void assertVectorMatches(String printed) {
        float[] want;
        try (KoreanSentenceEncoder enc = KoreanSentenceEncoder.open(TestSupport.tinyE5())) {
            want = enc.encode("안녕하세요")[0];
        }
        String[] parts = printed.replaceAll("[\\[\\] ]", "").split(",");
        float[] got = new float[parts.length];
        for (int i = 0; i < parts.length; i++) {
            got[i] = Float.parseFloat(parts[i]);
        }
        assertTrue(TestSupport.maxAbsDiff(want, got) <= 1e-6f, "child JVM vector matches");
    }

    /** Runs LoaderProbe on the tiny-e5 model in a child JVM and returns its key=value lines. */
    private static Map<String, String> runProbe(List<String> jvmArgs, Map<String, String> env) throws Exception {
        return runProbe(jvmArgs, env, List.of(), TestSupport.tinyE5().toString());
    }

    /**
     * Runs LoaderProbe in a child JVM (without KSE_LIBRARY, and without the
     * environment variables in {@code unset}) on {@code model} (a directory,
     * or {@code --default}) and returns its key=value lines.
     */
    static Map<String, String> runProbe(List<String> jvmArgs, Map<String, String> env, List<String> unset,
                                        String model) throws Exception {
        String cp = System.getProperty("kse.jar.classes") + ":" + System.getProperty("kse.test.classes");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmArgs);
        cmd.addAll(List.of("-cp", cp, "dev.kse.LoaderProbe", model));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove("KSE_LIBRARY");
        unset.forEach(pb.environment()::remove);
        pb.environment().putAll(env);
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(90, TimeUnit.SECONDS), "child JVM finished");
        assertEquals(0, p.exitValue(), output);
        Map<String, String> result = new HashMap<>();
        for (String line : output.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                result.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return result;
    }
}
