/*
 * Embeds the seed model card's example sentences and prints the 4 x 4 cosine
 * similarity matrix between the two groups, like the card does.
 *
 *   similarity [MODEL_DIR]
 *
 * Without MODEL_DIR it passes model_dir = NULL, so libkse loads its default
 * model, kse-ko-small: the directory in $KSE_MODEL_DIR if set, else
 * models/kse-ko-small of the build tree or share/kse/models/kse-ko-small of
 * the installed tree that libkse sits in. It therefore works from any working
 * directory.
 */
#include <stdio.h>
#include <stdlib.h>

#include "kse.h"

static const char *const SENTENCES[8] = {
    /* group 1 */
    "다만, 도로와 인접해서 거리의 소음이 들려요.",
    "형이 다시 캐나다 들어가야 하니 가족모임 일정은 바꾸지 마세요.",
    "방안에 필요한 시설이 모두 있어서 매우 편리합니다.",
    "관광자원화 검토를 모범적으로 적용한 지자체에는 홍보·컨설팅, 관광상품 개발 지원 등을 제공할 계획이다.",
    /* group 2 */
    "하지만, 길과 가깝기 때문에 거리의 소음을 들을 수 있습니다.",
    "가족 모임 일정은 바꾸지 말도록 하십시오.",
    "특히, 숙소 근처에 안전한 실내 주차장이 있어서 편리합니다.",
    "아울러 지자체, 지역관광협회 등과 함께 수시로 관광지 현장을 점검할 계획이다.",
};

int main(int argc, char **argv) {
    /* NULL: the library's default model (see above). */
    const char *model_dir = argc > 1 ? argv[1] : NULL;

    if (kse_version_number() != KSE_VERSION_NUMBER) {
        fprintf(stderr, "kse.h is version %d but libkse is %s\n", KSE_VERSION_NUMBER, kse_version());
        return 1;
    }

    kse_options opts;
    KSE_OPTIONS_INIT(&opts);
    opts.model_dir = model_dir;
    kse_encoder *enc = NULL;
    kse_error err;
    if (kse_create(&opts, &enc, &err) != KSE_OK) {
        fprintf(stderr, "kse_create: %s: %s\n", kse_status_name(err.status), err.message);
        return 1;
    }

    size_t dim = kse_dim(enc);
    float *emb = malloc(8 * dim * sizeof(float));
    if (emb == NULL) {
        kse_free(enc);
        return 1;
    }
    kse_encode_stats stats;
    if (kse_encode(enc, SENTENCES, NULL, 8, emb, 8 * dim, &stats, &err) != KSE_OK) {
        fprintf(stderr, "kse_encode: %s: %s\n", kse_status_name(err.status), err.message);
        free(emb);
        kse_free(enc);
        return 1;
    }

    /* The default model's vectors are L2-normalised, so the dot product is the cosine. */
    printf("model %s (kse %s), %zu-d, %zu tokens\n", kse_model_name(enc), kse_version(), dim, stats.tokens);
    for (int i = 0; i < 4; i++) {
        printf("[");
        for (int j = 0; j < 4; j++) {
            const float *a = emb + (size_t)i * dim, *b = emb + (size_t)(4 + j) * dim;
            double dot = 0.0;
            for (size_t k = 0; k < dim; k++) dot += (double)a[k] * b[k];
            printf("%s%11.8f", j ? " " : "", dot);
        }
        printf("]\n");
    }

    free(emb);
    kse_free(enc);
    return 0;
}
