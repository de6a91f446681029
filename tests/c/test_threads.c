/*
 * Concurrency through the C ABI.
 *
 *   test_threads MODEL_DIR [THREADS CALLS [CREATE_THREADS CREATE_ROUNDS]]
 *
 * 1. Encoders created, used and freed by several threads at once, all
 *    starting together (the first creates also race to load ONNX Runtime and
 *    build its one process-wide environment).
 * 2. THREADS threads (default 8) x CALLS calls (default 2,000) on one shared
 *    encoder with 4 sessions, each call 1 to 4 texts of mixed lengths: every
 *    result must equal, bit for bit, the single-threaded result of the same
 *    call, with no error and no deadlock (a watchdog fails the test after
 *    10 minutes).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kse.h"

#define N_CALLS_DISTINCT 64
#define MAX_TEXTS 4

static const char *const POOL[] = {
    "",
    "가",
    "한 남자가 기타를 치고 있다.",
    "다만, 도로와 인접해서 거리의 소음이 들려요.",
    "관광자원화 검토를 모범적으로 적용한 지자체에는 홍보·컨설팅, 관광상품 개발 지원 등을 제공할 계획이다. "
    "아울러 지자체, 지역관광협회 등과 함께 수시로 관광지 현장을 점검할 계획이다.",
    "KorSTS 3.2점, 2026년 11월",
    "고양이가 소파 위에서 잠을 자고 있다. 강아지는 마당에서 뛰어놀고, 아이들은 그 모습을 보며 웃는다. "
    "저녁이 되자 가족들이 모여 함께 식사를 했다. 창밖으로는 비가 내리기 시작했다.",
    "   ",
};
#define POOL_N (sizeof POOL / sizeof *POOL)

typedef struct {
    size_t n;
    const char *texts[MAX_TEXTS];
} call_spec;

static call_spec calls[N_CALLS_DISTINCT];
static float *expected; /* [N_CALLS_DISTINCT][MAX_TEXTS * dim] */
static size_t dim;
static const char *model_dir;
static kse_encoder *shared_enc;
static int n_calls = 2000;

static pthread_barrier_t start;

typedef struct {
    int id;
    long bad, errors, done;
    char first_error[600];
} worker;

static void *encode_worker(void *p) {
    worker *w = p;
    float *out = malloc(sizeof(float) * MAX_TEXTS * dim);
    kse_error err;
    pthread_barrier_wait(&start);
    for (int c = 0; c < n_calls; c++) {
        int k = (w->id * 7 + c * 13) % N_CALLS_DISTINCT;
        const call_spec *cs = &calls[k];
        if (kse_encode(shared_enc, cs->texts, NULL, cs->n, out, MAX_TEXTS * dim, NULL, &err) != KSE_OK) {
            if (!w->errors++) snprintf(w->first_error, sizeof w->first_error, "%s", err.message);
            continue;
        }
        if (memcmp(out, expected + (size_t)k * MAX_TEXTS * dim, cs->n * dim * sizeof(float)) != 0) w->bad++;
        w->done++;
    }
    free(out);
    return NULL;
}

/* Part 1's results: each creating thread's vectors for every call, checked
 * against the single-threaded ones once those exist. */
#define CREATE_THREADS_MAX 8
#define DIM_MAX 1024
static float created_results[CREATE_THREADS_MAX][N_CALLS_DISTINCT][MAX_TEXTS * DIM_MAX];
static size_t created_dim[CREATE_THREADS_MAX];
static int create_threads = 4, create_rounds = 3;

static void *create_worker(void *p) {
    worker *w = p;
    kse_options o;
    KSE_OPTIONS_INIT(&o);
    o.model_dir = model_dir;
    o.intra_threads = 1;
    kse_error err;
    pthread_barrier_wait(&start);
    for (int r = 0; r < create_rounds; r++) {
        kse_encoder *e;
        if (kse_create(&o, &e, &err) != KSE_OK) {
            if (!w->errors++) snprintf(w->first_error, sizeof w->first_error, "%s", err.message);
            continue;
        }
        size_t d = kse_dim(e);
        if (d > DIM_MAX) {
            snprintf(w->first_error, sizeof w->first_error, "dim %zu > %d", d, DIM_MAX);
            w->errors++;
            kse_free(e);
            break;
        }
        created_dim[w->id] = d;
        for (int k = 0; k < N_CALLS_DISTINCT; k++) {
            if (kse_encode(e, calls[k].texts, NULL, calls[k].n, created_results[w->id][k], MAX_TEXTS * DIM_MAX, NULL,
                           &err) != KSE_OK) {
                if (!w->errors++) snprintf(w->first_error, sizeof w->first_error, "%s", err.message);
            }
        }
        kse_free(e);
        w->done++;
    }
    return NULL;
}

static void *watchdog(void *p) {
    (void)p;
    sleep(600);
    fprintf(stderr, "test_threads: still running after 10 minutes: deadlock?\n");
    _exit(3);
}

static int run_workers(void *(*fn)(void *), int n, const char *what) {
    pthread_t *t = calloc(n, sizeof *t);
    worker *w = calloc(n, sizeof *w);
    pthread_barrier_init(&start, NULL, n);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++) {
        w[i].id = i;
        pthread_create(&t[i], NULL, fn, &w[i]);
    }
    long bad = 0, errors = 0, done = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        bad += w[i].bad;
        errors += w[i].errors;
        done += w[i].done;
        if (w[i].errors) fprintf(stderr, "thread %d: %ld errors, first: %s\n", i, w[i].errors, w[i].first_error);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    pthread_barrier_destroy(&start);
    printf("%s: %d threads, %ld calls done, %ld errors, %ld results not bit-identical, %.1f s\n", what, n, done, errors,
           bad, (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
    free(t);
    free(w);
    return bad == 0 && errors == 0;
}

int main(int argc, char **argv) {
    if (argc != 2 && argc != 4 && argc != 6) {
        fprintf(stderr, "usage: %s MODEL_DIR [THREADS CALLS [CREATE_THREADS CREATE_ROUNDS]]\n", argv[0]);
        return 2;
    }
    model_dir = argv[1];
    int threads = argc >= 4 ? atoi(argv[2]) : 8;
    if (argc >= 4) n_calls = atoi(argv[3]);
    if (argc == 6) {
        create_threads = atoi(argv[4]);
        create_rounds = atoi(argv[5]);
    }
    if (threads < 1 || n_calls < 1 || create_threads < 1 || create_threads > CREATE_THREADS_MAX || create_rounds < 1) {
        fprintf(stderr, "test_threads: bad counts\n");
        return 2;
    }
    pthread_t dog;
    pthread_create(&dog, NULL, watchdog, NULL);
    pthread_detach(dog);

    /* The calls, each 1 to 4 texts from the pool (fixed pseudo-random). */
    uint32_t x = 12345;
    for (int k = 0; k < N_CALLS_DISTINCT; k++) {
        x = x * 1103515245u + 12345u;
        calls[k].n = 1 + (x >> 16) % MAX_TEXTS;
        for (size_t i = 0; i < calls[k].n; i++) {
            x = x * 1103515245u + 12345u;
            calls[k].texts[i] = POOL[(x >> 16) % POOL_N];
        }
    }

    /* Part 1: several threads create, use and free encoders at once, before
     * any encoder exists in the process. */
    char what[96];
    snprintf(what, sizeof what, "create/encode/free, %d threads at once, %d rounds each", create_threads, create_rounds);
    int ok = run_workers(create_worker, create_threads, what);

    kse_options o;
    KSE_OPTIONS_INIT(&o);
    o.model_dir = model_dir;
    o.intra_threads = 1;
    o.sessions = 4;
    kse_error err;
    if (kse_create(&o, &shared_enc, &err) != KSE_OK) {
        fprintf(stderr, "cannot load %s: %s\n", model_dir, err.message);
        return 1;
    }
    dim = kse_dim(shared_enc);
    expected = calloc((size_t)N_CALLS_DISTINCT * MAX_TEXTS * dim, sizeof(float));
    for (int k = 0; k < N_CALLS_DISTINCT; k++) {
        if (kse_encode(shared_enc, calls[k].texts, NULL, calls[k].n, expected + (size_t)k * MAX_TEXTS * dim,
                       MAX_TEXTS * dim, NULL, &err) != KSE_OK) {
            fprintf(stderr, "single-threaded reference failed: %s\n", err.message);
            return 1;
        }
    }
    long bad = 0;
    for (int t = 0; t < create_threads; t++)
        for (int k = 0; k < N_CALLS_DISTINCT; k++)
            if (created_dim[t] != dim ||
                memcmp(created_results[t][k], expected + (size_t)k * MAX_TEXTS * dim, calls[k].n * dim * sizeof(float)))
                bad++;
    printf("create/encode/free: %ld of %d results differ from the single-threaded ones\n", bad,
           create_threads * N_CALLS_DISTINCT);
    ok &= bad == 0;

    /* Part 2: one encoder shared by many threads. */
    snprintf(what, sizeof what, "one encoder (4 sessions), %d threads x %d mixed-length calls", threads, n_calls);
    ok &= run_workers(encode_worker, threads, what);
    kse_free(shared_enc);
    free(expected);
    printf("test_threads: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
