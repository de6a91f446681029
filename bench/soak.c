/*
 * soak: long runs through the C ABI, for RELIABILITY.md (bench/reliability.py
 * builds and runs it; not part of `make test`).
 *
 *   soak encode MODEL_DIR N [--every K] [--seed S]
 *       One encoder; N texts of random length (1 to ~600 tokens, built from
 *       Korean words) in calls of 1 to 32 texts. Prints a JSON line with the
 *       resident set size every K texts (default N/100).
 *   soak churn MODEL_DIR N [--every K]
 *       N times: create an encoder, encode 4 texts, free it. Prints RSS every
 *       K encoders (default N/50).
 *
 * Every line is a JSON object; the last one summarises the run.
 */
#define _GNU_SOURCE
#include <kse.h>
#include <malloc.h>

#include "bench_util.h"

static const char *const WORDS[] = {
    "한",   "남자가", "기타를",   "치고",   "있다.",  "여자가",   "노래를",  "부른다.", "고양이가", "소파",
    "위에서", "잠을",   "자고",     "강아지는", "마당에서", "뛰어논다.", "도로와",  "인접해서", "거리의",   "소음이",
    "들려요.", "관광자원화", "검토를", "모범적으로", "적용한", "지자체에는", "홍보·컨설팅,", "관광상품", "개발",  "지원",
    "등을",  "제공할",  "계획이다.", "2026년", "11월",    "KorSTS",   "3.2점",   "서울",    "부산",     "(주)",
};
#define N_WORDS (sizeof WORDS / sizeof *WORDS)

static uint64_t rng_state;
static uint32_t rnd(void) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33);
}

/* A text of about `tokens` tokens (words average ~2 tokens each). */
static char *make_text(size_t tokens, size_t *len) {
    size_t words = tokens / 2 + 1, cap = words * 24 + 1, n = 0;
    char *s = xrealloc(NULL, cap);
    for (size_t i = 0; i < words; i++) {
        const char *w = WORDS[rnd() % N_WORDS];
        size_t l = strlen(w);
        if (n + l + 2 > cap) s = xrealloc(s, cap *= 2);
        if (i) s[n++] = ' ';
        memcpy(s + n, w, l);
        n += l;
    }
    s[n] = '\0';
    *len = n;
    return s;
}

static kse_encoder *create(const char *model) {
    kse_options o;
    KSE_OPTIONS_INIT(&o);
    o.model_dir = model;
    kse_encoder *enc;
    kse_error err;
    if (kse_create(&o, &enc, &err) != KSE_OK) {
        fprintf(stderr, "soak: kse_create: %s\n", err.message);
        exit(1);
    }
    return enc;
}

static int soak_encode(const char *model, size_t n, size_t every) {
    double t0 = now_s();
    kse_encoder *enc = create(model);
    size_t dim = kse_dim(enc);
    printf("{\"event\":\"loaded\",\"rss_kb\":%ld,\"s\":%.3f}\n", status_kb("VmRSS"), now_s() - t0);
    float *out = xrealloc(NULL, sizeof(float) * 32 * dim);
    char *texts[32];
    size_t lens[32];
    size_t done = 0, tokens = 0, truncated = 0, calls = 0, next = every, hist[7] = {0};
    while (done < n) {
        size_t b = 1 + rnd() % 32;
        if (b > n - done) b = n - done;
        for (size_t i = 0; i < b; i++) {
            size_t want = 1 + rnd() % 600;
            hist[want / 100]++;
            texts[i] = make_text(want, &lens[i]);
        }
        kse_encode_stats st;
        kse_error err;
        if (kse_encode(enc, (const char *const *)texts, lens, b, out, 32 * dim, &st, &err) != KSE_OK) {
            fprintf(stderr, "soak: kse_encode after %zu texts: %s\n", done, err.message);
            return 1;
        }
        for (size_t i = 0; i < b; i++) free(texts[i]);
        done += b;
        tokens += st.tokens;
        truncated += st.truncated;
        calls++;
        if (done >= next || done == n) {
            printf("{\"event\":\"progress\",\"texts\":%zu,\"calls\":%zu,\"tokens\":%zu,\"truncated\":%zu,"
                   "\"rss_kb\":%ld,\"s\":%.3f}\n",
                   done, calls, tokens, truncated, status_kb("VmRSS"), now_s() - t0);
            fflush(stdout);
            next += every;
        }
    }
    kse_free(enc);
    free(out);
    printf("{\"event\":\"done\",\"mode\":\"encode\",\"texts\":%zu,\"calls\":%zu,\"tokens\":%zu,\"truncated\":%zu,"
           "\"rss_after_free_kb\":%ld,\"hwm_kb\":%ld,\"s\":%.3f,\"target_tokens_per_100\":[%zu,%zu,%zu,%zu,%zu,%zu]}\n",
           done, calls, tokens, truncated, status_kb("VmRSS"), status_kb("VmHWM"), now_s() - t0, hist[0], hist[1],
           hist[2], hist[3], hist[4], hist[5] + hist[6]);
    return 0;
}

static int soak_churn(const char *model, size_t n, size_t every) {
    static const char *const t[] = {"한 남자가 기타를 치고 있다.", "", "고양이가 잔다.", "KorSTS"};
    double t0 = now_s();
    printf("{\"event\":\"start\",\"rss_kb\":%ld}\n", status_kb("VmRSS"));
    float *out = NULL;
    for (size_t i = 1; i <= n; i++) {
        kse_encoder *enc = create(model);
        size_t dim = kse_dim(enc);
        out = xrealloc(out, sizeof(float) * 4 * dim);
        kse_error err;
        if (kse_encode(enc, t, NULL, 4, out, 4 * dim, NULL, &err) != KSE_OK) {
            fprintf(stderr, "soak: kse_encode in encoder %zu: %s\n", i, err.message);
            return 1;
        }
        kse_free(enc);
        if (i % every == 0 || i == n || i == 1) {
            /* RSS as the process sees it, then after glibc hands its free
             * pages back (malloc_trim): memory kept for reuse by the
             * allocator is not memory lost. */
            long rss = status_kb("VmRSS");
            malloc_trim(0);
            printf("{\"event\":\"progress\",\"encoders\":%zu,\"rss_kb\":%ld,\"rss_trimmed_kb\":%ld,\"s\":%.3f}\n", i,
                   rss, status_kb("VmRSS"), now_s() - t0);
            fflush(stdout);
        }
    }
    free(out);
    printf("{\"event\":\"done\",\"mode\":\"churn\",\"encoders\":%zu,\"rss_kb\":%ld,\"hwm_kb\":%ld,\"s\":%.3f}\n", n,
           status_kb("VmRSS"), status_kb("VmHWM"), now_s() - t0);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s encode|churn MODEL_DIR N [--every K] [--seed S]\n", argv[0]);
        return 2;
    }
    size_t n = strtoull(argv[3], NULL, 10), every = 0;
    rng_state = 20261127;
    for (int i = 4; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--every")) every = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--seed")) rng_state = strtoull(argv[i + 1], NULL, 10);
    }
    if (!strcmp(argv[1], "encode")) return soak_encode(argv[2], n, every ? every : (n / 100 ? n / 100 : 1));
    if (!strcmp(argv[1], "churn")) return soak_churn(argv[2], n, every ? every : (n / 50 ? n / 50 : 1));
    fprintf(stderr, "soak: unknown mode %s\n", argv[1]);
    return 2;
}
