/*
 * Tests of the C API as a C program sees it: compiled with gcc against
 * include/kse.h, linked with libkse.so.
 *
 *   test_c_api MODEL_DIR               the API contract on one model
 *   test_c_api --no-runtime MODEL_DIR  a missing, bad or too old ONNX Runtime
 *                                      (KSE_TEST_OLD_ORT names a fake old one; run
 *                                      in a fresh process: the first good load is final)
 */
#define _POSIX_C_SOURCE 200809L /* setenv, strdup */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kse.h"

static int failures = 0;
static int checks = 0;

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        checks++;                                                           \
        if (!(cond)) {                                                      \
            failures++;                                                     \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                   \
            fprintf(stderr, "\n");                                          \
        }                                                                   \
    } while (0)

#define CHECK_STATUS(got, want, err)                                               \
    CHECK((got) == (want), "got %s, want %s (%s)", kse_status_name(got), kse_status_name(want), \
          (err).message)

static const char *const SENTENCES[] = {
    "다만, 도로와 인접해서 거리의 소음이 들려요.",
    "형이 다시 캐나다 들어가야 하니 가족모임 일정은 바꾸지 마세요.",
    "방안에 필요한 시설이 모두 있어서 매우 편리합니다.",
    "관광자원화 검토를 모범적으로 적용한 지자체에는 홍보·컨설팅, 관광상품 개발 지원 등을 제공할 계획이다.",
    "하지만, 길과 가깝기 때문에 거리의 소음을 들을 수 있습니다.",
    "가족 모임 일정은 바꾸지 말도록 하십시오.",
    "특히, 숙소 근처에 안전한 실내 주차장이 있어서 편리합니다.",
    "아울러 지자체, 지역관광협회 등과 함께 수시로 관광지 현장을 점검할 계획이다.",
};
#define N_SENT 8

static kse_status create(const char *model_dir, uint32_t truncation, kse_encoder **enc, kse_error *err) {
    kse_options o;
    KSE_OPTIONS_INIT(&o);
    o.model_dir = model_dir;
    o.truncation = truncation;
    o.intra_threads = 1;
    o.sessions = 2;
    return kse_create(&o, enc, err);
}

static float max_abs_diff(const float *a, const float *b, size_t n) {
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (d > m) m = d;
    }
    return m;
}

static int all_equal_to(const float *a, size_t n, float v) {
    for (size_t i = 0; i < n; i++)
        if (a[i] != v) return 0;
    return 1;
}

struct thread_arg {
    const kse_encoder *enc;
    const float *expected;
    size_t dim;
    int bad;
};

static void *encode_many(void *p) {
    struct thread_arg *a = p;
    float *out = malloc(N_SENT * a->dim * sizeof(float));
    kse_error err;
    for (int round = 0; round < 20; round++) {
        if (kse_encode(a->enc, SENTENCES, NULL, N_SENT, out, N_SENT * a->dim, NULL, &err) != KSE_OK ||
            max_abs_diff(out, a->expected, N_SENT * a->dim) > 1e-6f)
            a->bad++;
    }
    free(out);
    return NULL;
}

static void test_create_errors(const char *model_dir) {
    kse_encoder *enc = (kse_encoder *)&enc; /* must be reset to NULL on failure */
    kse_error err;
    kse_status s = kse_create(NULL, &enc, &err);
    CHECK_STATUS(s, KSE_ERR_INVALID_ARGUMENT, err);
    CHECK(enc == NULL, "out not reset on failure");
    CHECK(err.status == s, "err.status mirrors the return value");

    kse_options o;
    CHECK(KSE_OPTIONS_INIT(&o) == KSE_OK, "options init");
    CHECK(o.struct_size == sizeof o && o.sessions == 1 && o.model_dir == NULL, "defaults");
    o.model_dir = model_dir;
    s = kse_create(&o, NULL, &err);
    CHECK_STATUS(s, KSE_ERR_INVALID_ARGUMENT, err);

    /* Options from an older or newer kse.h than this library knows. */
    o.struct_size = 12;
    s = kse_create(&o, &enc, &err);
    CHECK_STATUS(s, KSE_ERR_UNSUPPORTED_VERSION, err);
    CHECK(strstr(err.message, "struct_size") != NULL, "message names struct_size: %s", err.message);
    o.struct_size = sizeof o + 8;
    s = kse_create(&o, &enc, &err);
    CHECK_STATUS(s, KSE_ERR_UNSUPPORTED_VERSION, err);
    CHECK(kse_options_init(&o, 12) == KSE_ERR_UNSUPPORTED_VERSION, "init with an unknown size");
    CHECK(kse_options_init(NULL, sizeof o) == KSE_ERR_INVALID_ARGUMENT, "init NULL");

    KSE_OPTIONS_INIT(&o);
    o.model_dir = model_dir;
    o.reserved = 1;
    s = kse_create(&o, &enc, &err);
    CHECK_STATUS(s, KSE_ERR_INVALID_ARGUMENT, err);

    /* model_dir NULL: the default model, $KSE_MODEL_DIR first */
    KSE_OPTIONS_INIT(&o);
    char *saved = getenv("KSE_MODEL_DIR") ? strdup(getenv("KSE_MODEL_DIR")) : NULL;
    setenv("KSE_MODEL_DIR", model_dir, 1);
    s = kse_create(&o, &enc, &err);
    CHECK_STATUS(s, KSE_OK, err);
    kse_free(enc);
    setenv("KSE_MODEL_DIR", "/nonexistent/kse-default", 1);
    s = kse_create(&o, &enc, &err);
    CHECK_STATUS(s, KSE_ERR_MODEL_NOT_FOUND, err);
    CHECK(strstr(err.message, "/nonexistent/kse-default") != NULL, "message names the directory: %s", err.message);
    if (saved) {
        setenv("KSE_MODEL_DIR", saved, 1);
        free(saved);
    } else {
        unsetenv("KSE_MODEL_DIR");
    }

    o.model_dir = "/nonexistent/kse-model";
    s = kse_create(&o, &enc, &err);
    CHECK_STATUS(s, KSE_ERR_MODEL_NOT_FOUND, err);
    CHECK(strstr(err.message, "/nonexistent/kse-model") != NULL, "message names the path: %s", err.message);

    o.model_dir = model_dir;
    o.sessions = 0;
    s = kse_create(&o, &enc, &err);
    CHECK_STATUS(s, KSE_ERR_INVALID_ARGUMENT, err);

    KSE_OPTIONS_INIT(&o);
    o.model_dir = model_dir;
    o.truncation = 7;
    s = kse_create(&o, &enc, &err);
    CHECK_STATUS(s, KSE_ERR_INVALID_ARGUMENT, err);

    s = kse_create(&o, &enc, NULL); /* err may be NULL */
    CHECK(s == KSE_ERR_INVALID_ARGUMENT, "NULL err still returns the status");
}

/*
 * The first kse_options layout, copied from kse.h of kse 0.1 and frozen here:
 * a program compiled against that header must keep working with every later
 * library, whatever fields kse_options gains. Never edit this struct.
 */
typedef struct {
    uint32_t struct_size;
    uint32_t intra_threads;
    uint32_t sessions;
    uint32_t batch_tokens;
    uint32_t truncation;
    uint32_t reserved;
    const char *model_dir;
    const char *ort_library_path;
} options_v1;

static void test_options_v1(const char *model_dir) {
    options_v1 v1;
    memset(&v1, 0xAB, sizeof v1);
    CHECK(kse_options_init((kse_options *)&v1, sizeof v1) == KSE_OK, "init with the v1 size");
    CHECK(v1.struct_size == sizeof v1 && v1.sessions == 1 && v1.truncation == KSE_TRUNCATE &&
              v1.reserved == 0 && v1.model_dir == NULL && v1.ort_library_path == NULL,
          "v1 defaults");
    v1.model_dir = model_dir;
    kse_encoder *enc = NULL;
    kse_error err;
    kse_status s = kse_create((const kse_options *)&v1, &enc, &err);
    CHECK_STATUS(s, KSE_OK, err);
    if (s != KSE_OK) return;
    size_t dim = kse_dim(enc);
    float *out = malloc(dim * sizeof(float));
    s = kse_encode(enc, SENTENCES, NULL, 1, out, dim, NULL, &err);
    CHECK_STATUS(s, KSE_OK, err);
    free(out);
    kse_free(enc);
    /* A size between two known layouts is no layout at all. */
    v1.struct_size = sizeof v1 - 4;
    s = kse_create((const kse_options *)&v1, &enc, &err);
    CHECK_STATUS(s, KSE_ERR_UNSUPPORTED_VERSION, err);
}

static void test_encode(const char *model_dir) {
    kse_encoder *enc = NULL;
    kse_error err;
    kse_status s = create(model_dir, KSE_TRUNCATE, &enc, &err);
    CHECK_STATUS(s, KSE_OK, err);
    if (s != KSE_OK) return;
    size_t dim = kse_dim(enc);
    CHECK(dim > 0, "dim");
    CHECK(kse_max_tokens(enc) >= 2, "max tokens");
    CHECK(strlen(kse_model_name(enc)) > 0, "model name");

    float *out = malloc(N_SENT * dim * sizeof(float));
    float *one = malloc(dim * sizeof(float));
    kse_encode_stats stats;
    s = kse_encode(enc, SENTENCES, NULL, N_SENT, out, N_SENT * dim, &stats, &err);
    CHECK_STATUS(s, KSE_OK, err);
    CHECK(stats.tokens > N_SENT * 2 && stats.truncated == 0, "stats %zu %zu", stats.tokens, stats.truncated);
    for (int i = 0; i < N_SENT; i++) {
        double norm = 0;
        for (size_t k = 0; k < dim; k++) norm += (double)out[i * dim + k] * out[i * dim + k];
        CHECK(fabs(norm - 1.0) < 1e-5, "row %d has norm^2 %f", i, norm);
    }

    /* One at a time gives the batched vectors. */
    for (int i = 0; i < N_SENT; i++) {
        s = kse_encode(enc, &SENTENCES[i], NULL, 1, one, dim, NULL, &err);
        CHECK_STATUS(s, KSE_OK, err);
        float d = max_abs_diff(one, out + i * dim, dim);
        CHECK(d <= 1e-6f, "sentence %d alone differs from batched by %g", i, d);
    }

    /* Explicit lengths (not NUL-terminated) give the same vectors. */
    size_t lengths[N_SENT];
    char *copies[N_SENT];
    for (int i = 0; i < N_SENT; i++) {
        lengths[i] = strlen(SENTENCES[i]);
        copies[i] = malloc(lengths[i] + 5);
        memcpy(copies[i], SENTENCES[i], lengths[i]);
        memcpy(copies[i] + lengths[i], "XXXXX", 5); /* no NUL: must not be read */
    }
    float *out2 = malloc(N_SENT * dim * sizeof(float));
    s = kse_encode(enc, (const char *const *)copies, lengths, N_SENT, out2, N_SENT * dim, NULL, &err);
    CHECK_STATUS(s, KSE_OK, err);
    CHECK(max_abs_diff(out, out2, N_SENT * dim) == 0.0f, "explicit lengths differ from NUL-terminated");
    lengths[2] = KSE_NUL_TERMINATED;
    copies[2][strlen(SENTENCES[2])] = '\0';
    s = kse_encode(enc, (const char *const *)copies, lengths, N_SENT, out2, N_SENT * dim, NULL, &err);
    CHECK_STATUS(s, KSE_OK, err);
    for (int i = 0; i < N_SENT; i++) free(copies[i]);

    /* Packed texts (one buffer + offsets) give the same vectors. */
    char packed[4096];
    size_t offsets[N_SENT + 1] = {0};
    for (int i = 0; i < N_SENT; i++) {
        size_t len = strlen(SENTENCES[i]);
        memcpy(packed + offsets[i], SENTENCES[i], len);
        offsets[i + 1] = offsets[i] + len;
    }
    s = kse_encode_packed(enc, packed, offsets, N_SENT, out2, N_SENT * dim, NULL, &err);
    CHECK_STATUS(s, KSE_OK, err);
    CHECK(max_abs_diff(out, out2, N_SENT * dim) == 0.0f, "packed texts differ from separate texts");
    size_t bad_offsets[3] = {0, 10, 5};
    s = kse_encode_packed(enc, packed, bad_offsets, 2, out2, N_SENT * dim, NULL, &err);
    CHECK_STATUS(s, KSE_ERR_INVALID_ARGUMENT, err);
    CHECK(strstr(err.message, "offsets[1]") != NULL, "message names offsets[1]: %s", err.message);

    /* A length no buffer can have is an error, not a read. */
    size_t huge[1] = {(size_t)-2};
    s = kse_encode(enc, SENTENCES, huge, 1, one, dim, NULL, &err);
    CHECK_STATUS(s, KSE_ERR_INVALID_ARGUMENT, err);

    /* n == 0 succeeds, writes nothing, accepts NULL arrays. */
    s = kse_encode(enc, NULL, NULL, 0, NULL, 0, &stats, &err);
    CHECK_STATUS(s, KSE_OK, err);
    CHECK(stats.tokens == 0, "n=0 stats");

    /* Buffer too small: error, nothing written. */
    for (size_t i = 0; i < N_SENT * dim; i++) out2[i] = 42.0f;
    s = kse_encode(enc, SENTENCES, NULL, N_SENT, out2, N_SENT * dim - 1, NULL, &err);
    CHECK_STATUS(s, KSE_ERR_BUFFER_TOO_SMALL, err);
    CHECK(all_equal_to(out2, N_SENT * dim, 42.0f), "buffer touched on BUFFER_TOO_SMALL");

    /* NULL pointers. */
    s = kse_encode(NULL, SENTENCES, NULL, 1, one, dim, NULL, &err);
    CHECK_STATUS(s, KSE_ERR_INVALID_ARGUMENT, err);
    s = kse_encode(enc, NULL, NULL, 1, one, dim, NULL, &err);
    CHECK_STATUS(s, KSE_ERR_INVALID_ARGUMENT, err);
    s = kse_encode(enc, SENTENCES, NULL, 1, NULL, dim, NULL, &err);
    CHECK_STATUS(s, KSE_ERR_INVALID_ARGUMENT, err);
    const char *with_null[2] = {SENTENCES[0], NULL};
    s = kse_encode(enc, with_null, NULL, 2, out2, N_SENT * dim, NULL, &err);
    CHECK_STATUS(s, KSE_ERR_INVALID_ARGUMENT, err);
    CHECK(strstr(err.message, "text 1") != NULL, "message names text 1: %s", err.message);
    CHECK(all_equal_to(out2, N_SENT * dim, 42.0f), "buffer touched on NULL element");
    size_t zero_len[2] = {strlen(SENTENCES[0]), 0};
    s = kse_encode(enc, with_null, zero_len, 2, out2, N_SENT * dim, NULL, &err);
    CHECK_STATUS(s, KSE_OK, err); /* NULL with length 0 is the empty text */

    /* Invalid UTF-8: status, message with index and offset, nothing written. */
    const char *bad[] = {"\xff", "ab\x80", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        for (size_t i = 0; i < N_SENT * dim; i++) out2[i] = 42.0f;
        const char *texts[3] = {SENTENCES[0], SENTENCES[1], bad[b]};
        s = kse_encode(enc, texts, NULL, 3, out2, N_SENT * dim, NULL, &err);
        CHECK_STATUS(s, KSE_ERR_INVALID_UTF8, err);
        CHECK(strstr(err.message, "text 2") != NULL, "message names text 2: %s", err.message);
        CHECK(all_equal_to(out2, N_SENT * dim, 42.0f), "buffer touched on invalid UTF-8 case %zu", b);
    }

    /* Embedded NUL with an explicit length, empty and blank texts: valid. */
    const char nul_text[] = "앞\0뒤";
    const char *odd[3] = {nul_text, "", "   \t "};
    size_t odd_len[3] = {sizeof nul_text - 1, 0, 5};
    s = kse_encode(enc, odd, odd_len, 3, out2, N_SENT * dim, NULL, &err);
    CHECK_STATUS(s, KSE_OK, err);

    /* Very long input: truncated and counted. */
    size_t long_len = 300000;
    char *long_text = malloc(long_len + 1);
    for (size_t i = 0; i < long_len; i += 4) memcpy(long_text + i, "가 ", 4); /* words for any tokenizer */
    long_text[long_len] = '\0';
    const char *long_texts[2] = {long_text, SENTENCES[0]};
    s = kse_encode(enc, long_texts, NULL, 2, out2, N_SENT * dim, &stats, &err);
    CHECK_STATUS(s, KSE_OK, err);
    CHECK(stats.truncated == 1, "truncated count %zu", stats.truncated);
    CHECK(max_abs_diff(out2 + dim, out, dim) <= 1e-6f, "a long neighbour changed a short sentence");

    /* Tokenize: count query, then the ids. */
    size_t n_ids = 0;
    s = kse_tokenize(enc, SENTENCES[0], KSE_NUL_TERMINATED, NULL, 0, &n_ids, &err);
    CHECK_STATUS(s, KSE_ERR_BUFFER_TOO_SMALL, err);
    CHECK(n_ids > 2, "token count %zu", n_ids);
    int32_t *ids = malloc(n_ids * sizeof(int32_t));
    size_t n2 = 0;
    s = kse_tokenize(enc, SENTENCES[0], KSE_NUL_TERMINATED, ids, n_ids, &n2, &err);
    CHECK_STATUS(s, KSE_OK, err);
    CHECK(n2 == n_ids, "token counts agree");
    s = kse_tokenize(enc, long_text, long_len, NULL, 0, &n_ids, &err);
    CHECK_STATUS(s, KSE_ERR_BUFFER_TOO_SMALL, err);
    CHECK(n_ids == kse_max_tokens(enc), "long text tokenizes to max tokens (%zu)", n_ids);
    free(ids);

    /* Many threads on one encoder. */
    struct thread_arg args[4];
    pthread_t threads[4];
    for (int t = 0; t < 4; t++) {
        args[t] = (struct thread_arg){enc, out, dim, 0};
        pthread_create(&threads[t], NULL, encode_many, &args[t]);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        CHECK(args[t].bad == 0, "thread %d saw %d wrong results", t, args[t].bad);
    }
    kse_free(enc);

    /* A freed handle is refused, not dereferenced; freeing it again is harmless. */
    s = kse_encode(enc, SENTENCES, NULL, 1, one, dim, NULL, &err);
    CHECK_STATUS(s, KSE_ERR_INVALID_HANDLE, err);
    CHECK(kse_dim(enc) == 0, "kse_dim of a freed handle");
    kse_free(enc);

    /* Truncation off: over-long input is an error. */
    s = create(model_dir, KSE_TRUNCATION_ERROR, &enc, &err);
    CHECK_STATUS(s, KSE_OK, err);
    if (s == KSE_OK) {
        for (size_t i = 0; i < N_SENT * dim; i++) out2[i] = 42.0f;
        s = kse_encode(enc, long_texts, NULL, 2, out2, N_SENT * dim, NULL, &err);
        CHECK_STATUS(s, KSE_ERR_INPUT_TOO_LONG, err);
        CHECK(all_equal_to(out2, N_SENT * dim, 42.0f), "buffer touched on INPUT_TOO_LONG");
        kse_free(enc);
    }
    free(long_text);
    free(out);
    free(out2);
    free(one);
    kse_free(NULL);
    CHECK(kse_dim(NULL) == 0, "kse_dim(NULL)");
}

static void test_no_runtime(const char *model_dir) {
    kse_encoder *enc = NULL;
    kse_error err;
    kse_options o;
    KSE_OPTIONS_INIT(&o);
    o.model_dir = model_dir;
    o.ort_library_path = "/nonexistent/libonnxruntime.so.1";
    kse_status s = kse_create(&o, &enc, &err);
    CHECK_STATUS(s, KSE_ERR_RUNTIME_UNAVAILABLE, err);
    CHECK(strstr(err.message, "/nonexistent/libonnxruntime.so.1") != NULL, "message says where: %s", err.message);

    char not_a_library[4096];
    snprintf(not_a_library, sizeof not_a_library, "%s/kse.json", model_dir);
    o.ort_library_path = not_a_library;
    s = kse_create(&o, &enc, &err);
    CHECK_STATUS(s, KSE_ERR_RUNTIME_UNAVAILABLE, err);
    CHECK(strstr(err.message, "kse.json") != NULL, "message names the file: %s", err.message);

    /* An ONNX Runtime that is too old (tests/c/fake_old_ort.c reports 1.20.0). */
    const char *old = getenv("KSE_TEST_OLD_ORT");
    CHECK(old != NULL, "KSE_TEST_OLD_ORT names the fake old ONNX Runtime");
    if (old != NULL) {
        o.ort_library_path = old;
        s = kse_create(&o, &enc, &err);
        CHECK_STATUS(s, KSE_ERR_RUNTIME_UNAVAILABLE, err);
        CHECK(strstr(err.message, "1.20.0") != NULL, "message names the version found: %s", err.message);
    }

    /* A failed load is not final: the library beside libkse.so still works. */
    o.ort_library_path = NULL;
    s = kse_create(&o, &enc, &err);
    CHECK_STATUS(s, KSE_OK, err);
    kse_free(enc);

    /* Once loaded, the process keeps that ONNX Runtime: naming another is an error. */
    if (old != NULL) {
        o.ort_library_path = old;
        s = kse_create(&o, &enc, &err);
        CHECK_STATUS(s, KSE_ERR_RUNTIME_UNAVAILABLE, err);
        CHECK(strstr(err.message, "already loaded") != NULL, "message says why: %s", err.message);
    }
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--no-runtime") == 0) {
        test_no_runtime(argv[2]);
    } else if (argc == 2) {
        CHECK(kse_version_number() == KSE_VERSION_NUMBER, "header and library versions differ");
        CHECK(kse_abi_version() == KSE_ABI_VERSION, "ABI version");
        CHECK(strcmp(kse_status_name(KSE_ERR_INVALID_UTF8), "KSE_ERR_INVALID_UTF8") == 0, "status name");
        test_create_errors(argv[1]);
        test_options_v1(argv[1]);
        test_encode(argv[1]);
    } else {
        fprintf(stderr, "usage: %s [--no-runtime] MODEL_DIR\n", argv[0]);
        return 2;
    }
    printf("%s: %d checks, %d failures\n", argv[argc - 1], checks, failures);
    return failures ? 1 : 0;
}
