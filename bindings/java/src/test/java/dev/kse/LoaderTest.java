package dev.kse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * How the native libraries are found: the bundled copy (extracted to a checked
 * private directory, each file verified against the jar's checksums), the
 * override, and a bad override.
 */
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
        assertEquals(dir, NativeLoader.extractedDir());
        assertFalse(Files.isSymbolicLink(dir), dir + " is a real directory");
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS);
        assertEquals(PosixFilePermissions.fromString("rwx------"), perms, "only the owner can plant libraries there");
        assertEquals((long) NativeLoader.currentUid(),
                ((Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS)).longValue(),
                "owned by this process's user");
        Map<String, NativeLoader.Expected> sums = NativeLoader.checksums();
        for (String f : List.of("libkse.so.0", "libkse_jni.so", "libonnxruntime.so.1")) {
            Path file = dir.resolve(f);
            assertEquals(PosixFilePermissions.fromString("r-x------"),
                    Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS), f + " is owner-only, read-only");
            NativeLoader.verify(file, sums.get(f).size(), sums.get(f).sha256()); // what was loaded is what was built
        }
    }

    @Test
    void privateDirectoriesAreFreshOwnerOnlyAndChecked(@TempDir Path tmp) throws IOException {
        Path a = NativeLoader.privateDirectory(tmp);
        Path b = NativeLoader.privateDirectory(tmp);
        assertNotEquals(a, b, "each extraction gets its own directory");
        for (Path dir : List.of(a, b)) {
            assertTrue(dir.getFileName().toString().startsWith(NativeLoader.DIR_PREFIX), dir.toString());
            assertEquals(PosixFilePermissions.fromString("rwx------"), Files.getPosixFilePermissions(dir));
            NativeLoader.checkPrivateDirectory(dir);
        }
        // What the check refuses: a directory others can enter, a link to a private directory, a file.
        Files.setPosixFilePermissions(b, PosixFilePermissions.fromString("rwxr-xr-x"));
        UnsatisfiedLinkError open = assertThrows(UnsatisfiedLinkError.class, () -> NativeLoader.checkPrivateDirectory(b));
        assertTrue(open.getMessage().contains("rwxr-xr-x") && open.getMessage().contains(b.toString()),
                open.getMessage());
        Path link = Files.createSymbolicLink(tmp.resolve("link"), a);
        UnsatisfiedLinkError linked = assertThrows(UnsatisfiedLinkError.class, () -> NativeLoader.checkPrivateDirectory(link));
        assertTrue(linked.getMessage().contains("symbolic link"), linked.getMessage());
        Path file = Files.createFile(tmp.resolve("file"));
        UnsatisfiedLinkError notDir = assertThrows(UnsatisfiedLinkError.class, () -> NativeLoader.checkPrivateDirectory(file));
        assertTrue(notDir.getMessage().contains("not a directory"), notDir.getMessage());
    }

    @Test
    void tamperedOrTruncatedFilesAreRefused(@TempDir Path tmp) throws Exception {
        byte[] original;
        try (InputStream in = NativeLoader.class.getResourceAsStream(NativeLoader.RESOURCE_DIR + "libkse_jni.so")) {
            original = in.readAllBytes();
        }
        NativeLoader.Expected want = NativeLoader.checksums().get("libkse_jni.so");
        assertEquals(original.length, want.size(), "the manifest has the bundled file's size");
        Path good = Files.write(tmp.resolve("good.so"), original);
        NativeLoader.verify(good, want.size(), want.sha256());

        byte[] flipped = original.clone();
        flipped[flipped.length / 2] ^= 1;
        Path tampered = Files.write(tmp.resolve("tampered.so"), flipped);
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class,
                () -> NativeLoader.verify(tampered, want.size(), want.sha256()));
        assertTrue(e.getMessage().contains(tampered.toString()) && e.getMessage().contains(want.sha256())
                && e.getMessage().contains(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(flipped)))
                && e.getMessage().contains(original.length + " bytes"), e.getMessage());

        Path truncated = Files.write(tmp.resolve("truncated.so"), Arrays.copyOf(original, original.length - 1));
        e = assertThrows(UnsatisfiedLinkError.class, () -> NativeLoader.verify(truncated, want.size(), want.sha256()));
        assertTrue(e.getMessage().contains(truncated.toString()) && e.getMessage().contains((original.length - 1) + " bytes")
                && e.getMessage().contains("expected " + original.length + " bytes"), e.getMessage());

        Path link = Files.createSymbolicLink(tmp.resolve("link.so"), good);
        e = assertThrows(UnsatisfiedLinkError.class, () -> NativeLoader.verify(link, want.size(), want.sha256()));
        assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
    }

    @Test
    @Timeout(120)
    void childJvmRefusesATamperedBundledLibraryBeforeLoadingIt(@TempDir Path tmp) throws Exception {
        // A classpath entry ahead of the jar's classes holds a truncated libkse.so.0; the
        // manifest still comes from the build, so extraction must refuse the copy.
        Path overlay = Files.createDirectories(tmp.resolve("overlay/native/linux-x86_64"));
        byte[] lib;
        try (InputStream in = NativeLoader.class.getResourceAsStream(NativeLoader.RESOURCE_DIR + "libkse.so.0")) {
            lib = in.readAllBytes();
        }
        Files.write(overlay.resolve("libkse.so.0"), Arrays.copyOf(lib, lib.length / 2));
        Map<String, String> out = runProbe(List.of("-Djava.io.tmpdir=" + tmp), Map.of(), List.of(),
                TestSupport.tinyE5().toString(), tmp.resolve("overlay").toString());
        String error = out.get("error");
        assertTrue(error != null && error.contains("libkse.so.0") && error.contains(lib.length / 2 + " bytes")
                && error.contains("expected " + lib.length + " bytes"), String.valueOf(out));
        assertEquals(error, out.get("second"), "a later call reports the same failure");
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

    static Map<String, String> runProbe(List<String> jvmArgs, Map<String, String> env, List<String> unset,
                                        String model) throws Exception {
        return runProbe(jvmArgs, env, unset, model, null);
    }

    /** Runs LoaderProbe on the tiny-e5 model in a child JVM and returns its key=value lines. */
    private static Map<String, String> runProbe(List<String> jvmArgs, Map<String, String> env) throws Exception {
        return runProbe(jvmArgs, env, List.of(), TestSupport.tinyE5().toString());
    }

    /**
     * Runs LoaderProbe in a child JVM (without KSE_LIBRARY, and without the
     * environment variables in {@code unset}) on {@code model} (a directory,
     * or {@code --default}), with {@code cpFirst} (if not null) ahead of the
     * jar's classes on the class path, and returns its key=value lines.
     */
    static Map<String, String> runProbe(List<String> jvmArgs, Map<String, String> env, List<String> unset,
                                        String model, String cpFirst) throws Exception {
        String cp = (cpFirst == null ? "" : cpFirst + ":")
                + System.getProperty("kse.jar.classes") + ":" + System.getProperty("kse.test.classes");
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
