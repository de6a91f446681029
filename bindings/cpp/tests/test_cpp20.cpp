// The C++20 std::span overloads of kse.hpp (built with AddressSanitizer and
// UndefinedBehaviorSanitizer).
#include <kse/kse.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common.hpp"

static_assert(KSE_HPP_HAS_SPAN == 1, "compiled as C++20, kse.hpp must offer the std::span overloads");

namespace {

const kse::Encoder& tiny() {
    static const kse::Encoder enc = [] {
        kse::Options o;
        o.threads = 1;
        return kse::Encoder(kse_test::tiny_dir(), o);
    }();
    return enc;
}

TEST(Span, EncodeFromSpan) {
    const std::array<std::string_view, 3> texts = {"사과", "배", "포도"};
    const kse::Embeddings from_span = tiny().encode(std::span<const std::string_view>(texts));
    const kse::Embeddings from_vector = tiny().encode(std::vector<std::string_view>(texts.begin(), texts.end()));
    ASSERT_EQ(from_span.rows(), 3u);
    EXPECT_EQ(from_span.values(), from_vector.values());

    // A row converts to std::span<const float>.
    const std::span<const float> row = from_span.row(1);
    EXPECT_EQ(row.size(), tiny().dim());
    EXPECT_EQ(row.data(), from_span.data() + tiny().dim());
}

TEST(Span, EncodeIntoSpan) {
    const std::array<std::string_view, 2> texts = {"고양이", "강아지"};
    const kse::Embeddings expected = tiny().encode(std::span<const std::string_view>(texts));
    std::vector<float> out(2 * tiny().dim());
    const kse::Stats st = tiny().encode(texts, std::span<float>(out));
    EXPECT_EQ(st.tokens, expected.stats().tokens);
    EXPECT_EQ(out, expected.values());

    // A vector<string> into a span over a vector.
    std::vector<float> out2(out.size());
    tiny().encode(std::vector<std::string>{"고양이", "강아지"}, out2);
    EXPECT_EQ(out2, expected.values());
}

TEST(Span, TooSmallSpanLeavesItUntouched) {
    const std::array<std::string_view, 2> texts = {"하나", "둘"};
    std::vector<float> out(2 * tiny().dim() - 1, 4.25f);
    try {
        tiny().encode(texts, std::span<float>(out));
        FAIL() << "expected KSE_ERR_BUFFER_TOO_SMALL";
    } catch (const kse::Error& e) {
        EXPECT_EQ(e.status(), KSE_ERR_BUFFER_TOO_SMALL);
    }
    EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](float v) { return v == 4.25f; }));
}

// Long inputs under the sanitizers: windows, chunks with their vectors,
// ranges only, token counts, and the error paths.
TEST(Span, LongInputs) {
    const kse::Encoder windowed(kse_test::tiny_dir(),
                                kse::Options{.threads = 1, .long_inputs = kse::Long::window, .window_overlap = 16});
    std::string doc;
    for (int i = 0; i < 120; ++i) doc += "문장 " + std::to_string(i) + "번입니다. ";
    const std::size_t n_tokens = windowed.count_tokens(doc);
    ASSERT_GT(n_tokens, windowed.max_tokens());

    kse::Stats st;
    const std::vector<float> v = windowed.encode_one(doc, &st);
    EXPECT_EQ(v.size(), windowed.dim());
    EXPECT_EQ(st.windowed, 1u);
    EXPECT_GE(st.windows, 2u);
    EXPECT_EQ(st.truncated, 0u);

    const std::vector<kse::Chunk> chunks = tiny().encode_chunks(doc, 64, 8);
    const std::vector<kse::Chunk> ranges = tiny().chunks(doc, 64, 8);
    ASSERT_GT(chunks.size(), 2u);
    ASSERT_EQ(ranges.size(), chunks.size());
    for (std::size_t i = 0; i < chunks.size(); ++i) {
        const std::span<const float> row(chunks[i].vector);
        EXPECT_EQ(row.size(), tiny().dim());
        EXPECT_LE(chunks[i].tokens, 64u);
        EXPECT_LT(chunks[i].start, chunks[i].end);
        EXPECT_LE(chunks[i].end, doc.size());
        EXPECT_FALSE(chunks[i].text(doc).empty());
        EXPECT_EQ(ranges[i].start, chunks[i].start);
        EXPECT_EQ(ranges[i].end, chunks[i].end);
        EXPECT_TRUE(ranges[i].vector.empty());
    }
    EXPECT_TRUE(tiny().encode_chunks("").empty());
    EXPECT_TRUE(tiny().encode_chunks(std::string_view()).empty());

    const std::string with_nul = std::string("앞 문장.\0 뒤 문장.", sizeof("앞 문장.\0 뒤 문장.") - 1);
    const std::vector<kse::Chunk> nul_chunks = tiny().encode_chunks(with_nul);
    ASSERT_EQ(nul_chunks.size(), 1u);
    EXPECT_EQ(nul_chunks[0].end, with_nul.size());

    for (const auto& call : {+[](const kse::Encoder& e) { (void)e.count_tokens("\xff"); },
                             +[](const kse::Encoder& e) { (void)e.encode_chunks("\xc3"); }}) {
        try {
            call(tiny());
            ADD_FAILURE() << "expected KSE_ERR_INVALID_UTF8";
        } catch (const kse::Error& e) {
            EXPECT_EQ(e.status(), KSE_ERR_INVALID_UTF8);
        }
    }
    try {
        (void)tiny().encode_chunks(doc, 64, 59);
        ADD_FAILURE() << "expected KSE_ERR_INVALID_ARGUMENT";
    } catch (const kse::Error& e) {
        EXPECT_EQ(e.status(), KSE_ERR_INVALID_ARGUMENT);
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (!kse_test::prerequisites_present()) return 1;
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
