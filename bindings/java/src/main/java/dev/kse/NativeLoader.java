package dev.kse;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Loads the native libraries once per class loader, at first use.
 *
 * <p>By default the jar's {@code /native/linux-x86_64/} resources
 * (libkse_jni.so, libkse.so.0, libonnxruntime.so.1) are extracted into a
 * private temporary directory (deleted when the JVM exits) and libkse_jni.so is
 * loaded from there: its RUNPATH {@code $ORIGIN} finds libkse.so.0 beside it,
 * and libkse finds libonnxruntime.so.1 beside itself.
 *
 * <p>Extraction is the one place where this binding writes code that it then
 * loads, so it is careful: the directory is created atomically under
 * {@code java.io.tmpdir} with an unpredictable name and mode 0700, and checked
 * afterwards (a real directory, not a link, owned by this process's user, mode
 * 0700); each file is created anew (never through an existing name or link),
 * owner-only, then checked against the size and SHA-256 that the jar's build
 * recorded in {@code /native/linux-x86_64/SHA256SUMS}, before anything is
 * loaded. Any failure is an {@link UnsatisfiedLinkError} saying what was wrong.
 *
 * <p>The system property {@value #LIBRARY_PROPERTY} or, if unset, the
 * environment variable {@value #LIBRARY_ENV} may name an installed libkse
 * shared library instead (e.g. {@code /usr/local/lib/libkse.so.0}); it is
 * loaded first, so its SONAME satisfies the shim's dependency, and it finds its
 * own ONNX Runtime (beside it or in {@code kse/} beside it). The shim is then
 * taken from the same directory if a libkse_jni.so is there, else extracted
 * from the jar as above.
 */
final class NativeLoader {
    static final String LIBRARY_PROPERTY = "kse.library";
    static final String LIBRARY_ENV = "KSE_LIBRARY";
    static final String PLATFORM = "linux-x86_64";
    static final String RESOURCE_DIR = "/native/" + PLATFORM + "/";
    static final String JNI_LIBRARY = "libkse_jni.so";
    static final String KSE_LIBRARY = "libkse.so.0";
    static final String ORT_LIBRARY = "libonnxruntime.so.1";
    /** The checksum manifest build-native.sh writes beside the libraries: "SHA256 SIZE NAME" lines. */
    static final String CHECKSUMS = "SHA256SUMS";
    /** Prefix of the extraction directories' names. */
    static final String DIR_PREFIX = "kse-java-";

    private static final Set<PosixFilePermission> OWNER_DIR = PosixFilePermissions.fromString("rwx------");
    private static final Set<PosixFilePermission> OWNER_WRITE = PosixFilePermissions.fromString("rw-------");
    private static final Set<PosixFilePermission> OWNER_READ_EXEC = PosixFilePermissions.fromString("r-x------");

    private static volatile boolean loaded;
    private static String failure;
    private static Path libraryPath;
    private static Path extractedDir;
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

    /** The private directory the jar's libraries were extracted to, or null when none was. */
    static Path extractedDir() {
        ensureLoaded();
        return extractedDir;
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
                checkPlatform();
                jni = extract(List.of(JNI_LIBRARY)).resolve(JNI_LIBRARY);
            }
            System.load(jni.toString());
            libraryPath = lib;
        } else {
            checkPlatform();
            Path dir = extract(List.of(ORT_LIBRARY, KSE_LIBRARY, JNI_LIBRARY));
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

    /**
     * Extracts the named resources into a new private directory, each checked
     * against the jar's checksum manifest, and returns the directory (the one
     * way this class puts a library on disk).
     */
    private static Path extract(List<String> names) throws IOException {
        Map<String, Expected> sums = checksums();
        for (String name : names) {
            if (!sums.containsKey(name)) {
                throw new UnsatisfiedLinkError("resource " + RESOURCE_DIR + CHECKSUMS + " has no entry for " + name
                        + "; the jar is damaged (rebuild it with bindings/java/run_tests.sh)");
            }
        }
        Path dir = privateDirectory(Path.of(System.getProperty("java.io.tmpdir")));
        extractedDir = dir;
        for (String name : names) {
            Path target = dir.resolve(name);
            // Registered after the directory, so it is deleted first at exit.
            target.toFile().deleteOnExit();
            copyResource(name, target);
            Expected want = sums.get(name);
            verify(target, want.size, want.sha256);
            Files.setPosixFilePermissions(target, OWNER_READ_EXEC);
        }
        return dir;
    }

    /**
     * Creates a fresh directory under {@code parent} with an unpredictable
     * name and mode 0700 (set atomically by the creating mkdir, not changed
     * afterwards), registers it for deletion at exit, and checks that what is
     * there now is that directory: not a symbolic link, owned by this
     * process's user, mode exactly 0700.
     */
    static Path privateDirectory(Path parent) throws IOException {
        FileAttribute<Set<PosixFilePermission>> mode = PosixFilePermissions.asFileAttribute(OWNER_DIR);
        Path dir;
        try {
            dir = Files.createTempDirectory(parent, DIR_PREFIX, mode);
        } catch (UnsupportedOperationException e) {
            throw new UnsatisfiedLinkError("cannot create an owner-only directory under " + parent
                    + " (no POSIX permissions there); set -Djava.io.tmpdir to a POSIX file system");
        }
        dir.toFile().deleteOnExit();
        checkPrivateDirectory(dir);
        return dir;
    }

    /** Fails unless {@code dir} is a real directory (not a link), owned by this process's user, mode 0700. */
    static void checkPrivateDirectory(Path dir) throws IOException {
        PosixFileAttributes a = Files.getFileAttributeView(dir, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                .readAttributes();
        if (a.isSymbolicLink() || !a.isDirectory()) {
            throw new UnsatisfiedLinkError("extraction directory " + dir + " is "
                    + (a.isSymbolicLink() ? "a symbolic link" : "not a directory") + "; refusing to load from it");
        }
        Object uid = Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        long me = currentUid();
        if (!(uid instanceof Integer) || ((Integer) uid).longValue() != me) {
            throw new UnsatisfiedLinkError("extraction directory " + dir + " is owned by uid " + uid + " ("
                    + a.owner().getName() + "), not by this process's uid " + me + "; refusing to load from it");
        }
        if (!a.permissions().equals(OWNER_DIR)) {
            throw new UnsatisfiedLinkError("extraction directory " + dir + " has mode "
                    + PosixFilePermissions.toString(a.permissions()) + ", not rwx------; refusing to load from it");
        }
    }

    /** This process's effective user id (Linux: /proc/self/status). */
    static long currentUid() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.UTF_8)) {
            if (line.startsWith("Uid:")) {
                String[] ids = line.substring(4).trim().split("\\s+");
                return Long.parseLong(ids[1]); // real, effective, saved, file system
            }
        }
        throw new IOException("no Uid line in /proc/self/status");
    }

    /**
     * Checks that {@code file} (not followed if a link) is a regular file of
     * {@code size} bytes whose SHA-256 is {@code sha256} (lower-case hex).
     *
     * @throws UnsatisfiedLinkError naming the file, the expected and the actual size or hash
     */
    static void verify(Path file, long size, String sha256) throws IOException {
        PosixFileAttributes a = Files.readAttributes(file, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!a.isRegularFile()) {
            throw new UnsatisfiedLinkError(file + " is not a regular file; refusing to load it");
        }
        MessageDigest md = sha256();
        long read = 0;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
             InputStream in = Channels.newInputStream(ch)) {
            byte[] buf = new byte[1 << 16];
            for (int k; (k = in.read(buf)) > 0; ) {
                md.update(buf, 0, k);
                read += k;
            }
        }
        String actual = HexFormat.of().formatHex(md.digest());
        if (read != size || !actual.equals(sha256)) {
            throw new UnsatisfiedLinkError("extracted " + file + " does not match the jar's " + CHECKSUMS + ": "
                    + read + " bytes, sha256 " + actual + "; expected " + size + " bytes, sha256 " + sha256
                    + "; refusing to load it");
        }
    }

    /** Size and SHA-256 of one bundled file, from the checksum manifest. */
    record Expected(long size, String sha256) {}

    /** Parses the jar's checksum manifest: one "SHA256 SIZE NAME" line per bundled file. */
    static Map<String, Expected> checksums() throws IOException {
        String text;
        try (InputStream in = NativeLoader.class.getResourceAsStream(RESOURCE_DIR + CHECKSUMS)) {
            if (in == null) {
                throw new UnsatisfiedLinkError("resource " + RESOURCE_DIR + CHECKSUMS
                        + " is missing from the classpath (build the jar with bindings/java/run_tests.sh)");
            }
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        Map<String, Expected> sums = new HashMap<>();
        for (String line : text.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.trim().split("\\s+");
            if (f.length != 3 || !f[0].matches("[0-9a-f]{64}") || !f[1].matches("[0-9]{1,18}")) {
                throw new UnsatisfiedLinkError("resource " + RESOURCE_DIR + CHECKSUMS + " has a malformed line: "
                        + line);
            }
            sums.put(f[2], new Expected(Long.parseLong(f[1]), f[0]));
        }
        return sums;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }

    /** Writes the resource to a new owner-only file (fails if anything, even a dangling link, has the name). */
    private static void copyResource(String name, Path target) throws IOException {
        try (InputStream in = NativeLoader.class.getResourceAsStream(RESOURCE_DIR + name)) {
            if (in == null) {
                throw new UnsatisfiedLinkError("resource " + RESOURCE_DIR + name
                        + " is missing from the classpath (build the jar with bindings/java/run_tests.sh)");
            }
            try (FileChannel ch = FileChannel.open(target,
                    Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS),
                    PosixFilePermissions.asFileAttribute(OWNER_WRITE));
                 OutputStream out = Channels.newOutputStream(ch)) {
                in.transferTo(out);
            }
        }
    }
}
