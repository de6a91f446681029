package dev.kse;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Loads the native libraries once per class loader, at first use.
 *
 * <p>By default the jar's {@code /native/linux-x86_64/} resources
 * (libkse_jni.so, libkse.so.0, libonnxruntime.so.1) are copied into a fresh
 * private temporary directory (deleted when the JVM exits) and libkse_jni.so is
 * loaded from there: its RUNPATH {@code $ORIGIN} finds libkse.so.0 beside it,
 * and libkse finds libonnxruntime.so.1 beside itself.
 *
 * <p>The system property {@value #LIBRARY_PROPERTY} or, if unset, the
 * environment variable {@value #LIBRARY_ENV} may name an installed libkse
 * shared library instead (e.g. {@code /usr/local/lib/libkse.so.0}); it is
 * loaded first, so its SONAME satisfies the shim's dependency, and it finds its
 * own ONNX Runtime (beside it or in {@code kse/} beside it). The shim is then
 * taken from the same directory if a libkse_jni.so is there, else from the
 * jar.
 */
final class NativeLoader {
    static final String LIBRARY_PROPERTY = "kse.library";
    static final String LIBRARY_ENV = "KSE_LIBRARY";
    static final String PLATFORM = "linux-x86_64";
    static final String RESOURCE_DIR = "/native/" + PLATFORM + "/";
    static final String JNI_LIBRARY = "libkse_jni.so";
    static final String KSE_LIBRARY = "libkse.so.0";
    static final String ORT_LIBRARY = "libonnxruntime.so.1";

    private static volatile boolean loaded;
    private static String failure;
    private static Path libraryPath;
    private static boolean bundled;

    private NativeLoader() {}

    /** Loads the libraries if that has not happened yet; throws the same error on every call if it failed. */
    static void ensureLoaded() {
        if (loaded) {
            return;
        }
        synchronized (NativeLoader.class) {
            if (loaded) {
                return;
            }
            if (failure != null) {
                throw new UnsatisfiedLinkError(failure);
            }
            try {
                load();
                loaded = true;
            } catch (UnsatisfiedLinkError | IOException | RuntimeException e) {
                failure = "kse: cannot load the native library: " + e.getMessage();
                UnsatisfiedLinkError error = new UnsatisfiedLinkError(failure);
                error.initCause(e);
                throw error;
            }
        }
    }

    /** The libkse file that was loaded (a temporary copy unless overridden). */
    static Path libraryPath() {
        ensureLoaded();
        return libraryPath;
    }

    /** Whether the libkse in use is the jar's copy, extracted to a temporary directory (no model beside it). */
    static boolean bundled() {
        ensureLoaded();
        return bundled;
    }

    private static void load() throws IOException {
        String override = System.getProperty(LIBRARY_PROPERTY);
        String source = "-D" + LIBRARY_PROPERTY;
        if (override == null || override.isEmpty()) {
            override = System.getenv(LIBRARY_ENV);
            source = LIBRARY_ENV;
        }
        if (override != null && !override.isEmpty()) {
            Path lib = Path.of(override).toAbsolutePath();
            if (!Files.isRegularFile(lib)) {
                throw new UnsatisfiedLinkError(source + " names " + lib + ", which is not a file");
            }
            System.load(lib.toString());
            Path jni = lib.getParent().resolve(JNI_LIBRARY);
            if (!Files.isRegularFile(jni)) {
                jni = extract(JNI_LIBRARY);
            }
            System.load(jni.toString());
            libraryPath = lib;
        } else {
            checkPlatform();
            Path dir = Files.createTempDirectory("kse-java-");
            dir.toFile().deleteOnExit();
            for (String name : new String[] {ORT_LIBRARY, KSE_LIBRARY, JNI_LIBRARY}) {
                copyResource(name, dir.resolve(name));
            }
            System.load(dir.resolve(JNI_LIBRARY).toString());
            libraryPath = dir.resolve(KSE_LIBRARY);
            bundled = true;
        }
        int header = Native.headerAbiVersion();
        int library = Native.abiVersion();
        if (header != library) {
            throw new UnsatisfiedLinkError("libkse at " + libraryPath + " has ABI version " + library
                    + " but the JNI shim was built for ABI version " + header);
        }
    }

    private static void checkPlatform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            throw new UnsatisfiedLinkError("this jar bundles native libraries for " + PLATFORM + " only, not "
                    + os + "-" + arch + "; set -D" + LIBRARY_PROPERTY + " (or " + LIBRARY_ENV
                    + ") to an installed libkse with libkse_jni.so beside it");
        }
    }

    private static Path extract(String name) throws IOException {
        Path dir = Files.createTempDirectory("kse-java-");
        dir.toFile().deleteOnExit();
        Path target = dir.resolve(name);
        copyResource(name, target);
        return target;
    }

    private static void copyResource(String name, Path target) throws IOException {
        try (InputStream in = NativeLoader.class.getResourceAsStream(RESOURCE_DIR + name)) {
            if (in == null) {
                throw new UnsatisfiedLinkError("resource " + RESOURCE_DIR + name
                        + " is missing from the classpath (build the jar with bindings/java/run_tests.sh)");
            }
            // Registered after the directory, so it is deleted first at exit.
            target.toFile().deleteOnExit();
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
