package dev.kse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Native memory is released: the C heap and RSS stay flat over many encode calls, and the
 * Cleaner frees encoders that were never closed. The test JVM runs with a
 * fixed, pre-touched heap (see the pom's surefire argLine), so RSS growth is
 * native memory, not the Java heap expanding.
 */
class ResourceTest {
    /**
     * RSS may grow at most this much over the measured calls. A coarse bound:
     * malloc reuses the memory freed after loading the tokenizer, so small
     * leaks do not show in RSS until that pool is used up.
     */
    static final long RSS_BOUND_KIB = 16 * 1024;

    /**
     * The C heap's bytes in use (glibc mallinfo2, every arena) may grow at most
     * this much over 1,000 calls: leaking even the shim's copy of each call's
     * input (about 3.5 MiB in all) exceeds it.
     */
    static final long HEAP_BOUND_KIB = 1024;

    /**
     * C heap growth allowed over the open/close cycles: room for the JVM's own
     * transient use, while an open tiny-e5 encoder holds about 250 MiB of C
     * heap (mostly its tokenizer), so one left behind exceeds it many times.
     */
    static final long OPEN_CLOSE_BOUND_KIB = 32 * 1024;

    /**
     * The C heap in use while nothing runs: the lowest reading over 6 s. The
     * JVM shares the C heap, and its JIT compiler's arenas (a few MiB) are
     * returned by a task that runs every 5 s, so a single reading may include
     * them; the lowest over a longer span does not.
     */
    static long quiescentHeap() throws InterruptedException {
        long low = Long.MAX_VALUE;
        for (int i = 0; i < 60; i++) {
            low = Math.min(low, Native.heapInUse());
            Thread.sleep(100);
        }
        return low;
    }

    @Test
    @Timeout(300)
    void hundredThousandShortSentencesKeepMemoryFlat() throws Exception {
        int batchSize = 100;
        int batches = 1000;
        try (KoreanSentenceEncoder enc = KoreanSentenceEncoder.open(TestSupport.tinyE5())) {
            List<List<String>> inputs = new ArrayList<>();
            for (int b = 0; b < 10; b++) {
                List<String> batch = new ArrayList<>();
                for (int i = 0; i < batchSize; i++) {
                    batch.add("짧은 문장 " + (b * batchSize + i) + "번: 날씨가 좋습니다.");
                }
                inputs.add(batch);
            }
            // Warm-up: the library's working buffers reach their steady size.
            for (int b = 0; b < 200; b++) {
                enc.encodeFlat(inputs.get(b % inputs.size()));
            }
            long rssBefore = TestSupport.rssKiB();
            long heapBefore = quiescentHeap();
            long sentences = 0;
            for (int b = 0; b < batches; b++) {
                float[] v = enc.encodeFlat(inputs.get(b % inputs.size()));
                assertEquals(batchSize * enc.dim(), v.length);
                sentences += batchSize;
            }
            long heapAfter = quiescentHeap();
            long rssAfter = TestSupport.rssKiB();
            System.out.printf("Java: %d sentences encoded, RSS %d -> %d KiB (bound +%d), C heap in use %d -> %d KiB (bound +%d)%n",
                    sentences, rssBefore, rssAfter, RSS_BOUND_KIB, heapBefore / 1024, heapAfter / 1024, HEAP_BOUND_KIB);
            assertEquals(100_000, sentences);
            assertTrue(heapBefore > 0, "glibc mallinfo2 reports the C heap");
            assertTrue(heapAfter - heapBefore <= HEAP_BOUND_KIB * 1024,
                    "C heap in use grew by " + (heapAfter - heapBefore) / 1024 + " KiB");
            assertTrue(rssAfter - rssBefore <= RSS_BOUND_KIB, "RSS grew by " + (rssAfter - rssBefore) + " KiB");
        }
    }

    @Test
    @Timeout(180)
    void openAndCloseReleaseTheEncoder() {
        Path model = TestSupport.tinyE5();
        for (int i = 0; i < 2; i++) {
            KoreanSentenceEncoder.open(model).close();
        }
        int live = KoreanSentenceEncoder.LIVE.get();
        long heapBefore = Native.heapInUse();
        int cycles = 6;
        for (int i = 0; i < cycles; i++) {
            try (KoreanSentenceEncoder enc = KoreanSentenceEncoder.open(model)) {
                assertEquals(16, enc.encode("가나다")[0].length);
            }
        }
        long heapAfter = Native.heapInUse();
        System.out.printf("Java: %d open/encode/close cycles, C heap in use %d -> %d KiB (bound +%d)%n",
                cycles, heapBefore / 1024, heapAfter / 1024, OPEN_CLOSE_BOUND_KIB);
        assertEquals(live, KoreanSentenceEncoder.LIVE.get());
        assertTrue(heapAfter - heapBefore <= OPEN_CLOSE_BOUND_KIB * 1024,
                "C heap in use grew by " + (heapAfter - heapBefore) / 1024 + " KiB over " + cycles + " cycles");
    }

    @Test
    @Timeout(120)
    void cleanerFreesUnclosedEncoders() throws Exception {
        int before = KoreanSentenceEncoder.LIVE.get();
        int n = 3;
        for (int i = 0; i < n; i++) {
            KoreanSentenceEncoder leaked = KoreanSentenceEncoder.open(TestSupport.tinyE5());
            assertEquals(16, leaked.encode("가")[0].length);
        }
        assertEquals(before + n, KoreanSentenceEncoder.LIVE.get());
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (KoreanSentenceEncoder.LIVE.get() > before && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(50);
        }
        assertEquals(before, KoreanSentenceEncoder.LIVE.get(), "the Cleaner freed every unreachable encoder");
    }
}
