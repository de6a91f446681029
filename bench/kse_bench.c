/*
 * kse_bench: times kse through its C ABI (include/kse.h); prints one JSON object.
 *
 * Compiled by bench/run.py into target/bench/ (never into the repository):
 *   gcc -O2 -std=c99 -Wall -Wextra -Iinclude -Ibench bench/kse_bench.c \
 *       -Ltarget/release -lkse -Wl,-rpath,$PWD/target/release -o target/bench/kse_bench
 *
 *   kse_bench MODEL_DIR SENTENCES_FILE [--threads N] [--batch-tokens N]
 *             [--batches 1,8,32,128] [--limit N] [--warmup N]
 *             [--latency K] [--latency-reps R] [--embed-out FILE] [--embed-batch B]
 *
 * SENTENCES_FILE holds one UTF-8 text per line. For every caller-side batch
 * size B the first --limit texts are encoded in consecutive kse_encode calls
 * of B texts, timed around the calls only (CLOCK_MONOTONIC). --latency K
 * encodes each of the first K texts alone, --latency-reps times after one
 * untimed call. --embed-out writes the whole file's vectors (float32 [n, dim],
 * row i = line i), encoded in calls of --embed-batch texts.
 */
#define _POSIX_C_SOURCE 200809L
#include <kse.h>

#include "bench_util.h"

static int kse_fn(void *ctx, char *const *texts, const size_t *lens, size_t n, float *out, size_t *tokens) {
    const kse_encoder *enc = ctx;
    kse_encode_stats st;
    kse_error err;
    size_t dim = kse_dim(enc);
    if (kse_encode(enc, (const char *const *)texts, lens, n, out, n * dim, &st, &err) != KSE_OK) {
        fprintf(stderr, "kse_bench: kse_encode: %s: %s\n", kse_status_name(err.status), err.message);
        return 1;
    }
    *tokens += st.tokens;
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL_DIR SENTENCES_FILE [options] (see the source)\n", argv[0]);
        return 2;
    }
    bench_args o = parse_args(argc, argv);
    corpus c = read_lines(argv[2]);
    if (c.n == 0) {
        fprintf(stderr, "kse_bench: %s has no lines\n", argv[2]);
        return 1;
    }
    kse_options opts;
    KSE_OPTIONS_INIT(&opts);
    opts.model_dir = argv[1];
    opts.intra_threads = o.threads;
    if (o.batch_tokens) opts.batch_tokens = o.batch_tokens;
    kse_encoder *enc;
    kse_error err;
    double t0 = now_s();
    if (kse_create(&opts, &enc, &err) != KSE_OK) {
        fprintf(stderr, "kse_bench: kse_create: %s: %s\n", kse_status_name(err.status), err.message);
        return 1;
    }
    double load_s = now_s() - t0;
    printf("{\"engine\":\"kse-c\",\"version\":\"%s\",\"model\":\"%s\",\"dim\":%zu,\"threads\":%u,"
           "\"batch_tokens\":%u,\"texts\":%zu,\"load_s\":%.6f,\"rss_after_load_kb\":%ld",
           kse_version(), kse_model_name(enc), kse_dim(enc), o.threads, opts.batch_tokens, c.n, load_s,
           status_kb("VmRSS"));
    /* Tokenisation alone (kse_tokenize on every text, once), for the
     * breakdown of kse's time over ONNX Runtime's. */
    {
        size_t cap = kse_max_tokens(enc), n_ids, total = 0;
        int32_t *ids = xrealloc(NULL, cap * sizeof *ids);
        double a = now_s();
        for (size_t i = 0; i < c.n; i++) {
            if (kse_tokenize(enc, c.texts[i], c.lens[i], ids, cap, &n_ids, &err) != KSE_OK) {
                fprintf(stderr, "kse_bench: kse_tokenize: %s\n", err.message);
                return 1;
            }
            total += n_ids;
        }
        printf(",\"tokenize_all_s\":%.6f,\"tokens_all\":%zu", now_s() - a, total);
        free(ids);
    }
    run_benchmark(&o, &c, kse_fn, enc, kse_dim(enc));
    kse_free(enc);
    free_corpus(&c);
    return 0;
}
