/*
 * Bad input through the C ABI, table-driven: every case must return its own
 * status with a message naming the problem, and leave the output buffer (and
 * the out-pointer of kse_create) exactly as it was.
 *
 *   test_bad_input TEST_MODELS_DIR BROKEN_MODELS_DIR FAKE_OLD_ORT
 *
 * TEST_MODELS_DIR holds tiny-e5 (make test-models); BROKEN_MODELS_DIR the
 * broken model directories tests/c/run.sh makes from it (missing, corrupt
 * graph, truncated tokenizer, wrong dimension, tokenizer larger than the
 * embedding table); FAKE_OLD_ORT a library that poses as ONNX Runtime 1.20.
 * Cases that load ONNX Runtime run first, each in a forked child, because the
 * first successful load in a process is final.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kse.h"

static int failures, cases;
static const char *models, *broken, *fake_ort;
static kse_encoder *enc; /* tiny-e5, for the encode cases */
static char tiny_dir[4096]; /* MODELS/tiny-e5 */

/* Options for the tiny model, as every case that creates an encoder starts. */
static kse_options tiny_options(void) {
    kse_options o;
    KSE_OPTIONS_INIT(&o);
    o.model_dir = tiny_dir;
    return o;
}
static size_t dim;

#define CANARY 42.0f
#define OUT_CAP 4096
static float out[OUT_CAP];

#define CHUNK_CAP 64
static kse_chunk chunk_buf[CHUNK_CAP]; /* the chunks kse_encode_chunks writes */
static const kse_chunk CHUNK_CANARY = {4242, 4242, 4242};

static void fill_canary(void) {
    for (size_t i = 0; i < OUT_CAP; i++) out[i] = CANARY;
    for (size_t i = 0; i < CHUNK_CAP; i++) chunk_buf[i] = CHUNK_CANARY;
}

static int out_intact(void) {
    for (size_t i = 0; i < OUT_CAP; i++)
        if (out[i] != CANARY) return 0;
    return 1;
}

/* Neither the vectors nor the chunks were written. */
static int canary_intact(void) {
    if (!out_intact()) return 0;
    for (size_t i = 0; i < CHUNK_CAP; i++)
        if (memcmp(&chunk_buf[i], &CHUNK_CANARY, sizeof CHUNK_CANARY) != 0) return 0;
    return 1;
}

/* One row of the table: the call, the status it must return, a piece of the
 * message it must carry, and whether the output may be written. */
typedef struct {
    const char *name;
    kse_status (*call)(kse_error *err);
    kse_status want;
    const char *message_has; /* NULL: any non-empty message (or none on KSE_OK) */
    int writes;              /* on KSE_OK: 1 if rows are written, 0 if nothing may be */
} bad_case;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void run_case(const bad_case *c) {
    kse_error err;
    memset(&err, 0x5a, sizeof err);
    fill_canary();
    double t0 = now_s();
    kse_status got = c->call(&err);
    double ms = (now_s() - t0) * 1e3;
    cases++;
    const char *why = NULL;
    if (got != c->want)
        why = "wrong status";
    else if (err.status != got)
        why = "err.status differs from the return value";
    else if (memchr(err.message, '\0', sizeof err.message) == NULL)
        why = "message not NUL-terminated";
    else if (got != KSE_OK && err.message[0] == '\0')
        why = "empty message";
    else if (got != KSE_OK && c->message_has && strstr(err.message, c->message_has) == NULL)
        why = "message does not name the problem";
    else if ((got != KSE_OK || !c->writes) && !canary_intact())
        why = "output buffer changed";
    else if (got == KSE_OK && c->writes && canary_intact())
        why = "nothing written on success";
    if (why) {
        failures++;
        printf("FAIL  %-46s %s: got %s, want %s; message: %.200s\n", c->name, why, kse_status_name(got),
               kse_status_name(c->want), memchr(err.message, '\0', sizeof err.message) ? err.message : "(unterminated)");
    } else {
        printf("ok    %-46s %-28s %8.1f ms  %.150s\n", c->name, kse_status_name(got), ms,
               got == KSE_OK ? "" : err.message);
    }
}

/* ------------------------------------------------------------ encode cases */

static const char *const TWO[] = {"한 남자가 기타를 치고 있다.", "A man is playing a guitar."};

static kse_status enc_null_handle(kse_error *e) { return kse_encode(NULL, TWO, NULL, 2, out, OUT_CAP, NULL, e); }
static kse_status enc_null_texts(kse_error *e) { return kse_encode(enc, NULL, NULL, 2, out, OUT_CAP, NULL, e); }
static kse_status enc_null_out(kse_error *e) { return kse_encode(enc, TWO, NULL, 2, NULL, OUT_CAP, NULL, e); }
static kse_status enc_null_element(kse_error *e) {
    const char *t[] = {"좋다", NULL, "나쁘다"};
    return kse_encode(enc, t, NULL, 3, out, OUT_CAP, NULL, e);
}
static kse_status enc_null_element_len(kse_error *e) {
    const char *t[] = {"좋다", NULL};
    size_t len[] = {KSE_NUL_TERMINATED, 3};
    return kse_encode(enc, t, len, 2, out, OUT_CAP, NULL, e);
}
static kse_status enc_n0(kse_error *e) { return kse_encode(enc, TWO, NULL, 0, out, OUT_CAP, NULL, e); }
static kse_status enc_n0_nulls(kse_error *e) { return kse_encode(enc, NULL, NULL, 0, NULL, 0, NULL, e); }
static kse_status enc_small_out(kse_error *e) { return kse_encode(enc, TWO, NULL, 2, out, 2 * dim - 1, NULL, e); }
static kse_status enc_huge_n(kse_error *e) { return kse_encode(enc, TWO, NULL, SIZE_MAX / 2, out, OUT_CAP, NULL, e); }
static kse_status enc_huge_len(kse_error *e) {
    size_t len[] = {SIZE_MAX - 1, 3};
    return kse_encode(enc, TWO, len, 2, out, OUT_CAP, NULL, e);
}

static const char *utf8_text;
static kse_status enc_one_bad_utf8(kse_error *e) {
    const char *t[] = {"정상 문장", utf8_text};
    return kse_encode(enc, t, NULL, 2, out, OUT_CAP, NULL, e);
}
static kse_status enc_embedded_nul(kse_error *e) {
    const char *t[] = {"앞\0뒤"};
    size_t len[] = {7}; /* 3 + 1 + 3 bytes */
    return kse_encode(enc, t, len, 1, out, OUT_CAP, NULL, e);
}
static kse_status enc_empty_and_blank(kse_error *e) {
    const char *t[] = {"", " ", "\t\n \r", "\xe3\x80\x80" /* U+3000 */};
    return kse_encode(enc, t, NULL, 4, out, OUT_CAP, NULL, e);
}

/* A NUL-terminated text that ends at the last byte of a page followed by an
 * unreadable page: reading one byte past the NUL would crash the test. */
static char *guarded;
static kse_status enc_guard_page(kse_error *e) {
    const char *t[] = {guarded, guarded};
    size_t len[] = {KSE_NUL_TERMINATED, strlen(guarded)};
    return kse_encode(enc, t, len, 2, out, OUT_CAP, NULL, e);
}
static kse_status tok_guard_page(kse_error *e) {
    int32_t ids[64];
    size_t n;
    kse_status s = kse_tokenize(enc, guarded, KSE_NUL_TERMINATED, ids, 64, &n, e);
    if (s == KSE_OK) out[0] = (float)n; /* marks "written" for the table */
    return s;
}

static char *ten_mb;
static kse_status enc_10mb(kse_error *e) {
    const char *t[] = {ten_mb, "짧은 문장"};
    kse_encode_stats st;
    kse_status s = kse_encode(enc, t, NULL, 2, out, OUT_CAP, &st, e);
    if (s == KSE_OK && st.truncated != 1) {
        snprintf(e->message, sizeof e->message, "expected 1 truncated text, stats say %zu", st.truncated);
        return KSE_ERR_INTERNAL;
    }
    return s;
}
/* A short text and the 10 MB one through an encoder with long-input policy `mode`. */
static kse_status encode_10mb_with(kse_truncation mode, kse_encode_stats *st, kse_error *e) {
    kse_options o = tiny_options();
    o.truncation = mode;
    kse_encoder *x;
    kse_status s = kse_create(&o, &x, e);
    if (s != KSE_OK) return s;
    const char *t[] = {"짧은 문장", ten_mb};
    s = kse_encode(x, t, NULL, 2, out, OUT_CAP, st, e);
    kse_free(x);
    return s;
}
static kse_status enc_10mb_no_truncation(kse_error *e) { return encode_10mb_with(KSE_TRUNCATION_ERROR, NULL, e); }

#define MANY 100000
static kse_status enc_100k(kse_error *e) {
    static const char *t[MANY];
    static const char *const words[] = {"가", "고양이가 잔다.", "", "한 남자가 기타를 치고 있다. 여자가 노래한다.", "x"};
    for (size_t i = 0; i < MANY; i++) t[i] = words[i % 5];
    float *big = malloc(sizeof(float) * MANY * dim);
    if (!big) return KSE_ERR_INTERNAL;
    for (size_t i = 0; i < MANY * dim; i++) big[i] = CANARY;
    kse_status s = kse_encode(enc, t, NULL, MANY, big, MANY * dim, NULL, e);
    /* Rows equal the same text encoded alone (within float rounding of
     * the padding; every 997th row of each kind is checked). */
    for (size_t i = 0; i < 5 && s == KSE_OK; i++) {
        float one[4096];
        const char *x[] = {words[i]};
        s = kse_encode(enc, x, NULL, 1, one, dim, NULL, e);
        for (size_t k = i; k < MANY && s == KSE_OK; k += 5 * 997)
            for (size_t d = 0; d < dim; d++)
                if (fabsf(one[d] - big[k * dim + d]) > 1e-6f) {
                    snprintf(e->message, sizeof e->message, "row %zu differs from its text alone", k);
                    s = KSE_ERR_INTERNAL;
                    break;
                }
    }
    if (s == KSE_OK) out[0] = big[0];
    free(big);
    return s;
}

/* packed */
static kse_status packed_backwards(kse_error *e) {
    const char data[] = "하나둘";
    size_t off[] = {0, 6, 3};
    return kse_encode_packed(enc, data, off, 2, out, OUT_CAP, NULL, e);
}
static kse_status packed_null_offsets(kse_error *e) {
    return kse_encode_packed(enc, "하나", NULL, 1, out, OUT_CAP, NULL, e);
}
static kse_status packed_bad_utf8(kse_error *e) {
    const char data[] = "하나\xed\xa0\x80";
    size_t off[] = {0, 3, 9};
    return kse_encode_packed(enc, data, off, 2, out, OUT_CAP, NULL, e);
}
static kse_status packed_split_char(kse_error *e) {
    const char data[] = "하나";
    size_t off[] = {0, 2, 6}; /* cuts 하 in the middle */
    return kse_encode_packed(enc, data, off, 2, out, OUT_CAP, NULL, e);
}

/* tokenize */
static kse_status tok_null_out_count(kse_error *e) {
    int32_t ids[8];
    return kse_tokenize(enc, "하나", KSE_NUL_TERMINATED, ids, 8, NULL, e);
}
static kse_status tok_bad_utf8(kse_error *e) {
    int32_t ids[8];
    size_t n;
    return kse_tokenize(enc, "\xc0\xaf", KSE_NUL_TERMINATED, ids, 8, &n, e);
}
static kse_status tok_null_handle(kse_error *e) {
    int32_t ids[8];
    size_t n;
    return kse_tokenize(NULL, "하나", KSE_NUL_TERMINATED, ids, 8, &n, e);
}

/* long inputs: chunks, token counts, windows (docs/long-inputs.md) */
static const char DOC[] = "첫 문장이다. 두 번째 문장은 조금 더 길다! 세 번째는 질문일까?\n마지막 줄.";
static size_t n_chunks;
static kse_status chunks_call(const char *text, size_t len, size_t tokens, size_t overlap, size_t cap, float *o, size_t ocap,
                              kse_error *e) {
    n_chunks = 4242;
    return kse_encode_chunks(enc, text, len, tokens, overlap, cap ? chunk_buf : NULL, cap, o, ocap, &n_chunks, e);
}
static kse_status chunks_ok(kse_error *e) {
    kse_status s = chunks_call(DOC, KSE_NUL_TERMINATED, 12, 2, CHUNK_CAP, out, OUT_CAP, e);
    for (size_t i = 0; s == KSE_OK && i < n_chunks; i++) /* inside the text, in order */
        if (chunk_buf[i].end > strlen(DOC) || chunk_buf[i].start >= chunk_buf[i].end ||
            (i > 0 && chunk_buf[i].end <= chunk_buf[i - 1].end) || chunk_buf[i].tokens > 12) {
            snprintf(e->message, sizeof e->message, "chunk %zu out of place", i);
            s = KSE_ERR_INTERNAL;
        }
    return s == KSE_OK && n_chunks < 3 ? KSE_ERR_INTERNAL : s;
}
static kse_status chunks_null_count(kse_error *e) {
    return kse_encode_chunks(enc, DOC, KSE_NUL_TERMINATED, 0, 0, chunk_buf, CHUNK_CAP, out, OUT_CAP, NULL, e);
}
static kse_status chunks_bad_utf8(kse_error *e) { return chunks_call("문장 \xed\xa0\x80", KSE_NUL_TERMINATED, 0, 0, CHUNK_CAP, out, OUT_CAP, e); }
static kse_status chunks_empty(kse_error *e) {
    kse_status s = chunks_call("", 0, 0, 0, CHUNK_CAP, out, OUT_CAP, e);
    return s == KSE_OK && n_chunks != 0 ? KSE_ERR_INTERNAL : s;
}
static kse_status chunks_null_empty(kse_error *e) {
    kse_status s = chunks_call(NULL, 0, 0, 0, 0, NULL, 0, e);
    return s == KSE_OK && n_chunks != 0 ? KSE_ERR_INTERNAL : s;
}
static kse_status chunks_blank(kse_error *e) {
    kse_status s = chunks_call(" \n\t\xe3\x80\x80 ", KSE_NUL_TERMINATED, 0, 0, CHUNK_CAP, out, OUT_CAP, e);
    return s == KSE_OK && n_chunks != 0 ? KSE_ERR_INTERNAL : s;
}
static kse_status chunks_nul(kse_error *e) { return chunks_call("가\0나 다", 11, 0, 0, CHUNK_CAP, out, OUT_CAP, e); }
static kse_status chunks_too_big(kse_error *e) { return chunks_call(DOC, KSE_NUL_TERMINATED, 513, 0, CHUNK_CAP, out, OUT_CAP, e); }
static kse_status chunks_no_room(kse_error *e) { return chunks_call(DOC, KSE_NUL_TERMINATED, 5, 0, CHUNK_CAP, out, OUT_CAP, e); }
static kse_status chunks_overlap(kse_error *e) { return chunks_call(DOC, KSE_NUL_TERMINATED, 12, 7, CHUNK_CAP, out, OUT_CAP, e); }
static kse_status chunks_sizing(kse_error *e) {
    kse_status s = chunks_call(DOC, KSE_NUL_TERMINATED, 12, 0, 0, NULL, 0, e);
    return s == KSE_ERR_BUFFER_TOO_SMALL && (n_chunks < 3 || n_chunks > CHUNK_CAP) ? KSE_ERR_INTERNAL : s;
}
static kse_status chunks_one_short(kse_error *e) {
    kse_error probe;
    chunks_call(DOC, KSE_NUL_TERMINATED, 12, 0, 0, NULL, 0, &probe);
    return chunks_call(DOC, KSE_NUL_TERMINATED, 12, 0, n_chunks - 1, out, OUT_CAP, e);
}
static kse_status chunks_out_short(kse_error *e) {
    kse_error probe;
    chunks_call(DOC, KSE_NUL_TERMINATED, 12, 0, 0, NULL, 0, &probe);
    return chunks_call(DOC, KSE_NUL_TERMINATED, 12, 0, CHUNK_CAP, out, n_chunks * dim - 1, e);
}
static kse_status chunks_out_null(kse_error *e) { return chunks_call(DOC, KSE_NUL_TERMINATED, 12, 0, CHUNK_CAP, NULL, OUT_CAP, e); }
static kse_status chunks_ranges_only(kse_error *e) {
    kse_status s = chunks_call(DOC, KSE_NUL_TERMINATED, 12, 0, CHUNK_CAP, NULL, 0, e);
    if (s == KSE_OK && (!out_intact() || n_chunks < 3 || chunk_buf[0].start != 0)) return KSE_ERR_INTERNAL;
    out[0] = 0; /* the chunks were written: mark it for run_case */
    return s;
}
static kse_status chunks_10mb(kse_error *e) {
    size_t cap = 1u << 16;
    kse_chunk *c = malloc(cap * sizeof *c);
    size_t n;
    kse_status s = kse_encode_chunks(enc, ten_mb, KSE_NUL_TERMINATED, 0, 32, c, cap, NULL, 0, &n, e);
    for (size_t i = 1; s == KSE_OK && i < n; i++)
        if (c[i].start <= c[i - 1].start || c[i].end <= c[i - 1].end || c[i].end > strlen(ten_mb)) s = KSE_ERR_INTERNAL;
    if (s == KSE_OK && n < 1000) s = KSE_ERR_INTERNAL;
    free(c);
    out[0] = 0;
    return s;
}
static kse_status count_null(kse_error *e) { return kse_count_tokens(enc, DOC, KSE_NUL_TERMINATED, NULL, e); }
static kse_status count_bad_utf8(kse_error *e) {
    size_t n;
    return kse_count_tokens(enc, "\xc0\xaf", KSE_NUL_TERMINATED, &n, e);
}
static kse_status count_10mb(kse_error *e) {
    size_t n = 0;
    kse_status s = kse_count_tokens(enc, ten_mb, KSE_NUL_TERMINATED, &n, e);
    return s == KSE_OK && n < 1000000 ? KSE_ERR_INTERNAL : s;
}
static kse_status window_overlap_too_big(kse_error *e) {
    kse_options o = tiny_options();
    o.truncation = KSE_WINDOW;
    o.window_overlap = 507; /* 512 max tokens less 5 special and prefix tokens */
    kse_encoder *w = NULL;
    kse_status s = kse_create(&o, &w, e);
    kse_free(w);
    return s;
}
static kse_status window_10mb(kse_error *e) {
    kse_encode_stats st;
    kse_status s = encode_10mb_with(KSE_WINDOW, &st, e);
    if (s == KSE_OK && (st.windowed != 1 || st.windows < 1000 || st.truncated != 0)) {
        snprintf(e->message, sizeof e->message, "stats: %zu windowed, %zu windows", st.windowed, st.windows);
        return KSE_ERR_INTERNAL;
    }
    return s;
}
/* A program built against the kse 0.1 header: its kse_options is the first
 * layout and its kse_encode_stats has two fields; kse writes no more. */
static kse_status stats_v1_not_overrun(kse_error *e) {
    kse_options o = tiny_options();
    o.struct_size = (uint32_t)offsetof(kse_options, window_overlap);
    kse_encoder *old;
    kse_status s = kse_create(&o, &old, e);
    if (s != KSE_OK) return s;
    size_t stats[4] = {7, 7, 4242, 4242};
    s = kse_encode(old, TWO, NULL, 2, out, OUT_CAP, (kse_encode_stats *)stats, e);
    kse_free(old);
    if (s == KSE_OK && (stats[2] != 4242 || stats[3] != 4242 || stats[0] == 7)) {
        snprintf(e->message, sizeof e->message, "a 2-field stats struct was overrun");
        return KSE_ERR_INTERNAL;
    }
    return s;
}

/* handles */
static kse_status enc_freed_handle(kse_error *e) {
    kse_options o = tiny_options();
    kse_encoder *h;
    kse_status s = kse_create(&o, &h, e);
    if (s != KSE_OK) return s;
    kse_free(h);
    return kse_encode(h, TWO, NULL, 2, out, OUT_CAP, NULL, e);
}
static kse_status enc_foreign_handle(kse_error *e) {
    static char not_an_encoder[256];
    return kse_encode((const kse_encoder *)not_an_encoder, TWO, NULL, 2, out, OUT_CAP, NULL, e);
}

/* ----------------------------------------------------------- create cases */

static kse_encoder *created;
static kse_status create_dir(const char *dir, const char *ort, kse_error *e) {
    kse_options o;
    KSE_OPTIONS_INIT(&o);
    o.model_dir = dir;
    o.ort_library_path = ort;
    created = (kse_encoder *)(uintptr_t)0x1234; /* must be reset to NULL on failure */
    kse_status s = kse_create(&o, &created, e);
    if (s == KSE_OK) {
        kse_free(created);
        out[0] = 0.0f;
    } else if (created != NULL) {
        snprintf(e->message, sizeof e->message, "kse_create failed but did not set *out to NULL");
        return KSE_ERR_INTERNAL;
    }
    return s;
}
static char path_buf[4096];
static const char *broken_dir(const char *name) {
    snprintf(path_buf, sizeof path_buf, "%s/%s", broken, name);
    return path_buf;
}
static kse_status create_null_options(kse_error *e) { return kse_create(NULL, &created, e); }
static kse_status create_null_out(kse_error *e) {
    kse_options o;
    KSE_OPTIONS_INIT(&o);
    return kse_create(&o, NULL, e);
}
static kse_status create_size(size_t size, kse_error *e) {
    kse_options o;
    KSE_OPTIONS_INIT(&o);
    o.struct_size = size;
    created = NULL;
    return kse_create(&o, &created, e);
}
static kse_status create_size_0(kse_error *e) { return create_size(0, e); }
static kse_status create_size_small(kse_error *e) { return create_size(8, e); }
static kse_status create_size_big(kse_error *e) { return create_size(sizeof(kse_options) + 8, e); }
static kse_status create_reserved(kse_error *e) {
    kse_options o = tiny_options();
    o.reserved = 1;
    return kse_create(&o, &created, e);
}
static kse_status create_reserved2(kse_error *e) {
    kse_options o = tiny_options();
    o.reserved2 = 1;
    return kse_create(&o, &created, e);
}
static kse_status create_bad_truncation(kse_error *e) {
    kse_options o = tiny_options();
    o.truncation = 7;
    return kse_create(&o, &created, e);
}
static kse_status create_zero_sessions(kse_error *e) {
    kse_options o = tiny_options();
    o.sessions = 0;
    return kse_create(&o, &created, e);
}
static kse_status create_missing(kse_error *e) { return create_dir(broken_dir("does-not-exist"), NULL, e); }
static kse_status create_no_manifest(kse_error *e) { return create_dir(broken_dir("no-manifest"), NULL, e); }
static kse_status create_corrupt_graph(kse_error *e) { return create_dir(broken_dir("corrupt-graph"), NULL, e); }
static kse_status create_empty_graph(kse_error *e) { return create_dir(broken_dir("empty-graph"), NULL, e); }
static kse_status create_missing_data(kse_error *e) { return create_dir(broken_dir("missing-weights"), NULL, e); }
static kse_status create_truncated_tokenizer(kse_error *e) { return create_dir(broken_dir("truncated-tokenizer"), NULL, e); }
static kse_status create_dim(kse_error *e) { return create_dir(broken_dir("wrong-dim"), NULL, e); }
static kse_status create_vocab(kse_error *e) { return create_dir(broken_dir("vocab-exceeds-embeddings"), NULL, e); }
static kse_status create_bad_json(kse_error *e) { return create_dir(broken_dir("manifest-not-json"), NULL, e); }
static kse_status create_bad_output(kse_error *e) { return create_dir(broken_dir("wrong-output-name"), NULL, e); }
static kse_status create_file_as_dir(kse_error *e) { return create_dir(broken_dir("a-file"), NULL, e); }

/* Runtime cases, each in a forked child (see the top). */
static kse_status create_ort_missing(kse_error *e) {
    return create_dir(tiny_dir, "/nonexistent/libonnxruntime.so.1", e);
}
static kse_status create_ort_old(kse_error *e) {
    return create_dir(tiny_dir, fake_ort, e);
}
static kse_status create_ort_not_a_library(kse_error *e) {
    return create_dir(tiny_dir, broken_dir("a-file"), e);
}

/* Runs `c` in a child process and reports its result through a pipe. */
static void run_forked(const bad_case *c) {
    int fd[2];
    if (pipe(fd) != 0) {
        perror("pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        kse_error err;
        memset(&err, 0, sizeof err);
        fill_canary();
        kse_status s = c->call(&err);
        int intact = canary_intact();
        if (write(fd[1], &s, sizeof s) < 0 || write(fd[1], &intact, sizeof intact) < 0 ||
            write(fd[1], &err, sizeof err) < 0)
            _exit(3);
        _exit(0);
    }
    close(fd[1]);
    kse_status s = -1;
    int intact = 0, status = 0;
    kse_error err;
    memset(&err, 0, sizeof err);
    ssize_t r1 = read(fd[0], &s, sizeof s), r2 = read(fd[0], &intact, sizeof intact), r3 = read(fd[0], &err, sizeof err);
    close(fd[0]);
    waitpid(pid, &status, 0);
    cases++;
    int ok = r1 == sizeof s && r2 == sizeof intact && r3 == sizeof err && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
             s == c->want && err.status == s && intact && err.message[0] && strstr(err.message, c->message_has);
    if (!ok) {
        failures++;
        printf("FAIL  %-46s got %s (child exit %d), want %s; message: %.200s\n", c->name, kse_status_name(s),
               WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status), kse_status_name(c->want), err.message);
    } else {
        printf("ok    %-46s %-28s %8s     %.150s\n", c->name, kse_status_name(s), "(child)", err.message);
    }
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s TEST_MODELS_DIR BROKEN_MODELS_DIR FAKE_OLD_ORT\n", argv[0]);
        return 2;
    }
    models = argv[1];
    broken = argv[2];
    fake_ort = argv[3];
    snprintf(tiny_dir, sizeof tiny_dir, "%s/tiny-e5", models);

    static const bad_case runtime_cases[] = {
        {"ONNX Runtime library missing", create_ort_missing, KSE_ERR_RUNTIME_UNAVAILABLE, "/nonexistent/libonnxruntime.so.1", 0},
        {"ONNX Runtime too old (1.20)", create_ort_old, KSE_ERR_RUNTIME_UNAVAILABLE, "1.20", 0},
        {"ONNX Runtime path is not a library", create_ort_not_a_library, KSE_ERR_RUNTIME_UNAVAILABLE, "a-file", 0},
    };
    for (size_t i = 0; i < sizeof runtime_cases / sizeof *runtime_cases; i++) run_forked(&runtime_cases[i]);

    /* From here on ONNX Runtime is loaded in this process. */
    kse_options o = tiny_options();
    o.intra_threads = 1;
    kse_error err;
    if (kse_create(&o, &enc, &err) != KSE_OK) {
        fprintf(stderr, "cannot load %s: %s\n", tiny_dir, err.message);
        return 1;
    }
    dim = kse_dim(enc);
    if (dim * 2 > OUT_CAP || dim > 4096) {
        fprintf(stderr, "tiny-e5 is wider than this test expects (%zu)\n", dim);
        return 1;
    }

    long page = sysconf(_SC_PAGESIZE);
    char *pages = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pages == MAP_FAILED || mprotect(pages + page, page, PROT_NONE) != 0) {
        perror("mmap");
        return 1;
    }
    const char *g = "경계에 닿은 문장";
    guarded = pages + page - strlen(g) - 1;
    memcpy(guarded, g, strlen(g) + 1);

    size_t big = 10u << 20;
    ten_mb = malloc(big + 1);
    const char *unit = "한국어 문장이 아주 길게 이어진다. "; /* 52 bytes */
    for (size_t i = 0; i < big; i++) ten_mb[i] = unit[i % strlen(unit)];
    /* end on a whole character: back up to a character boundary */
    size_t end = big;
    while (end > 0 && ((unsigned char)ten_mb[end] & 0xC0) == 0x80) end--;
    ten_mb[end] = '\0';

    static const bad_case encode_cases[] = {
        {"encode: NULL handle", enc_null_handle, KSE_ERR_INVALID_ARGUMENT, "handle is NULL", 0},
        {"encode: NULL text array", enc_null_texts, KSE_ERR_INVALID_ARGUMENT, "texts", 0},
        {"encode: NULL output", enc_null_out, KSE_ERR_INVALID_ARGUMENT, "out", 0},
        {"encode: NULL element", enc_null_element, KSE_ERR_INVALID_ARGUMENT, "text 1", 0},
        {"encode: NULL element with length 3", enc_null_element_len, KSE_ERR_INVALID_ARGUMENT, "text 1", 0},
        {"encode: n = 0", enc_n0, KSE_OK, NULL, 0},
        {"encode: n = 0 with NULL arrays", enc_n0_nulls, KSE_OK, NULL, 0},
        {"encode: output one float short", enc_small_out, KSE_ERR_BUFFER_TOO_SMALL, "need", 0},
        {"encode: n = SIZE_MAX/2", enc_huge_n, KSE_ERR_INVALID_ARGUMENT, NULL, 0},
        {"encode: length SIZE_MAX-1", enc_huge_len, KSE_ERR_INVALID_ARGUMENT, "text 0", 0},
        {"encode: embedded NUL, explicit length", enc_embedded_nul, KSE_OK, NULL, 1},
        {"encode: empty, blank, ideographic space", enc_empty_and_blank, KSE_OK, NULL, 1},
        {"encode: NUL-terminated text at a page end", enc_guard_page, KSE_OK, NULL, 1},
        {"tokenize: NUL-terminated text at a page end", tok_guard_page, KSE_OK, NULL, 1},
        {"encode: 10 MB text (truncated, counted)", enc_10mb, KSE_OK, NULL, 1},
        {"encode: 10 MB text, truncation off", enc_10mb_no_truncation, KSE_ERR_INPUT_TOO_LONG, "text 1 has", 0},
        {"encode: 100,000 texts in one call", enc_100k, KSE_OK, NULL, 1},
        {"encode: freed handle", enc_freed_handle, KSE_ERR_INVALID_HANDLE, "handle", 0},
        {"encode: pointer that is no handle", enc_foreign_handle, KSE_ERR_INVALID_HANDLE, "handle", 0},
        {"packed: offsets going backwards", packed_backwards, KSE_ERR_INVALID_ARGUMENT, "offsets[2]", 0},
        {"packed: NULL offsets", packed_null_offsets, KSE_ERR_INVALID_ARGUMENT, "offsets", 0},
        {"packed: surrogate in text 1", packed_bad_utf8, KSE_ERR_INVALID_UTF8, "text 1", 0},
        {"packed: offset inside a character", packed_split_char, KSE_ERR_INVALID_UTF8, "text 0", 0},
        {"tokenize: NULL count pointer", tok_null_out_count, KSE_ERR_INVALID_ARGUMENT, "n_ids", 0},
        {"tokenize: overlong '/'", tok_bad_utf8, KSE_ERR_INVALID_UTF8, "offset 0", 0},
        {"tokenize: NULL handle", tok_null_handle, KSE_ERR_INVALID_ARGUMENT, "handle is NULL", 0},
        {"chunks: sentence chunks of 12 tokens", chunks_ok, KSE_OK, NULL, 1},
        {"chunks: NULL n_chunks", chunks_null_count, KSE_ERR_INVALID_ARGUMENT, "n_chunks", 0},
        {"chunks: surrogate in the document", chunks_bad_utf8, KSE_ERR_INVALID_UTF8, "offset 7", 0},
        {"chunks: empty document", chunks_empty, KSE_OK, NULL, 0},
        {"chunks: NULL empty document, NULL buffers", chunks_null_empty, KSE_OK, NULL, 0},
        {"chunks: whitespace-only document", chunks_blank, KSE_OK, NULL, 0},
        {"chunks: NUL byte inside, explicit length", chunks_nul, KSE_OK, NULL, 1},
        {"chunks: chunk_tokens over max tokens", chunks_too_big, KSE_ERR_INVALID_ARGUMENT, "max tokens (512)", 0},
        {"chunks: chunk_tokens = special + prefix", chunks_no_room, KSE_ERR_INVALID_ARGUMENT, "take 5", 0},
        {"chunks: overlap >= text tokens per chunk", chunks_overlap, KSE_ERR_INVALID_ARGUMENT, "overlap 7", 0},
        {"chunks: sizing call (NULL, 0)", chunks_sizing, KSE_ERR_BUFFER_TOO_SMALL, "chunks", 0},
        {"chunks: chunk array one short", chunks_one_short, KSE_ERR_BUFFER_TOO_SMALL, "chunks_capacity", 0},
        {"chunks: output one float short", chunks_out_short, KSE_ERR_BUFFER_TOO_SMALL, "need", 0},
        {"chunks: NULL output with a capacity", chunks_out_null, KSE_ERR_INVALID_ARGUMENT, "out", 0},
        {"chunks: ranges only (out NULL, 0)", chunks_ranges_only, KSE_OK, NULL, 1},
        {"chunks: 10 MB document, ranges only", chunks_10mb, KSE_OK, NULL, 1},
        {"count_tokens: NULL count pointer", count_null, KSE_ERR_INVALID_ARGUMENT, "n_tokens", 0},
        {"count_tokens: overlong '/'", count_bad_utf8, KSE_ERR_INVALID_UTF8, "offset 0", 0},
        {"count_tokens: 10 MB text", count_10mb, KSE_OK, NULL, 0},
        {"window: overlap >= window (create)", window_overlap_too_big, KSE_ERR_INVALID_ARGUMENT, "window_overlap", 0},
        {"window: 10 MB text in windows, counted", window_10mb, KSE_OK, NULL, 1},
        {"stats: kse 0.1 caller's struct not overrun", stats_v1_not_overrun, KSE_OK, NULL, 1},
    };
    for (size_t i = 0; i < sizeof encode_cases / sizeof *encode_cases; i++) run_case(&encode_cases[i]);

    static const struct {
        const char *what;
        const char *bytes;
    } utf8[] = {
        {"lone continuation byte", "ab\x80"},
        {"continuation bytes only", "\xbf\xbf"},
        {"overlong '/' (2 bytes)", "\xc0\xaf"},
        {"overlong '/' (3 bytes)", "\xe0\x80\xaf"},
        {"overlong NUL (2 bytes)", "\xc0\x80"},
        {"overlong (4 bytes)", "\xf0\x80\x80\xaf"},
        {"surrogate U+D800", "\xed\xa0\x80"},
        {"surrogate U+DFFF", "\xed\xbf\xbf"},
        {"surrogate pair as CESU-8", "\xed\xa0\xbd\xed\xb8\x80"},
        {"above U+10FFFF", "\xf4\x90\x80\x80"},
        {"5-byte form", "\xf8\x88\x80\x80\x80"},
        {"byte 0xFF", "\xff"},
        {"byte 0xFE", "\xfe"},
        {"truncated 3-byte (end)", "가\xea\xb0"},
        {"truncated 4-byte (end)", "\xf0\x9f\x98"},
        {"truncated then ASCII", "\xea\xb0z"},
        {"Latin-1 text", "caf\xe9"},
        {"EUC-KR text", "\xc7\xd1\xb1\xb9\xbe\xee"},
    };
    for (size_t i = 0; i < sizeof utf8 / sizeof *utf8; i++) {
        char name[80];
        snprintf(name, sizeof name, "encode: invalid UTF-8: %s", utf8[i].what);
        utf8_text = utf8[i].bytes;
        bad_case c = {name, enc_one_bad_utf8, KSE_ERR_INVALID_UTF8, "text 1", 0};
        run_case(&c);
    }

    static const bad_case create_cases[] = {
        {"create: NULL options", create_null_options, KSE_ERR_INVALID_ARGUMENT, "NULL", 0},
        {"create: NULL out", create_null_out, KSE_ERR_INVALID_ARGUMENT, "out", 0},
        {"create: struct_size 0", create_size_0, KSE_ERR_UNSUPPORTED_VERSION, "struct_size", 0},
        {"create: struct_size 8 (unknown)", create_size_small, KSE_ERR_UNSUPPORTED_VERSION, "struct_size", 0},
        {"create: struct_size larger than known", create_size_big, KSE_ERR_UNSUPPORTED_VERSION, "struct_size", 0},
        {"create: reserved field set", create_reserved, KSE_ERR_INVALID_ARGUMENT, "reserved", 0},
        {"create: reserved2 field set", create_reserved2, KSE_ERR_INVALID_ARGUMENT, "reserved2", 0},
        {"create: unknown truncation mode", create_bad_truncation, KSE_ERR_INVALID_ARGUMENT, "truncation", 0},
        {"create: 0 sessions", create_zero_sessions, KSE_ERR_INVALID_ARGUMENT, "sessions", 0},
        {"create: model directory missing", create_missing, KSE_ERR_MODEL_NOT_FOUND, "does-not-exist", 0},
        {"create: model directory is a file", create_file_as_dir, KSE_ERR_MODEL_NOT_FOUND, "a-file", 0},
        {"create: no kse.json", create_no_manifest, KSE_ERR_MODEL_NOT_FOUND, "kse.json", 0},
        {"create: kse.json not JSON", create_bad_json, KSE_ERR_MODEL_INVALID, "kse.json", 0},
        {"create: corrupt model.onnx", create_corrupt_graph, KSE_ERR_MODEL_INVALID, "model.onnx", 0},
        {"create: empty model.onnx", create_empty_graph, KSE_ERR_MODEL_INVALID, "model.onnx", 0},
        {"create: external weights file missing", create_missing_data, KSE_ERR_MODEL_INVALID, "model.onnx", 0},
        {"create: truncated tokenizer.json", create_truncated_tokenizer, KSE_ERR_MODEL_INVALID, "tokenizer", 0},
        {"create: manifest dim disagrees with graph", create_dim, KSE_ERR_MODEL_INVALID, "dim", 0},
        {"create: tokenizer ids beyond embedding rows", create_vocab, KSE_ERR_MODEL_INVALID, "rows", 0},
        {"create: output name not in graph", create_bad_output, KSE_ERR_MODEL_INVALID, "no_such_output", 0},
    };
    for (size_t i = 0; i < sizeof create_cases / sizeof *create_cases; i++) run_case(&create_cases[i]);

    /* The encoder still works after all of that. */
    fill_canary();
    kse_status s = kse_encode(enc, TWO, NULL, 2, out, OUT_CAP, NULL, &err);
    cases++;
    if (s != KSE_OK || canary_intact()) {
        failures++;
        printf("FAIL  encoder unusable after the bad inputs: %s\n", err.message);
    }
    kse_free(enc);
    free(ten_mb);
    munmap(pages, 2 * page);
    printf("test_bad_input: %d cases, %d failed\n", cases, failures);
    return failures ? 1 : 0;
}
