/*
 * Cross-language agreement, C side: encodes target/xlang/sentences.txt with
 * the default model and compares with the Python reference embeddings in
 * target/xlang/reference.f32 (max abs difference 1e-5).
 *
 *   xlang MODEL_DIR XLANG_DIR
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kse.h"

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = (size_t)n;
    }
    return buf;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL_DIR XLANG_DIR\n", argv[0]);
        return 2;
    }
    char path[4096];
    size_t text_len = 0, ref_len = 0;
    snprintf(path, sizeof path, "%s/sentences.txt", argv[2]);
    char *text = slurp(path, &text_len);
    snprintf(path, sizeof path, "%s/reference.f32", argv[2]);
    char *ref = slurp(path, &ref_len);
    if (!text || !ref) {
        fprintf(stderr, "cannot read %s/sentences.txt or reference.f32: run `make xlang-reference`\n", argv[2]);
        return 1;
    }
    /* Split lines in place; explicit lengths, no reliance on NUL terminators. */
    const char *texts[64];
    size_t lengths[64], n = 0;
    for (char *p = text; p < text + text_len && n < 64;) {
        char *nl = memchr(p, '\n', (size_t)(text + text_len - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(text + text_len - p);
        texts[n] = p;
        lengths[n++] = len;
        p += len + 1;
    }

    kse_options o;
    KSE_OPTIONS_INIT(&o);
    o.model_dir = argv[1];
    kse_encoder *enc = NULL;
    kse_error err;
    if (kse_create(&o, &enc, &err) != KSE_OK) {
        fprintf(stderr, "kse_create: %s\n", err.message);
        return 1;
    }
    size_t dim = kse_dim(enc);
    if (ref_len != n * dim * sizeof(float)) {
        fprintf(stderr, "reference.f32 holds %zu bytes, expected %zu x %zu floats\n", ref_len, n, dim);
        return 1;
    }
    float *out = malloc(n * dim * sizeof(float));
    if (kse_encode(enc, texts, lengths, n, out, n * dim, NULL, &err) != KSE_OK) {
        fprintf(stderr, "kse_encode: %s\n", err.message);
        return 1;
    }
    float worst = 0.0f;
    for (size_t i = 0; i < n * dim; i++) {
        float expected;
        memcpy(&expected, ref + i * sizeof(float), sizeof expected); /* little-endian host */
        float d = fabsf(out[i] - expected);
        if (d > worst) worst = d;
    }
    printf("C: %zu sentences, max abs difference vs Python reference %g\n", n, worst);
    free(out);
    free(text);
    free(ref);
    kse_free(enc);
    return worst <= 1e-5f ? 0 : 1;
}
