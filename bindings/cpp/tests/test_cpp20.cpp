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

}  // namespace

int main(int argc, char** argv) {
    if (!kse_test::prerequisites_present()) return 1;
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
