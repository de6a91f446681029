package dev.kse;

import static dev.kse.TestSupport.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** One encoder shared by many Java threads, and closed while they use it. */
class ConcurrencyTest {
    static final List<String> TEXTS = EncoderTest.SENTENCES;

    @Test
    @Timeout(120)
    void eightThreadsFiftyCallsEach() throws Exception {
        KoreanSentenceEncoder.Options opts = KoreanSentenceEncoder.Options.builder().sessions(2).build();
        try (KoreanSentenceEncoder enc = KoreanSentenceEncoder.open(TestSupport.tinyE5(), opts)) {
            float[][] expected = new float[TEXTS.size()][];
            for (int i = 0; i < TEXTS.size(); i++) {
                expected[i] = enc.encode(TEXTS.get(i))[0];
            }
            int threads = 8;
            int calls = 50;
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            CountDownLatch start = new CountDownLatch(1);
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                final int seed = t;
                results.add(pool.submit(() -> {
                    start.await();
                    int checked = 0;
                    for (int c = 0; c < calls; c++) {
                        // Batches of 1..3 texts starting at a thread- and call-dependent index.
                        int first = (seed * 7 + c) % TEXTS.size();
                        int size = 1 + (seed + c) % 3;
                        List<String> batch = new ArrayList<>();
                        for (int k = 0; k < size; k++) {
                            batch.add(TEXTS.get((first + k) % TEXTS.size()));
                        }
                        float[][] got = enc.encode(batch);
                        for (int k = 0; k < size; k++) {
                            float[] want = expected[(first + k) % TEXTS.size()];
                            float d = maxAbsDiff(want, got[k]);
                            if (d > 1e-6f) {
                                throw new AssertionError("thread " + seed + " call " + c + " text " + k + ": diff " + d);
                            }
                            checked++;
                        }
                        if (c % 10 == 0 && enc.tokenize(batch.get(0)).length < 3) {
                            throw new AssertionError("tokenize under load");
                        }
                    }
                    return checked;
                }));
            }
            start.countDown();
            int total = 0;
            for (Future<Integer> f : results) {
                total += f.get(100, TimeUnit.SECONDS);
            }
            pool.shutdown();
            assertTrue(total >= threads * calls, "vectors checked: " + total);
        }
    }

    @Test
    @Timeout(120)
    void closeWaitsForRunningCallsAndLaterCallsFail() throws Exception {
        KoreanSentenceEncoder enc = KoreanSentenceEncoder.open(TestSupport.tinyE5());
        int live = KoreanSentenceEncoder.LIVE.get();
        float[] expected = enc.encode(TEXTS.get(0))[0];
        int threads = 4;
        AtomicInteger successes = new AtomicInteger();
        AtomicInteger closedErrors = new AtomicInteger();
        CountDownLatch running = new CountDownLatch(threads);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<?>> results = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            results.add(pool.submit(() -> {
                boolean first = true;
                while (true) {
                    try {
                        float[][] got = enc.encode(TEXTS.get(0), EncoderTest.longText());
                        if (maxAbsDiff(expected, got[0]) > 1e-6f) {
                            throw new AssertionError("wrong vector while closing");
                        }
                        successes.incrementAndGet();
                    } catch (KseException e) {
                        if (e.status() != KseStatus.INVALID_HANDLE) {
                            throw e;
                        }
                        closedErrors.incrementAndGet();
                        return null;
                    }
                    if (first) {
                        running.countDown();
                        first = false;
                    }
                }
            }));
        }
        assertTrue(running.await(60, TimeUnit.SECONDS), "every thread encoded once");
        enc.close();
        assertTrue(enc.isClosed());
        assertEquals(live - 1, KoreanSentenceEncoder.LIVE.get());
        for (Future<?> f : results) {
            f.get(60, TimeUnit.SECONDS); // rethrows a wrong vector or an unexpected status
        }
        pool.shutdown();
        assertEquals(threads, closedErrors.get(), "each thread ended on INVALID_HANDLE");
        assertTrue(successes.get() >= threads);
    }
}
