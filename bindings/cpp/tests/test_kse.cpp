// Tests of the C++ binding, kse/kse.hpp, compiled as C++17.
// kse.hpp comes first: it must compile on its own.
#include <kse/kse.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "common.hpp"

namespace {

using kse_test::default_model_name;
using kse_test::lines;
using kse_test::model_dir;
using kse_test::rss_kib;
using kse_test::slurp;
using kse_test::tiny_dir;
using kse_test::xlang_dir;

// One encoder per model for the whole run (loading takes seconds).
const kse::Encoder& big() {
    static const kse::Encoder enc(model_dir());
    return enc;
}

kse::Options tiny_options() {
    kse::Options o;
    o.sessions = 2;
    o.threads = 1;
    return o;
}

const kse::Encoder& tiny() {
    static const kse::Encoder enc(tiny_dir(), tiny_options());
    return enc;
}

float max_abs_diff(const float* a, const float* b, std::size_t n) {
    float worst = 0.0f;
    for (std::size_t i = 0; i < n; ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
    return worst;
}

// Runs f, which must throw kse::Error, and returns that error.
template <class F>
kse::Error error_of(F&& f) {
    try {
        f();
    } catch (const kse::Error& e) {
        return e;
    }
    ADD_FAILURE() << "expected a kse::Error, nothing was thrown";
    return kse::Error(KSE_ERR_INTERNAL, "nothing was thrown");
}

bool contains(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }

// A text far over 512 tokens.
std::string long_text() {
    std::string s;
    for (int i = 0; i < 400; ++i) s += "한국어 문장 ";
    return s;
}

// ---------------------------------------------------------------- types

static_assert(!std::is_copy_constructible_v<kse::Encoder>, "Encoder is move-only");
static_assert(!std::is_copy_assignable_v<kse::Encoder>, "Encoder is move-only");
static_assert(std::is_nothrow_move_constructible_v<kse::Encoder>, "Encoder moves never throw");
static_assert(std::is_nothrow_move_assignable_v<kse::Encoder>, "Encoder moves never throw");
static_assert(std::is_base_of_v<std::runtime_error, kse::Error>, "kse::Error is a std::runtime_error");
static_assert(std::is_nothrow_copy_constructible_v<kse::Error>, "copying an exception must not throw");

// ---------------------------------------------------------------- version

TEST(Version, HeaderMatchesLibrary) {
    EXPECT_EQ(kse::header_version_number(), static_cast<std::uint32_t>(KSE_VERSION_NUMBER));
    EXPECT_EQ(kse::library_version_number(), kse_version_number());
    EXPECT_STREQ(kse::library_version(), kse_version());
    EXPECT_TRUE(kse::version_matches());
    EXPECT_NO_THROW(kse::check_version());
}

TEST(Version, CompatibilityRule) {
    EXPECT_TRUE(kse::version_compatible(100, 100));       // 0.1.0 with 0.1.0
    EXPECT_TRUE(kse::version_compatible(100, 103));       // newer patch
    EXPECT_FALSE(kse::version_compatible(103, 100));      // library older than the header
    EXPECT_FALSE(kse::version_compatible(100, 200));      // 0.x: the minor version breaks
    EXPECT_TRUE(kse::version_compatible(10000, 10502));   // 1.0.0 with 1.5.2
    EXPECT_FALSE(kse::version_compatible(10500, 10000));  // 1.5.0 with 1.0.0
    EXPECT_FALSE(kse::version_compatible(10000, 20000));  // another major
}

// ---------------------------------------------------------------- encoding

TEST(Encode, Basic) {
    const kse::Encoder& enc = big();
    EXPECT_EQ(enc.dim(), 384u);
    EXPECT_EQ(enc.max_tokens(), 512u);
    EXPECT_FALSE(enc.model_name().empty());
    EXPECT_EQ(enc.model_name(), std::string(kse_model_name(enc.handle())));
    EXPECT_EQ(kse_dim(enc.handle()), enc.dim());

    const std::vector<std::string> texts = {"안녕하세요", "반갑습니다", "오늘 날씨 정말 좋다"};
    const kse::Embeddings emb = enc.encode(texts);
    ASSERT_EQ(emb.rows(), 3u);
    ASSERT_EQ(emb.dim(), 384u);
    ASSERT_EQ(emb.size(), 3u * 384u);
    ASSERT_EQ(emb.values().size(), emb.size());
    for (std::size_t i = 0; i < emb.rows(); ++i) {
        const kse::RowView r = emb.row(i);
        ASSERT_EQ(r.size(), 384u);
        EXPECT_EQ(r.data(), emb.data() + i * 384);
        double norm = 0.0;
        for (std::size_t j = 0; j < r.size(); ++j) {
            ASSERT_TRUE(std::isfinite(r[j]));
            EXPECT_EQ(emb(i, j), r[j]);
            EXPECT_EQ(emb.at(i, j), r[j]);
            norm += static_cast<double>(r[j]) * r[j];
        }
        EXPECT_NEAR(norm, 1.0, 1e-4) << "the default model's vectors are L2-normalised";
        EXPECT_NEAR(kse::cosine(r, r), 1.0, 1e-6);
    }
    // The two greetings are closer to each other than either is to the remark on the weather.
    EXPECT_GT(kse::cosine(emb.row(0), emb.row(1)), kse::cosine(emb.row(0), emb.row(2)) + 0.1);
    EXPECT_GT(kse::cosine(emb.row(0), emb.row(1)), kse::cosine(emb.row(1), emb.row(2)) + 0.1);
    EXPECT_NE(emb(0, 0), emb(1, 0));
    EXPECT_THROW(emb.row(3), std::out_of_range);
    EXPECT_THROW(emb.at(0, 384), std::out_of_range);

    // Stats: the tokens fed to the model are the tokenizer's ids, summed.
    std::size_t tokens = 0;
    for (const std::string& t : texts) tokens += enc.tokenize(t).size();
    EXPECT_EQ(emb.stats().tokens, tokens);
    EXPECT_EQ(emb.stats().truncated, 0u);

    // The other input types give the same vectors.
    const std::vector<std::string_view> views(texts.begin(), texts.end());
    const kse::Embeddings from_views = enc.encode(views);
    EXPECT_EQ(max_abs_diff(from_views.data(), emb.data(), emb.size()), 0.0f);
    const kse::Embeddings from_list = enc.encode({"안녕하세요", "반갑습니다", "오늘 날씨 정말 좋다"});
    EXPECT_EQ(max_abs_diff(from_list.data(), emb.data(), emb.size()), 0.0f);
    const kse::Embeddings from_ptr = enc.encode(views.data(), views.size());
    EXPECT_EQ(max_abs_diff(from_ptr.data(), emb.data(), emb.size()), 0.0f);

    // release() hands the buffer over.
    kse::Embeddings copy = emb;
    const std::vector<float> flat = copy.release();
    EXPECT_EQ(flat, emb.values());
    EXPECT_EQ(copy.rows(), 0u);
}

// Every component within 1e-5 of the independent Python pipeline's output.
TEST(Encode, CrossLanguageReference) {
    const std::string text = slurp(xlang_dir() / "sentences.txt");
    const std::string ref = slurp(xlang_dir() / "reference.f32");
    const std::string meta = slurp(xlang_dir() / "reference.json");
    const std::vector<std::string_view> sentences = lines(text);  // views into `text`: no copies
    std::smatch m;
    ASSERT_TRUE(std::regex_search(meta, m, std::regex("\"n\"\\s*:\\s*(\\d+)")));
    const std::size_t n = std::stoul(m[1]);
    ASSERT_EQ(sentences.size(), n) << "sentences.txt and reference.json disagree: rerun `make xlang-reference`";
    const kse::Encoder& enc = big();
    ASSERT_EQ(ref.size(), n * enc.dim() * sizeof(float));

    const kse::Embeddings emb = enc.encode(sentences);
    ASSERT_EQ(emb.rows(), n);
    float worst = 0.0f;
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < emb.dim(); ++j) {
            float expected;
            std::memcpy(&expected, ref.data() + (i * emb.dim() + j) * sizeof(float), sizeof expected);  // little-endian host
            const float d = std::fabs(emb(i, j) - expected);
            worst = std::max(worst, d);
            ASSERT_LE(d, 1e-5f) << "sentence " << i << " component " << j;
        }
    }
    EXPECT_EQ(emb.stats().truncated, 1u) << "one reference sentence is over 512 tokens";
    std::printf("C++: %zu sentences, max abs difference vs Python reference %g\n", n, static_cast<double>(worst));
}

TEST(Encode, BatchedEqualsOneByOne) {
    const std::string text = slurp(xlang_dir() / "sentences.txt");
    std::vector<std::string> sentences;
    for (std::string_view s : lines(text)) sentences.emplace_back(s);
    const kse::Encoder& enc = big();
    const kse::Embeddings batch = enc.encode(sentences);
    for (std::size_t i = 0; i < sentences.size(); ++i) {
        kse::Stats st;
        const std::vector<float> one = enc.encode_one(sentences[i], &st);
        ASSERT_EQ(one.size(), enc.dim());
        EXPECT_LE(max_abs_diff(one.data(), batch.row(i).data(), enc.dim()), 1e-6f) << "sentence " << i;
        EXPECT_EQ(st.tokens, enc.tokenize(sentences[i]).size());
    }
}

// Lengths are passed explicitly: a view into a longer buffer encodes just its bytes.
TEST(Encode, ExplicitLengthsNoTerminatorNeeded) {
    const std::string buffer = "안녕하세요 여러분, 반갑습니다";
    const std::string_view first(buffer.data(), std::strlen("안녕하세요"));
    const kse::Embeddings a = tiny().encode({first});
    const kse::Embeddings b = tiny().encode(std::vector<std::string>{"안녕하세요"});
    EXPECT_EQ(max_abs_diff(a.data(), b.data(), a.size()), 0.0f);
    const kse::Embeddings whole = tiny().encode({std::string_view(buffer)});
    EXPECT_GT(max_abs_diff(a.data(), whole.data(), a.size()), 1e-4f);
}

TEST(Encode, EmptyInputs) {
    const kse::Encoder& enc = tiny();
    const kse::Embeddings none = enc.encode(std::vector<std::string>{});
    EXPECT_EQ(none.rows(), 0u);
    EXPECT_EQ(none.dim(), enc.dim());
    EXPECT_TRUE(none.empty());
    const kse::Stats st = enc.encode(std::vector<std::string_view>{}, nullptr, 0);
    EXPECT_EQ(st.tokens, 0u);

    // An empty text is valid, whether its view points somewhere or not.
    const kse::Embeddings e = enc.encode({std::string_view(), std::string_view(""), std::string_view("x", 0)});
    ASSERT_EQ(e.rows(), 3u);
    EXPECT_EQ(max_abs_diff(e.row(0).data(), e.row(1).data(), e.dim()), 0.0f);
    EXPECT_EQ(max_abs_diff(e.row(0).data(), e.row(2).data(), e.dim()), 0.0f);
    EXPECT_FALSE(enc.tokenize(std::string_view()).empty()) << "special tokens remain";
}

TEST(Encode, IntoCallerBuffer) {
    const kse::Encoder& enc = big();
    const std::vector<std::string> texts = {"서울", "부산", "대구"};
    const kse::Embeddings expected = enc.encode(texts);
    std::vector<float> out(texts.size() * enc.dim() + 5, 7.0f);
    const kse::Stats st = enc.encode(texts, out.data(), out.size());
    EXPECT_EQ(st.tokens, expected.stats().tokens);
    EXPECT_EQ(max_abs_diff(out.data(), expected.data(), expected.size()), 0.0f);
    for (std::size_t i = expected.size(); i < out.size(); ++i) EXPECT_EQ(out[i], 7.0f) << "wrote past n * dim";

    std::vector<float> exact(expected.size());
    enc.encode({"서울", "부산", "대구"}, exact.data(), exact.size());
    EXPECT_EQ(exact, expected.values());
}

// ---------------------------------------------------------------- errors

TEST(Errors, BadModelPath) {
    const kse::Error e = error_of([] { kse::Encoder enc("/nonexistent/kse-model"); });
    EXPECT_EQ(e.status(), KSE_ERR_MODEL_NOT_FOUND);
    EXPECT_STREQ(e.status_name(), "KSE_ERR_MODEL_NOT_FOUND");
    EXPECT_EQ(std::string_view(e.what()).substr(0, 25), "KSE_ERR_MODEL_NOT_FOUND: ");
    EXPECT_TRUE(contains(e.message(), "/nonexistent/kse-model")) << e.message();
    EXPECT_FALSE(contains(e.message(), "KSE_ERR_")) << "message() is the library's text alone";
    // Catchable as the standard base class.
    EXPECT_THROW(kse::Encoder("/nonexistent/kse-model"), std::runtime_error);
}

// ---------------------------------------------------------------- the default model

// Sets (value non-null) or unsets an environment variable for one scope.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        const char* old = std::getenv(name);
        had_ = old != nullptr;
        if (had_) old_ = old;
        if (value != nullptr) ::setenv(name, value, 1);
        else ::unsetenv(name);
    }
    ~ScopedEnv() {
        if (had_) ::setenv(name_, old_.c_str(), 1);
        else ::unsetenv(name_);
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* name_;
    bool had_ = false;
    std::string old_;
};

// No directory: model_dir NULL, and the build tree's libkse finds the build
// tree's models/kse-ko-small.
TEST(DefaultModel, NoDirectoryLoadsKseKoSmall) {
    const ScopedEnv env("KSE_MODEL_DIR", nullptr);
    const kse::Encoder enc(kse::default_model);
    EXPECT_EQ(enc.model_name(), default_model_name);
    EXPECT_EQ(enc.dim(), 384u);
    EXPECT_EQ(enc.max_tokens(), 512u);
    const std::vector<std::string> texts = {"한 남자가 기타를 치고 있다.", "남자가 기타를 연주한다."};
    const kse::Embeddings got = enc.encode(texts);
    const kse::Encoder named(std::filesystem::path(KSE_REPO_DIR) / "models" / default_model_name);
    const kse::Embeddings want = named.encode(texts);
    EXPECT_LE(max_abs_diff(got.data(), want.data(), want.size()), 1e-6f);

    kse::Options o;
    o.sessions = 2;
    const kse::Encoder from_options(o);  // Options alone: the default model too
    EXPECT_EQ(from_options.model_name(), default_model_name);
}

TEST(DefaultModel, MissingKseModelDirIsModelNotFoundNamingIt) {
    const ScopedEnv env("KSE_MODEL_DIR", "/nonexistent/kse-default-model");
    const kse::Error e = error_of([] { kse::Encoder enc(kse::default_model); });
    EXPECT_EQ(e.status(), KSE_ERR_MODEL_NOT_FOUND);
    EXPECT_TRUE(contains(e.message(), "/nonexistent/kse-default-model")) << e.message();
}

// A shipped model's name: the build tree's libkse finds the build tree's
// models/kse-ko-mini, never the working directory; $KSE_MODEL_DIR is not
// consulted.
TEST(DefaultModel, ShippedModelByName) {
    const std::filesystem::path mini_dir = std::filesystem::path(KSE_REPO_DIR) / "models" / "kse-ko-mini";
    ASSERT_TRUE(std::filesystem::exists(mini_dir / "kse.json")) << mini_dir;
    const std::vector<std::string> texts = {"한 남자가 기타를 치고 있다.", "남자가 기타를 연주한다.",
                                            "고양이가 창가에서 잠을 잔다."};
    const kse::Embeddings small = big().encode(texts);

    const ScopedEnv env("KSE_MODEL_DIR", "/nonexistent/kse-ko-mini");
    const kse::Encoder mini("kse-ko-mini");
    EXPECT_EQ(mini.model_name(), "kse-ko-mini");
    EXPECT_EQ(mini.dim(), 384u);
    const kse::Embeddings got = mini.encode(texts);
    const kse::Embeddings want = kse::Encoder(mini_dir).encode(texts);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_TRUE(std::equal(got.data(), got.data() + got.size(), want.data()))
        << "\"kse-ko-mini\" vs " << mini_dir << ": vectors differ by "
        << max_abs_diff(got.data(), want.data(), want.size());
    ASSERT_EQ(small.size(), got.size());
    EXPECT_FALSE(std::equal(got.data(), got.data() + got.size(), small.data()))
        << "kse-ko-mini gave the default model's vectors";
}

TEST(Errors, BadOption) {
    kse::Options o;
    o.sessions = 0;
    const kse::Error e = error_of([&] { kse::Encoder enc(tiny_dir(), o); });
    EXPECT_EQ(e.status(), KSE_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(contains(e.message(), "sessions")) << e.message();
}

TEST(Errors, OtherRuntimeLibraryRefused) {
    big();  // ONNX Runtime is loaded now
    kse::Options o;
    o.ort_library = "/nonexistent/libonnxruntime.so.1";
    const kse::Error e = error_of([&] { kse::Encoder enc(tiny_dir(), o); });
    EXPECT_EQ(e.status(), KSE_ERR_RUNTIME_UNAVAILABLE);
    EXPECT_TRUE(contains(e.message(), "/nonexistent/libonnxruntime.so.1")) << e.message();
}

TEST(Errors, BufferTooSmallLeavesBufferUntouched) {
    const kse::Encoder& enc = tiny();
    const std::vector<std::string> texts = {"하나", "둘"};
    std::vector<float> out(texts.size() * enc.dim() - 1, -3.5f);
    const kse::Error e = error_of([&] { enc.encode(texts, out.data(), out.size()); });
    EXPECT_EQ(e.status(), KSE_ERR_BUFFER_TOO_SMALL);
    EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](float v) { return v == -3.5f; })) << "buffer was written";
    // No buffer at all.
    EXPECT_EQ(error_of([&] { enc.encode(texts, nullptr, 0); }).status(), KSE_ERR_BUFFER_TOO_SMALL);
}

TEST(Errors, InvalidUtf8) {
    const kse::Encoder& enc = tiny();
    const std::string bad = "좋아요 \xff end";
    const std::string cut = std::string("한국").substr(0, 4);  // "한" and half of "국"
    std::vector<float> out(2 * enc.dim(), 9.0f);

    kse::Error e = error_of([&] { enc.encode(std::vector<std::string>{"괜찮아요", bad}); });
    EXPECT_EQ(e.status(), KSE_ERR_INVALID_UTF8);
    EXPECT_TRUE(contains(e.message(), "text 1")) << e.message();

    e = error_of([&] { enc.encode({std::string_view(cut), std::string_view("ok")}, out.data(), out.size()); });
    EXPECT_EQ(e.status(), KSE_ERR_INVALID_UTF8);
    EXPECT_TRUE(contains(e.message(), "text 0")) << e.message();
    EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](float v) { return v == 9.0f; })) << "buffer was written";

    EXPECT_EQ(error_of([&] { enc.tokenize(bad); }).status(), KSE_ERR_INVALID_UTF8);
    EXPECT_EQ(error_of([&] { enc.encode_one(cut); }).status(), KSE_ERR_INVALID_UTF8);
}

TEST(Errors, Truncation) {
    const std::string text = long_text();
    // On (the default): cut to max_tokens and counted.
    EXPECT_EQ(tiny().tokenize(text).size(), tiny().max_tokens());
    kse::Stats st;
    tiny().encode_one(text, &st);
    EXPECT_EQ(st.truncated, 1u);
    EXPECT_EQ(st.tokens, tiny().max_tokens());

    // Off: an error naming the problem; shorter texts still work.
    kse::Options o;
    o.truncate = false;
    o.threads = 1;
    const kse::Encoder strict(tiny_dir(), o);
    EXPECT_EQ(error_of([&] { strict.encode({std::string_view("짧은 문장"), std::string_view(text)}); }).status(),
              KSE_ERR_INPUT_TOO_LONG);
    EXPECT_EQ(error_of([&] { strict.tokenize(text); }).status(), KSE_ERR_INPUT_TOO_LONG);
    EXPECT_EQ(strict.encode({"짧은 문장"}).rows(), 1u);
}

// ---------------------------------------------------------------- long inputs
// Against the long-input reference of the independent Python pipeline
// (tests/xlang/make_long_reference.py, docs/long-inputs.md): token counts and
// byte ranges equal, vectors within 1e-5.

struct LongReference {
    std::size_t dim = 0, window_overlap = 0, chunk_tokens = 0, chunk_overlap = 0;
    std::vector<std::string> docs;
    std::vector<std::size_t> counts, windows;
    std::vector<float> window;  // [docs, dim]
    struct Row {
        std::size_t doc, start, end, tokens;
    };
    std::vector<Row> chunks;    // chunks.tsv, in order
    std::vector<float> chunk_vectors;  // [chunks, dim]
};

std::vector<std::size_t> numbers(std::string_view text) {
    std::vector<std::size_t> out;
    for (std::string_view l : lines(text)) out.push_back(std::stoul(std::string(l)));
    return out;
}

const LongReference& long_reference() {
    static const LongReference ref = [] {
        const auto dir = kse_test::long_dir();
        LongReference r;
        const auto params = kse_test::key_values(slurp(dir / "params.txt"));
        const auto param = [&](const char* key) { return static_cast<std::size_t>(std::stoul(params.at(key))); };
        const std::size_t n = param("documents");
        r.dim = param("dim");
        r.window_overlap = param("window_overlap");
        r.chunk_tokens = param("chunk_tokens");
        r.chunk_overlap = param("chunk_overlap");
        for (std::size_t i = 0; i < n; ++i) r.docs.push_back(slurp(dir / ("doc" + std::to_string(i) + ".txt")));
        r.counts = numbers(slurp(dir / "counts.txt"));
        r.windows = numbers(slurp(dir / "windows.txt"));
        r.window = kse_test::read_f32(dir / "window.f32");
        const std::string tsv = slurp(dir / "chunks.tsv");
        for (std::string_view l : lines(tsv)) {
            std::size_t f[4] = {};
            for (std::size_t k = 0; k < 4; ++k) {
                const std::size_t tab = l.find('\t');
                f[k] = std::stoul(std::string(l.substr(0, tab)));
                l = tab == std::string_view::npos ? std::string_view() : l.substr(tab + 1);
            }
            r.chunks.push_back({f[0], f[1], f[2], f[3]});
        }
        r.chunk_vectors = kse_test::read_f32(dir / "chunks.f32");
        return r;
    }();
    return ref;
}

// The reference files agree with each other (else: rerun `make xlang-reference`).
void check_reference_shape(const LongReference& ref, std::size_t dim) {
    ASSERT_EQ(ref.dim, dim);
    ASSERT_EQ(ref.counts.size(), ref.docs.size());
    ASSERT_EQ(ref.windows.size(), ref.docs.size());
    ASSERT_EQ(ref.window.size(), ref.docs.size() * dim);
    ASSERT_EQ(ref.chunk_vectors.size(), ref.chunks.size() * dim);
    ASSERT_FALSE(ref.chunks.empty());
}

// The default model under Long::window with the reference's overlap.
const kse::Encoder& big_window() {
    static const kse::Encoder enc = [] {
        kse::Options o;
        o.long_inputs = kse::Long::window;
        o.window_overlap = static_cast<std::uint32_t>(long_reference().window_overlap);
        return kse::Encoder(model_dir(), o);
    }();
    return enc;
}

static_assert(std::is_same_v<std::underlying_type_t<kse::Long>, kse_truncation>, "kse::Long holds kse_truncation values");
static_assert(static_cast<kse_truncation>(kse::Long::window) == KSE_WINDOW, "kse::Long::window is KSE_WINDOW");
static_assert(std::is_same_v<decltype(std::declval<const kse::Encoder&>().count_tokens(std::string_view())), std::size_t>);
static_assert(std::is_same_v<decltype(std::declval<const kse::Encoder&>().encode_chunks("")), std::vector<kse::Chunk>>);

TEST(LongInputs, OptionsDefaults) {
    const kse::Options o;
    EXPECT_TRUE(o.truncate);
    EXPECT_EQ(o.long_inputs, kse::Long::truncate);
    kse_options c;
    ASSERT_EQ(KSE_OPTIONS_INIT(&c), KSE_OK);
    EXPECT_EQ(o.window_overlap, c.window_overlap) << "the C library's default overlap";
    EXPECT_EQ(o.window_overlap, 32u);
    // Aggregate initialisation written before long_inputs existed still compiles and means the same.
    const kse::Options old{1, 2, 0, false, {}};
    EXPECT_FALSE(old.truncate);
    EXPECT_EQ(old.long_inputs, kse::Long::truncate);
    EXPECT_EQ(old.window_overlap, 32u);
}

TEST(LongInputs, CountTokensMatchesReference) {
    const LongReference& ref = long_reference();
    const kse::Encoder& enc = big();
    check_reference_shape(ref, enc.dim());
    for (std::size_t i = 0; i < ref.docs.size(); ++i) {
        EXPECT_EQ(enc.count_tokens(ref.docs[i]), ref.counts[i]) << "doc" << i;
        // Window mode changes nothing about the count.
        EXPECT_EQ(big_window().count_tokens(ref.docs[i]), ref.counts[i]) << "doc" << i;
        // tokenize() gives the same ids up to max tokens.
        EXPECT_EQ(enc.tokenize(ref.docs[i]).size(), std::min(ref.counts[i], enc.max_tokens())) << "doc" << i;
    }
    EXPECT_GT(ref.counts[0], enc.max_tokens()) << "doc0 is a long document";
    EXPECT_EQ(enc.count_tokens(""), enc.tokenize("").size());
    EXPECT_EQ(enc.count_tokens(std::string_view()), enc.tokenize("").size());
}

TEST(LongInputs, WindowMatchesReference) {
    const LongReference& ref = long_reference();
    const kse::Encoder& enc = big_window();
    check_reference_shape(ref, enc.dim());
    const std::vector<std::string_view> docs(ref.docs.begin(), ref.docs.end());
    const kse::Embeddings emb = enc.encode(docs);
    ASSERT_EQ(emb.rows(), docs.size());
    const float worst = max_abs_diff(emb.data(), ref.window.data(), ref.window.size());
    EXPECT_LE(worst, 1e-5f);
    std::printf("C++ window mode: %zu documents, max abs difference vs Python reference %g\n", docs.size(),
                static_cast<double>(worst));

    std::size_t windowed = 0, windows = 0;
    for (const std::size_t w : ref.windows)
        if (w > 1) ++windowed, windows += w;
    EXPECT_GT(windowed, 0u);
    EXPECT_EQ(emb.stats().windowed, windowed);
    EXPECT_EQ(emb.stats().windows, windows);
    EXPECT_EQ(emb.stats().truncated, 0u);

    // One at a time: the same vector, and stats for that document alone.
    for (std::size_t i = 0; i < docs.size(); ++i) {
        kse::Stats st;
        const std::vector<float> v = enc.encode_one(docs[i], &st);
        EXPECT_LE(max_abs_diff(v.data(), emb.row(i).data(), enc.dim()), 1e-5f) << "doc" << i;
        EXPECT_EQ(st.windowed, ref.windows[i] > 1 ? 1u : 0u) << "doc" << i;
        EXPECT_EQ(st.windows, ref.windows[i] > 1 ? ref.windows[i] : 0u) << "doc" << i;
        EXPECT_EQ(st.truncated, 0u);
    }

    // The same documents under the default policy are cut, not windowed.
    const kse::Embeddings cut = big().encode(docs);
    EXPECT_EQ(cut.stats().truncated, windowed);
    EXPECT_EQ(cut.stats().windowed, 0u);
    EXPECT_EQ(cut.stats().windows, 0u);
}

TEST(LongInputs, ChunksMatchReference) {
    const LongReference& ref = long_reference();
    const kse::Encoder& enc = big();
    check_reference_shape(ref, enc.dim());
    std::size_t row = 0;
    float worst = 0.0f;
    for (std::size_t i = 0; i < ref.docs.size(); ++i) {
        const std::string& doc = ref.docs[i];
        const std::vector<kse::Chunk> got = enc.encode_chunks(doc, ref.chunk_tokens, ref.chunk_overlap);
        const std::vector<kse::Chunk> ranges = enc.chunks(doc, ref.chunk_tokens, ref.chunk_overlap);
        ASSERT_EQ(ranges.size(), got.size()) << "doc" << i;
        std::size_t k = 0;
        for (; row < ref.chunks.size() && ref.chunks[row].doc == i; ++row, ++k) {
            const LongReference::Row& want = ref.chunks[row];
            ASSERT_LT(k, got.size()) << "doc" << i << ": fewer chunks than the reference";
            const kse::Chunk& c = got[k];
            EXPECT_EQ(c.start, want.start) << "doc" << i << " chunk " << k;
            EXPECT_EQ(c.end, want.end) << "doc" << i << " chunk " << k;
            EXPECT_EQ(c.tokens, want.tokens) << "doc" << i << " chunk " << k;
            EXPECT_LE(c.tokens, ref.chunk_tokens);
            EXPECT_EQ(c.text(doc), std::string_view(doc).substr(want.start, want.end - want.start));
            ASSERT_EQ(c.vector.size(), enc.dim());
            const float d = max_abs_diff(c.vector.data(), ref.chunk_vectors.data() + row * enc.dim(), enc.dim());
            worst = std::max(worst, d);
            EXPECT_LE(d, 1e-5f) << "doc" << i << " chunk " << k;
            // chunks(): the same ranges, no vectors.
            EXPECT_EQ(ranges[k].start, c.start);
            EXPECT_EQ(ranges[k].end, c.end);
            EXPECT_EQ(ranges[k].tokens, c.tokens);
            EXPECT_TRUE(ranges[k].vector.empty());
        }
        EXPECT_EQ(got.size(), k) << "doc" << i << ": more chunks than the reference";
    }
    EXPECT_EQ(row, ref.chunks.size()) << "chunks.tsv is not in document order";
    std::printf("C++ chunks: %zu chunks, max abs difference vs Python reference %g\n", ref.chunks.size(),
                static_cast<double>(worst));
}

// Defaults (chunk_tokens 0 = max tokens, overlap 0): a short document is one
// chunk, the whole text, embedded exactly as encode() embeds it.
TEST(LongInputs, ChunkDefaults) {
    const kse::Encoder& enc = big();
    const std::string doc = "짧은 문장 하나.";
    const std::vector<kse::Chunk> c = enc.encode_chunks(doc);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].start, 0u);
    EXPECT_EQ(c[0].end, doc.size());
    EXPECT_EQ(c[0].text(doc), doc);
    EXPECT_EQ(c[0].tokens, enc.count_tokens(doc));
    const std::vector<float> whole = enc.encode_one(doc);
    EXPECT_LE(max_abs_diff(c[0].vector.data(), whole.data(), whole.size()), 1e-6f);

    // Surrounding whitespace is outside the range.
    const std::string padded = "  \n" + doc + "\n\n ";
    const std::vector<kse::Chunk> p = enc.chunks(padded);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].text(padded), doc);

    // The smallest chunks: one document token each (5 special and prefix tokens + 1).
    const std::vector<kse::Chunk> tiny_chunks = enc.encode_chunks(doc, 6);
    EXPECT_EQ(tiny_chunks.size(), enc.count_tokens(doc) - 5);
    std::size_t prev_end = 0;
    for (const kse::Chunk& k : tiny_chunks) {
        EXPECT_EQ(k.tokens, 6u);
        EXPECT_EQ(k.vector.size(), enc.dim());
        EXPECT_LT(k.start, k.end);
        EXPECT_LE(prev_end, k.end);
        EXPECT_LE(k.end, doc.size());
        prev_end = k.end;
    }
    // The largest: max tokens.
    EXPECT_EQ(enc.chunks(doc, enc.max_tokens()).size(), 1u);
}

TEST(LongInputs, EmptyDocumentHasNoChunks) {
    const kse::Encoder& enc = big();
    EXPECT_TRUE(enc.encode_chunks("").empty());
    EXPECT_TRUE(enc.encode_chunks(std::string_view()).empty());
    EXPECT_TRUE(enc.encode_chunks(" \n\t \u3000 ").empty());
    EXPECT_TRUE(enc.chunks("").empty());
    EXPECT_TRUE(enc.chunks(" \r\n ", 128, 16).empty());
}

// Explicit lengths: NUL bytes inside a document are text like any other,
// not its end.
TEST(LongInputs, EmbeddedNulBytes) {
    const kse::Encoder& enc = big();
    const std::string before = "첫째 문장입니다.";
    const std::string doc = before + std::string("\0 ", 2) + "둘째 문장도 있습니다.";
    ASSERT_EQ(doc.size(), before.size() + 2 + std::strlen("둘째 문장도 있습니다."));
    EXPECT_GT(enc.count_tokens(doc), enc.count_tokens(before));
    const std::vector<kse::Chunk> c = enc.encode_chunks(doc);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].start, 0u);
    EXPECT_EQ(c[0].end, doc.size()) << "the chunk stops at the NUL";
    EXPECT_EQ(c[0].tokens, enc.count_tokens(doc));
    const std::vector<float> whole = enc.encode_one(doc);
    EXPECT_LE(max_abs_diff(c[0].vector.data(), whole.data(), whole.size()), 1e-6f);
    const std::vector<kse::Chunk> small = enc.encode_chunks(doc, 10);
    ASSERT_GT(small.size(), 1u);
    EXPECT_EQ(small.back().end, doc.size());
    for (const kse::Chunk& k : small) EXPECT_LE(k.end, doc.size());
}

TEST(Errors, LongInputArguments) {
    const kse::Encoder& enc = big();
    const std::string doc = long_reference().docs.at(0);
    const std::size_t max = enc.max_tokens();

    // Invalid UTF-8.
    const std::string bad = "좋은 문장. \xff 끝.";
    kse::Error e = error_of([&] { enc.count_tokens(bad); });
    EXPECT_EQ(e.status(), KSE_ERR_INVALID_UTF8);
    EXPECT_FALSE(std::string_view(e.message()).empty());
    EXPECT_EQ(error_of([&] { enc.encode_chunks(bad); }).status(), KSE_ERR_INVALID_UTF8);
    EXPECT_EQ(error_of([&] { enc.chunks(bad, 64, 8); }).status(), KSE_ERR_INVALID_UTF8);
    EXPECT_EQ(error_of([&] { big_window().encode_one(bad); }).status(), KSE_ERR_INVALID_UTF8);

    // chunk_tokens above max tokens, or no room for document tokens (2 special + 3 prefix tokens).
    for (const std::size_t n : {max + 1, std::size_t{100000}, std::size_t{5}, std::size_t{1}}) {
        e = error_of([&] { enc.encode_chunks(doc, n); });
        EXPECT_EQ(e.status(), KSE_ERR_INVALID_ARGUMENT) << "chunk_tokens " << n;
        EXPECT_TRUE(contains(e.message(), "chunk_tokens")) << e.message();
        EXPECT_EQ(error_of([&] { enc.chunks(doc, n); }).status(), KSE_ERR_INVALID_ARGUMENT) << "chunk_tokens " << n;
    }
    EXPECT_EQ(error_of([&] { enc.chunks("짧은 문장.", 5); }).status(), KSE_ERR_INVALID_ARGUMENT)
        << "checked for short documents too";

    // overlap must be below the document tokens a chunk holds.
    e = error_of([&] { enc.encode_chunks(doc, 128, 123); });
    EXPECT_EQ(e.status(), KSE_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(contains(e.message(), "overlap")) << e.message();
    EXPECT_EQ(error_of([&] { enc.chunks(doc, 128, 1000); }).status(), KSE_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(error_of([&] { enc.chunks(doc, 0, max - 5); }).status(), KSE_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(error_of([&] { enc.chunks(doc, 6, 1); }).status(), KSE_ERR_INVALID_ARGUMENT);
    EXPECT_FALSE(enc.chunks(doc, 128, 122).empty());

    // window_overlap must be below max tokens - special - prefix tokens (507), at creation.
    kse::Options o;
    o.long_inputs = kse::Long::window;
    o.window_overlap = static_cast<std::uint32_t>(max - 5);
    e = error_of([&] { kse::Encoder w(model_dir(), o); });
    EXPECT_EQ(e.status(), KSE_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(contains(e.message(), "overlap")) << e.message();
    o.window_overlap = 100000;
    EXPECT_EQ(error_of([&] { kse::Encoder w(model_dir(), o); }).status(), KSE_ERR_INVALID_ARGUMENT);

    // truncate = false (the older spelling of Long::error) contradicts Long::window.
    kse::Options both;
    both.truncate = false;
    both.long_inputs = kse::Long::window;
    e = error_of([&] { kse::Encoder w(model_dir(), both); });
    EXPECT_EQ(e.status(), KSE_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(contains(e.message(), "truncate")) << e.message();
}

// Long::error: an over-long text throws; truncate = false still means the same.
TEST(Errors, LongInputsErrorPolicy) {
    const std::string text = long_text();
    kse::Options o;
    o.threads = 1;
    o.long_inputs = kse::Long::error;
    const kse::Encoder strict(tiny_dir(), o);
    EXPECT_EQ(error_of([&] { strict.encode_one(text); }).status(), KSE_ERR_INPUT_TOO_LONG);
    EXPECT_EQ(error_of([&] { strict.tokenize(text); }).status(), KSE_ERR_INPUT_TOO_LONG);
    // Counting and chunking never refuse a long text.
    EXPECT_GT(strict.count_tokens(text), strict.max_tokens());
    EXPECT_GT(strict.chunks(text).size(), 1u);
}

// Long::window on the tiny model: tokenize() gives the first window's ids.
TEST(LongInputs, WindowTokenizeIsFirstWindow) {
    kse::Options o;
    o.threads = 1;
    o.long_inputs = kse::Long::window;
    o.window_overlap = 0;
    const kse::Encoder w(tiny_dir(), o);
    const std::string text = long_text();
    EXPECT_EQ(w.tokenize(text), tiny().tokenize(text));
    kse::Stats st;
    w.encode_one(text, &st);
    const std::size_t room = w.max_tokens() - 5, doc_tokens = w.count_tokens(text) - 5;
    EXPECT_EQ(st.windowed, 1u);
    EXPECT_EQ(st.windows, (doc_tokens + room - 1) / room) << "overlap 0: ceil(L / W) windows";
    EXPECT_EQ(st.truncated, 0u);
}

// ---------------------------------------------------------------- ownership

// A freed handle is refused by the C API: how the tests see that a handle was freed.
bool freed(kse_encoder* h) {
    float out[64];
    const char* text = "x";
    kse_error err{};
    return kse_encode(h, &text, nullptr, 1, out, 64, nullptr, &err) == KSE_ERR_INVALID_HANDLE;
}

TEST(Ownership, MoveSemantics) {
    kse::Options o;
    o.threads = 1;
    kse::Encoder a(tiny_dir(), o);
    ASSERT_TRUE(a.valid());
    kse_encoder* const ha = a.handle();
    const std::vector<float> expected = a.encode_one("이동");

    // Move construction: the handle changes owner, the source is empty.
    kse::Encoder b(std::move(a));
    EXPECT_EQ(b.handle(), ha);
    EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): testing the moved-from state
    EXPECT_FALSE(static_cast<bool>(a));
    EXPECT_EQ(a.handle(), nullptr);
    EXPECT_EQ(b.encode_one("이동"), expected);

    // Every use of an empty encoder throws a clear kse::Error.
    const kse::Error e = error_of([&] { a.encode({"이동"}); });
    EXPECT_EQ(e.status(), KSE_ERR_INVALID_HANDLE);
    EXPECT_TRUE(contains(e.message(), "moved from")) << e.message();
    EXPECT_EQ(error_of([&] { a.dim(); }).status(), KSE_ERR_INVALID_HANDLE);
    EXPECT_EQ(error_of([&] { a.max_tokens(); }).status(), KSE_ERR_INVALID_HANDLE);
    EXPECT_EQ(error_of([&] { a.model_name(); }).status(), KSE_ERR_INVALID_HANDLE);
    EXPECT_EQ(error_of([&] { a.tokenize("x"); }).status(), KSE_ERR_INVALID_HANDLE);
    EXPECT_EQ(error_of([&] { a.encode_one("x"); }).status(), KSE_ERR_INVALID_HANDLE);
    float buf[16];
    EXPECT_EQ(error_of([&] { a.encode({"x"}, buf, 16); }).status(), KSE_ERR_INVALID_HANDLE);
    kse::Encoder empty;
    EXPECT_FALSE(empty.valid());
    EXPECT_EQ(error_of([&] { empty.encode({"x"}); }).status(), KSE_ERR_INVALID_HANDLE);

    // Self-move keeps the model.
    kse::Encoder& alias = b;
    b = std::move(alias);
    ASSERT_TRUE(b.valid());
    EXPECT_EQ(b.encode_one("이동"), expected);

    // Move assignment into an empty encoder makes it usable again.
    a = std::move(b);
    EXPECT_EQ(a.handle(), ha);
    EXPECT_FALSE(b.valid());  // NOLINT(bugprone-use-after-move)
    EXPECT_FALSE(freed(ha));

    // Move assignment over a live encoder frees the one it replaces.
    kse::Encoder c(tiny_dir(), o);
    kse_encoder* const hc = c.handle();
    c = std::move(a);
    EXPECT_TRUE(freed(hc)) << "the replaced encoder was not freed";
    EXPECT_EQ(c.handle(), ha);
    EXPECT_EQ(c.encode_one("이동"), expected);

    // reset() and the destructor free.
    c.reset();
    EXPECT_FALSE(c.valid());
    EXPECT_TRUE(freed(ha));
    kse_encoder* hd = nullptr;
    {
        kse::Encoder d(tiny_dir(), o);
        hd = d.handle();
        EXPECT_FALSE(freed(hd));
    }
    EXPECT_TRUE(freed(hd)) << "the destructor did not free";
}

// ---------------------------------------------------------------- threads

// Several threads on one encoder: every vector equals the single-threaded one.
TEST(Threads, SharedEncoder) {
    const kse::Encoder& enc = tiny();
    std::vector<std::string> texts;
    for (int i = 0; i < 40; ++i) texts.push_back("문장 " + std::to_string(i) + "번: 스레드에서 나눠 쓰는 인코더");
    const std::size_t dim = enc.dim();
    std::vector<std::vector<float>> expected;
    for (const std::string& t : texts) expected.push_back(enc.encode_one(t));

    constexpr int kThreads = 6, kRounds = 20;
    std::atomic<long> checked{0}, wrong{0}, failures{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < kThreads; ++t) {
        pool.emplace_back([&, t] {
            try {
                for (int r = 0; r < kRounds; ++r) {
                    // A different slice and batch size per thread and round.
                    const std::size_t start = static_cast<std::size_t>(t * 7 + r * 3) % texts.size();
                    const std::size_t count = 1 + static_cast<std::size_t>(t + r) % 9;
                    std::vector<std::string_view> batch;
                    std::vector<std::size_t> index;
                    for (std::size_t k = 0; k < count; ++k) {
                        index.push_back((start + k) % texts.size());
                        batch.emplace_back(texts[index.back()]);
                    }
                    const kse::Embeddings emb = enc.encode(batch);
                    for (std::size_t k = 0; k < count; ++k) {
                        if (max_abs_diff(emb.row(k).data(), expected[index[k]].data(), dim) > 1e-6f) ++wrong;
                        ++checked;
                    }
                    if (enc.tokenize(texts[start]).size() < 3) ++wrong;
                }
            } catch (const std::exception& e) {
                std::fprintf(stderr, "thread %d: %s\n", t, e.what());
                ++failures;
            }
        });
    }
    for (std::thread& th : pool) th.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(wrong.load(), 0);
    long total = 0;
    for (int t = 0; t < kThreads; ++t)
        for (int r = 0; r < kRounds; ++r) total += 1 + (t + r) % 9;
    EXPECT_EQ(checked.load(), total);
}

// ---------------------------------------------------------------- resources
// run_tests.sh runs these in a process of their own, so the resident set
// starts from this suite alone. The C heap in use (mallinfo2) is checked too:
// it shows a leak even where freed memory would have been reused.

constexpr long kMiB = 1024;  // in KiB, the unit of rss_kib()

// 20,000 short sentences in 200 calls on one tiny-e5 encoder: after 20 calls
// of warm-up the resident set grows by less than 32 MiB and the heap in use
// by less than 4 MiB.
TEST(Resources, ManyEncodesKeepMemoryFlat) {
    const kse::Encoder& enc = tiny();
    std::vector<std::string> batch;
    for (int i = 0; i < 100; ++i) batch.push_back("짧은 문장 " + std::to_string(i));
    std::vector<float> out(batch.size() * enc.dim());
    for (int k = 0; k < 20; ++k) (void)enc.encode(batch);
    const long rss_before = rss_kib();
    const long long heap_before = kse_test::heap_in_use();
    for (int k = 0; k < 180; ++k) {
        if (k % 2 == 0)
            (void)enc.encode(batch);
        else
            enc.encode(batch, out.data(), out.size());
    }
    const long rss_after = rss_kib();
    const long long heap_after = kse_test::heap_in_use();
    ASSERT_GT(rss_before, 0);
    std::printf("18,000 sentences: RSS %ld -> %ld KiB, heap in use %lld -> %lld KiB\n", rss_before, rss_after,
                heap_before / 1024, heap_after / 1024);
    EXPECT_LT(rss_after - rss_before, 32 * kMiB);
    EXPECT_LT(heap_after - heap_before, 4LL << 20);
}

// Each tiny-e5 encoder holds about 250 MiB. After one warm-up cycle, 4
// create/encode/destroy cycles grow the resident set by less than 64 MiB and
// the heap in use by less than 8 MiB: every encoder is freed.
TEST(Resources, CreateDestroyFreesEverything) {
    kse::Options o;
    o.threads = 1;
    {
        const kse::Encoder warm(tiny_dir(), o);
        (void)warm.encode({"준비"});
    }
    const long rss_before = rss_kib();
    const long long heap_before = kse_test::heap_in_use();
    long long heap_loaded = 0;
    for (int i = 0; i < 4; ++i) {
        const kse::Encoder enc(tiny_dir(), o);
        (void)enc.encode({"생성과 해제"});
        heap_loaded = kse_test::heap_in_use();
    }
    const long rss_after = rss_kib();
    const long long heap_after = kse_test::heap_in_use();
    std::printf("4 create/destroy cycles: RSS %ld -> %ld KiB, heap in use %lld -> %lld KiB (%lld KiB with an encoder)\n",
                rss_before, rss_after, heap_before / 1024, heap_after / 1024, heap_loaded / 1024);
    EXPECT_GT(heap_loaded - heap_before, 32LL << 20) << "an encoder should show on the heap; the check would be blind";
    EXPECT_LT(rss_after - rss_before, 64 * kMiB);
    EXPECT_LT(heap_after - heap_before, 8LL << 20);
}

}  // namespace

int main(int argc, char** argv) {
    if (!kse_test::prerequisites_present()) return 1;
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
