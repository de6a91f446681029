package dev.kse;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Where setup put the models and reference data; a missing prerequisite fails the test with the command that makes it. */
final class TestSupport {
    private TestSupport() {}

    static Path repo() {
        String p = System.getProperty("kse.repo");
        if (p == null) {
            fail("system property kse.repo is not set; run the tests through bindings/java/run_tests.sh or mvn");
        }
        return Path.of(p).toAbsolutePath().normalize();
    }

    static Path require(Path path, String what, String command) {
        if (!Files.exists(path)) {
            fail(what + " not found at " + path + ": run `" + command + "`");
        }
        return path;
    }

    /** The name of the model libkse loads when given no directory. */
    static final String DEFAULT_MODEL = "kse-ko-small";

    /** The default model (384-d). */
    static Path defaultModel() {
        String env = System.getenv("KSE_MODEL_DIR");
        Path p = env != null && !env.isEmpty() ? Path.of(env) : repo().resolve("models").resolve(DEFAULT_MODEL);
        return require(p.resolve("kse.json"), "the default model", "make setup").getParent();
    }

    /** A tiny random-weight test model (16-d, multilingual-e5-small's tokenizer). */
    static Path tinyE5() {
        String env = System.getenv("KSE_TEST_MODELS");
        Path base = env != null ? Path.of(env) : repo().resolve("target/test-models");
        return require(base.resolve("tiny-e5/kse.json"), "the tiny-e5 test model", "make test-models").getParent();
    }

    static Path xlang(String file) {
        return require(repo().resolve("target/xlang").resolve(file), "the cross-language reference", "make xlang-reference");
    }

    /** Resident set size of this process in KiB, from /proc/self/status. */
    static long rssKiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IOException("no VmRSS in /proc/self/status");
    }

    static float maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) {
            fail("lengths differ: " + a.length + " vs " + b.length);
        }
        float worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        return worst;
    }

    static double norm(float[] v) {
        double s = 0;
        for (float x : v) {
            s += (double) x * x;
        }
        return Math.sqrt(s);
    }
}
