// Embeds the seed model card's example sentences and prints the 4 x 4 cosine
// similarity matrix between the two groups (paraphrase pairs on the diagonal).
//
//   similarity [MODEL_DIR]
//
// Without MODEL_DIR it loads libkse's default model, kse-ko-small
// (kse::Encoder(kse::default_model), model_dir NULL): $KSE_MODEL_DIR if set,
// else models/kse-ko-small of the build tree or share/kse/models/kse-ko-small
// of the installed tree that libkse.so sits in, so it works from any working
// directory. (Linked with libkse.a, it looks beside the program instead: pass
// MODEL_DIR or set KSE_MODEL_DIR.)
#include <kse/kse.hpp>

#include <cstdio>
#include <string_view>
#include <vector>

int main(int argc, char** argv) {

    const std::vector<std::string_view> sentences = {
        // group 1
        "다만, 도로와 인접해서 거리의 소음이 들려요.",
        "형이 다시 캐나다 들어가야 하니 가족모임 일정은 바꾸지 마세요.",
        "방안에 필요한 시설이 모두 있어서 매우 편리합니다.",
        "관광자원화 검토를 모범적으로 적용한 지자체에는 홍보·컨설팅, 관광상품 개발 지원 등을 제공할 계획이다.",
        // group 2
        "하지만, 길과 가깝기 때문에 거리의 소음을 들을 수 있습니다.",
        "가족 모임 일정은 바꾸지 말도록 하십시오.",
        "특히, 숙소 근처에 안전한 실내 주차장이 있어서 편리합니다.",
        "아울러 지자체, 지역관광협회 등과 함께 수시로 관광지 현장을 점검할 계획이다.",
    };

    try {
        kse::check_version();  // kse.hpp and the loaded libkse agree
        const kse::Encoder enc = argc > 1 ? kse::Encoder(argv[1]) : kse::Encoder(kse::default_model);
        const kse::Embeddings emb = enc.encode(sentences);

        std::printf("model %s (kse %s), %zu-d, %zu tokens\n", enc.model_name().c_str(), kse::library_version(),
                    emb.dim(), emb.stats().tokens);
        for (std::size_t i = 0; i < 4; ++i) {
            std::printf("[");
            for (std::size_t j = 0; j < 4; ++j)
                std::printf("%s%11.8f", j != 0 ? " " : "", kse::cosine(emb.row(i), emb.row(4 + j)));
            std::printf("]\n");
        }
    } catch (const kse::Error& e) {
        std::fprintf(stderr, "similarity: %s\n", e.what());
        return 1;
    }
    return 0;
}
