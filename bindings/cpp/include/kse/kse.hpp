/*
 * kse for C++: a header-only C++17 wrapper over the C API in kse.h.
 *
 *   #include <kse/kse.hpp>
 *
 *   kse::Encoder enc(kse::default_model);          // the default model, kse-ko-small
 *   kse::Embeddings emb = enc.encode({"안녕하세요", "반갑습니다"});
 *   float cos = kse::cosine(emb.row(0), emb.row(1));
 *
 *   kse::Encoder named("models/kse-ko-small");     // or a model directory
 *   kse::Encoder mini("kse-ko-mini");              // or a model shipped with kse, by name
 *
 * Long inputs (docs/long-inputs.md). A text over max_tokens() tokens is cut
 * by default (Options::long_inputs = kse::Long::truncate); Long::error
 * refuses it, and Long::window encodes it whole as one vector from windows
 * sharing Options::window_overlap tokens. For documents:
 *
 *   std::size_t n = enc.count_tokens(doc);         // exact, no model run
 *   for (const kse::Chunk& c : enc.encode_chunks(doc, 128, 16))
 *       use(c.text(doc), c.vector);                // doc.substr(c.start, c.end - c.start)
 *
 * The default model (kse::default_model, or an Encoder constructed from
 * Options alone) is found by libkse: the directory in $KSE_MODEL_DIR if set,
 * else models/kse-ko-small of the build tree or share/kse/models/kse-ko-small
 * of the installed tree that libkse sits in (kse::Error with
 * KSE_ERR_MODEL_NOT_FOUND, naming the places, otherwise). A program linked
 * with libkse.a looks beside itself instead. Exactly "kse-ko-small" or
 * "kse-ko-mini" as the directory is the name of a model shipped with kse,
 * found the same way but never through $KSE_MODEL_DIR or the current
 * directory ("./kse-ko-mini" is a directory). kse-ko-mini is the default
 * distilled into 6 layers: about twice as fast, the same 384-d vectors,
 * KorSTS dev 84.75 against the default's 85.54.
 *
 * Link with libkse: CMake `find_package(kse CONFIG REQUIRED)` and
 * `target_link_libraries(app PRIVATE kse::kse)`, or pkg-config `kse`.
 *
 * Errors: every failure throws kse::Error (a std::runtime_error) carrying the
 * kse_status (`status()`) and the library's message (`message()`); `what()`
 * is "KSE_ERR_NAME: message".
 *
 * Threading: like the C API. The const member functions of kse::Encoder
 * (encode, tokenize, count_tokens, chunks, encode_chunks, dim, max_tokens,
 * model_name) may be called from any
 * number of threads at once on one encoder; up to Options::sessions encodes
 * run in parallel and the others wait. Constructing, moving into, resetting
 * or destroying an encoder must not overlap any other use of that encoder.
 *
 * An empty encoder (default-constructed, moved from, or reset) holds no
 * model: valid() is false, and every query or encode on it throws kse::Error
 * with status KSE_ERR_INVALID_HANDLE. Assigning a live encoder to it makes it
 * usable again.
 */
#ifndef KSE_HPP
#define KSE_HPP

#include "kse.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#if __cplusplus >= 202002L && __has_include(<span>)
#include <span>
#define KSE_HPP_HAS_SPAN 1
#else
#define KSE_HPP_HAS_SPAN 0
#endif

namespace kse {

/// A kse_status value: KSE_OK (0) or one of the KSE_ERR_* constants of kse.h.
using Status = kse_status;

/// A static name for a status, e.g. "KSE_ERR_INVALID_UTF8".
inline const char* status_name(Status status) noexcept { return kse_status_name(status); }

/// A failed kse call. Copying it never throws (the text lives in the
/// std::runtime_error base).
class Error : public std::runtime_error {
public:
    Error(Status status, std::string_view message)
        : std::runtime_error(compose(status, message)), status_(status),
          message_offset_(std::strlen(kse_status_name(status)) + 2) {}

    /// The kse_status of the failure (never KSE_OK).
    Status status() const noexcept { return status_; }
    /// The status's name, e.g. "KSE_ERR_MODEL_NOT_FOUND".
    const char* status_name() const noexcept { return kse_status_name(status_); }
    /// The library's message alone, without the status name.
    const char* message() const noexcept { return what() + message_offset_; }

private:
    static std::string compose(Status status, std::string_view message) {
        std::string s = kse_status_name(status);
        s += ": ";
        s += message;
        return s;
    }

    Status status_;
    std::size_t message_offset_;
};

/// What an encoder does with a text longer than its max tokens
/// (Options::long_inputs; docs/long-inputs.md defines each exactly).
enum class Long : std::uint32_t {
    /// Keep the first max_tokens() tokens; Stats::truncated counts the texts
    /// cut. The default.
    truncate = KSE_TRUNCATE,
    /// Throw kse::Error with KSE_ERR_INPUT_TOO_LONG.
    error = KSE_TRUNCATION_ERROR,
    /// Encode the whole text as windows of max tokens sharing
    /// Options::window_overlap tokens, combined into one vector (each
    /// window weighted by the tokens it adds); Stats::windowed and
    /// Stats::windows count them.
    window = KSE_WINDOW,
};

/// Options for kse::Encoder; the defaults are the C library's.
struct Options {
    /// ONNX Runtime intra-op threads per session; 0 = the machine's cores
    /// divided among the sessions.
    std::uint32_t threads = 0;
    /// Sessions in the pool: how many encode calls run at once (more wait).
    std::uint32_t sessions = 1;
    /// Upper bound on (texts in a batch) x (longest text's tokens) per model
    /// run; 0 keeps the library's default (512).
    std::uint32_t batch_tokens = 0;
    /// The older spelling of long_inputs, kept so that existing code
    /// compiles: false means Long::error when long_inputs is left at
    /// Long::truncate. false together with Long::window is contradictory and
    /// makes the constructor throw KSE_ERR_INVALID_ARGUMENT.
    bool truncate = true;
    /// ONNX Runtime library to load; empty = libkse's own search
    /// (KSE_ORT_LIBRARY, then beside libkse.so, then the system path).
    /// (`{}`: C++20 designated initialisers may leave it out without
    /// -Wmissing-field-initializers.)
    std::filesystem::path ort_library{};
    // The fields below were added with long-input support, after the others
    // so that aggregate initialisation written before them still compiles.
    /// What to do with texts longer than max_tokens(): cut them (the
    /// default), throw KSE_ERR_INPUT_TOO_LONG, or encode them in windows.
    Long long_inputs = Long::truncate;
    /// Under Long::window: tokens consecutive windows share. Must be less
    /// than max_tokens() minus the special and prefix tokens (507 for the
    /// default model), else the constructor throws KSE_ERR_INVALID_ARGUMENT.
    std::uint32_t window_overlap = 32;
};

/// Selects libkse's default model (kse-ko-small) in kse::Encoder's
/// constructor: `kse::Encoder enc(kse::default_model);`
struct DefaultModel {
    explicit constexpr DefaultModel() = default;
};
/// The DefaultModel tag.
inline constexpr DefaultModel default_model{};

/// Counts reported by an encode call.
struct Stats {
    /// Tokens fed to the model, special tokens included, padding excluded.
    std::size_t tokens = 0;
    /// Texts cut at the model's max tokens.
    std::size_t truncated = 0;
    /// Texts over max tokens encoded in windows (Long::window).
    std::size_t windowed = 0;
    /// Windows those texts took.
    std::size_t windows = 0;
};

/// One chunk of a document from Encoder::encode_chunks or Encoder::chunks:
/// bytes [start, end) of the document (on UTF-8 character boundaries),
/// the ids the model sees for it and its embedding.
struct Chunk {
    /// Offset of the chunk's first byte in the document.
    std::size_t start = 0;
    /// Offset just past its last byte.
    std::size_t end = 0;
    /// Ids of the chunk's model row, special and prefix tokens included.
    std::size_t tokens = 0;
    /// Its embedding (dim() floats); empty from Encoder::chunks.
    std::vector<float> vector;

    /// The chunk's text in `document` (the one it was cut from):
    /// document.substr(start, end - start).
    std::string_view text(std::string_view document) const { return document.substr(start, end - start); }
};

/// A read-only view of one embedding (dim() floats), valid while the
/// Embeddings it came from is alive and unchanged. A contiguous range: in
/// C++20 it converts to std::span<const float>.
class RowView {
public:
    RowView() noexcept = default;
    RowView(const float* data, std::size_t size) noexcept : data_(data), size_(size) {}

    const float* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    const float* begin() const noexcept { return data_; }
    const float* end() const noexcept { return data_ + size_; }
    const float& operator[](std::size_t j) const noexcept { return data_[j]; }
    std::vector<float> to_vector() const { return std::vector<float>(begin(), end()); }

private:
    const float* data_ = nullptr;
    std::size_t size_ = 0;
};

/// Embeddings of a batch: a row-major rows() x dim() float matrix, row i for
/// text i, plus the Stats of the call that produced it.
class Embeddings {
public:
    Embeddings() = default;

    std::size_t rows() const noexcept { return rows_; }
    std::size_t dim() const noexcept { return dim_; }
    /// rows() * dim()
    std::size_t size() const noexcept { return data_.size(); }
    bool empty() const noexcept { return rows_ == 0; }

    float* data() noexcept { return data_.data(); }
    const float* data() const noexcept { return data_.data(); }

    /// Component j of row i (unchecked).
    float& operator()(std::size_t i, std::size_t j) noexcept { return data_[i * dim_ + j]; }
    const float& operator()(std::size_t i, std::size_t j) const noexcept { return data_[i * dim_ + j]; }
    /// Component j of row i; throws std::out_of_range.
    const float& at(std::size_t i, std::size_t j) const {
        if (i >= rows_ || j >= dim_) throw std::out_of_range("kse::Embeddings::at: index out of range");
        return data_[i * dim_ + j];
    }

    /// Row i; throws std::out_of_range.
    RowView row(std::size_t i) const {
        if (i >= rows_) throw std::out_of_range("kse::Embeddings::row: row index out of range");
        return RowView(data_.data() + i * dim_, dim_);
    }
    RowView operator[](std::size_t i) const noexcept { return RowView(data_.data() + i * dim_, dim_); }

    const Stats& stats() const noexcept { return stats_; }

    /// The flat row-major values.
    const std::vector<float>& values() const noexcept { return data_; }
    /// Moves the flat row-major values out, leaving this matrix 0 x dim().
    std::vector<float> release() noexcept {
        rows_ = 0;
        return std::move(data_);
    }

private:
    friend class Encoder;
    Embeddings(std::size_t rows, std::size_t dim, std::size_t size) : rows_(rows), dim_(dim), data_(size) {}

    std::size_t rows_ = 0;
    std::size_t dim_ = 0;
    std::vector<float> data_;
    Stats stats_;
};

/// Dot product of two vectors of equal size (accumulated in double).
inline double dot(RowView a, RowView b) {
    if (a.size() != b.size()) throw std::invalid_argument("kse::dot: vectors differ in size");
    double s = 0.0;
    for (std::size_t k = 0; k < a.size(); ++k) s += static_cast<double>(a[k]) * static_cast<double>(b[k]);
    return s;
}

/// Cosine similarity of two vectors of equal size (0 if either is all zeros).
inline double cosine(RowView a, RowView b) {
    const double na = std::sqrt(dot(a, a)), nb = std::sqrt(dot(b, b));
    return na == 0.0 || nb == 0.0 ? 0.0 : dot(a, b) / (na * nb);
}

namespace detail {

/// A text's bytes for the C API: never NULL (an empty view may have no data).
inline const char* bytes(std::string_view text) noexcept { return text.data() != nullptr ? text.data() : ""; }

inline void check(Status status, const kse_error& err) {
    if (status == KSE_OK) return;
    // The library always NUL-terminates; never read past the buffer anyway.
    const void* nul = std::memchr(err.message, '\0', sizeof err.message);
    const std::size_t n = nul ? static_cast<std::size_t>(static_cast<const char*>(nul) - err.message) : sizeof err.message;
    throw Error(status, std::string_view(err.message, n));
}

/// Pointer and length arrays for kse_encode (explicit lengths: no NULs needed).
struct TextArrays {
    std::vector<const char*> ptrs;
    std::vector<std::size_t> lengths;

    template <class It>
    TextArrays(It first, std::size_t n) {
        ptrs.reserve(n);
        lengths.reserve(n);
        for (std::size_t i = 0; i < n; ++i, ++first) {
            const std::string_view s(*first);
            ptrs.push_back(s.data());
            lengths.push_back(s.size());
        }
    }
};

}  // namespace detail

/// A loaded model: move-only owner of a kse_encoder (freed by the destructor).
class Encoder {
public:
    /// An empty encoder (valid() is false); assign a loaded one to use it.
    Encoder() noexcept = default;

    /// Loads the model directory, or a shipped model by its exact name
    /// ("kse-ko-small", "kse-ko-mini": see kse_options.model_dir), about a
    /// second for the default model: do it once and share the encoder across
    /// threads. Throws kse::Error:
    /// KSE_ERR_MODEL_NOT_FOUND, KSE_ERR_MODEL_INVALID,
    /// KSE_ERR_RUNTIME_UNAVAILABLE, KSE_ERR_INVALID_ARGUMENT (bad option).
    explicit Encoder(const std::filesystem::path& model_dir, const Options& options = Options()) {
        // kse takes UTF-8 paths; on POSIX the native encoding is passed through.
        const std::string dir = model_dir.string();
        create(dir.c_str(), options);
    }

    /// Loads libkse's default model, kse-ko-small (kse_options.model_dir
    /// NULL): $KSE_MODEL_DIR if set, else models/kse-ko-small of the build
    /// tree or share/kse/models/kse-ko-small of the installed tree that
    /// libkse sits in. Throws kse::Error like the constructor above
    /// (KSE_ERR_MODEL_NOT_FOUND naming the places looked at).
    explicit Encoder(DefaultModel, const Options& options = Options()) { create(nullptr, options); }

    /// The default model with these options: Encoder(kse::default_model, options).
    explicit Encoder(const Options& options) : Encoder(default_model, options) {}

    Encoder(const Encoder&) = delete;
    Encoder& operator=(const Encoder&) = delete;
    Encoder(Encoder&& other) noexcept : enc_(std::exchange(other.enc_, nullptr)) {}
    Encoder& operator=(Encoder&& other) noexcept {
        if (this != &other) {
            kse_free(enc_);
            enc_ = std::exchange(other.enc_, nullptr);
        }
        return *this;
    }
    ~Encoder() { kse_free(enc_); }

    /// Frees the model now; the encoder becomes empty.
    void reset() noexcept { kse_free(std::exchange(enc_, nullptr)); }

    /// Whether this encoder holds a model.
    bool valid() const noexcept { return enc_ != nullptr; }
    explicit operator bool() const noexcept { return valid(); }

    /// The C handle, for calling kse.h directly (still owned by this object).
    kse_encoder* handle() const noexcept { return enc_; }

    /// Floats per embedding.
    std::size_t dim() const { return kse_dim(live()); }
    /// Max tokens per text, special tokens included.
    std::size_t max_tokens() const { return kse_max_tokens(live()); }
    /// The model's name from its manifest.
    std::string model_name() const { return kse_model_name(live()); }

    /// Embeds texts (UTF-8) into a texts.size() x dim() matrix.
    Embeddings encode(const std::vector<std::string>& texts) const { return encode_range(texts.begin(), texts.size()); }
    /// Embeds texts without copying them.
    Embeddings encode(const std::vector<std::string_view>& texts) const { return encode_range(texts.begin(), texts.size()); }
    Embeddings encode(std::initializer_list<std::string_view> texts) const { return encode_range(texts.begin(), texts.size()); }
    Embeddings encode(const std::string_view* texts, std::size_t n) const { return encode_range(texts, n); }

    /// Embeds texts into caller memory: out holds `capacity` floats and
    /// needs texts.size() * dim(); if it is smaller, throws
    /// KSE_ERR_BUFFER_TOO_SMALL and writes nothing (out is also untouched on
    /// any other error).
    Stats encode(const std::vector<std::string>& texts, float* out, std::size_t capacity) const {
        return encode_range_into(texts.begin(), texts.size(), out, capacity);
    }
    Stats encode(const std::vector<std::string_view>& texts, float* out, std::size_t capacity) const {
        return encode_range_into(texts.begin(), texts.size(), out, capacity);
    }
    Stats encode(std::initializer_list<std::string_view> texts, float* out, std::size_t capacity) const {
        return encode_range_into(texts.begin(), texts.size(), out, capacity);
    }
    Stats encode(const std::string_view* texts, std::size_t n, float* out, std::size_t capacity) const {
        return encode_range_into(texts, n, out, capacity);
    }

#if KSE_HPP_HAS_SPAN
    Embeddings encode(std::span<const std::string_view> texts) const { return encode_range(texts.begin(), texts.size()); }
    Stats encode(std::span<const std::string_view> texts, std::span<float> out) const {
        return encode_range_into(texts.begin(), texts.size(), out.data(), out.size());
    }
    Stats encode(const std::vector<std::string>& texts, std::span<float> out) const {
        return encode_range_into(texts.begin(), texts.size(), out.data(), out.size());
    }
#endif

    /// Embeds one text into a dim()-float vector.
    std::vector<float> encode_one(std::string_view text, Stats* stats = nullptr) const {
        std::vector<float> v(dim());
        const Stats s = encode_range_into(&text, 1, v.data(), v.size());
        if (stats) *stats = s;
        return v;
    }

    /// Token ids the model sees for text (prefix and special tokens
    /// included, cut at max_tokens(); under Long::error an over-long text
    /// throws KSE_ERR_INPUT_TOO_LONG, under Long::window these are the first
    /// window's ids).
    std::vector<std::int32_t> tokenize(std::string_view text) const {
        const kse_encoder* e = live();
        std::vector<std::int32_t> ids(kse_max_tokens(e));
        const char* p = detail::bytes(text);
        for (;;) {
            std::size_t n = 0;
            kse_error err{};
            const Status st = kse_tokenize(e, p, text.size(), ids.data(), ids.size(), &n, &err);
            if (st == KSE_ERR_BUFFER_TOO_SMALL && n > ids.size()) {
                ids.resize(n);
                continue;
            }
            detail::check(st, err);
            ids.resize(n);
            return ids;
        }
    }

    /// How many ids the model would see for text without truncation
    /// (prefix and special tokens included). Runs only the tokenizer.
    std::size_t count_tokens(std::string_view text) const {
        const kse_encoder* e = live();
        std::size_t n = 0;
        kse_error err{};
        detail::check(kse_count_tokens(e, detail::bytes(text), text.size(), &n, &err), err);
        return n;
    }

    /// Splits a UTF-8 document into chunks of at most chunk_tokens tokens
    /// each (special and prefix tokens included; 0 = max_tokens()), at
    /// sentence ends where it can and at token boundaries where a sentence
    /// alone is too long, consecutive chunks sharing `overlap` tokens, and
    /// embeds each chunk (docs/long-inputs.md defines the cuts exactly).
    /// Offsets are bytes of `document`: chunk.text(document) is its text.
    /// An empty or whitespace-only document has no chunks. Throws
    /// kse::Error: KSE_ERR_INVALID_ARGUMENT when chunk_tokens is above
    /// max_tokens() or leaves no room for the document's tokens after the
    /// special and prefix tokens, or when overlap is not below that room;
    /// KSE_ERR_INVALID_UTF8.
    std::vector<Chunk> encode_chunks(std::string_view document, std::size_t chunk_tokens = 0,
                                     std::size_t overlap = 0) const {
        return chunk(document, chunk_tokens, overlap, true);
    }

    /// The chunks encode_chunks would give, without their vectors: byte
    /// ranges and token counts only (the tokenizer runs, the model does not).
    std::vector<Chunk> chunks(std::string_view document, std::size_t chunk_tokens = 0, std::size_t overlap = 0) const {
        return chunk(document, chunk_tokens, overlap, false);
    }

private:
    /// kse_create with model_dir `dir` (nullptr: the default model).
    void create(const char* dir, const Options& options) {
        kse_options o;
        Status st = KSE_OPTIONS_INIT(&o);
        if (st != KSE_OK)
            throw Error(st, "kse_options_init refused the kse_options of this kse.h: the header is newer than libkse");
        const std::string ort = options.ort_library.string();
        o.model_dir = dir;
        o.ort_library_path = ort.empty() ? nullptr : ort.c_str();
        o.intra_threads = options.threads;
        o.sessions = options.sessions;
        if (options.batch_tokens != 0) o.batch_tokens = options.batch_tokens;
        Long policy = options.long_inputs;
        if (!options.truncate) {
            if (policy == Long::window)
                throw Error(KSE_ERR_INVALID_ARGUMENT,
                            "kse::Options: truncate = false contradicts long_inputs = kse::Long::window "
                            "(set long_inputs alone)");
            policy = Long::error;
        }
        o.truncation = static_cast<kse_truncation>(policy);
        o.window_overlap = options.window_overlap;
        kse_error err{};
        st = kse_create(&o, &enc_, &err);
        detail::check(st, err);
    }

    const kse_encoder* live() const {
        if (enc_ == nullptr)
            throw Error(KSE_ERR_INVALID_HANDLE, "kse::Encoder is empty (default-constructed, moved from or reset)");
        return enc_;
    }

    template <class It>
    Embeddings encode_range(It first, std::size_t n) const {
        const std::size_t d = dim();
        if (d != 0 && n > std::numeric_limits<std::size_t>::max() / sizeof(float) / d)
            throw Error(KSE_ERR_INVALID_ARGUMENT, "kse::Encoder::encode: too many texts for one output buffer");
        Embeddings out(n, d, n * d);
        out.stats_ = encode_range_into(first, n, out.data(), out.size());
        return out;
    }

    template <class It>
    Stats encode_range_into(It first, std::size_t n, float* out, std::size_t capacity) const {
        const kse_encoder* e = live();
        // Checked here too so that a null or empty buffer reports its size
        // (the C API calls a NULL `out` an invalid argument).
        const std::size_t d = kse_dim(e);
        if (d != 0 && capacity / d < n) {
            const bool fits = n <= std::numeric_limits<std::size_t>::max() / d;
            throw Error(KSE_ERR_BUFFER_TOO_SMALL, "the output holds " + std::to_string(capacity) + " floats; " +
                                                      std::to_string(n) + " texts x " + std::to_string(d) +
                                                      " need " + (fits ? std::to_string(n * d) : "more"));
        }
        const detail::TextArrays t(first, n);
        kse_encode_stats stats{};
        kse_error err{};
        const Status st = kse_encode(e, t.ptrs.data(), t.lengths.data(), n, out, capacity, &stats, &err);
        detail::check(st, err);
        return Stats{stats.tokens, stats.truncated, stats.windowed, stats.windows};
    }

    std::vector<Chunk> chunk(std::string_view document, std::size_t chunk_tokens, std::size_t overlap,
                             bool vectors) const {
        const kse_encoder* e = live();
        const std::size_t d = kse_dim(e);
        const char* p = detail::bytes(document);
        // Sizing call: the number of chunks (tokenizer only, no model run).
        std::size_t n = 0;
        kse_error err{};
        Status st = kse_encode_chunks(e, p, document.size(), chunk_tokens, overlap, nullptr, 0, nullptr, 0, &n, &err);
        if (st != KSE_ERR_BUFFER_TOO_SMALL) detail::check(st, err);
        std::vector<kse_chunk> ranges;
        std::vector<float> out;
        while (n > 0) {
            if (vectors && d != 0 && n > std::numeric_limits<std::size_t>::max() / sizeof(float) / d)
                throw Error(KSE_ERR_INVALID_ARGUMENT, "kse::Encoder::encode_chunks: too many chunks for one buffer");
            ranges.resize(n);
            if (vectors) out.resize(n * d);
            err = kse_error{};
            st = kse_encode_chunks(e, p, document.size(), chunk_tokens, overlap, ranges.data(), ranges.size(),
                                   vectors ? out.data() : nullptr, vectors ? out.size() : 0, &n, &err);
            // The count cannot change for the same text; resize and retry if it ever does.
            if (st == KSE_ERR_BUFFER_TOO_SMALL && n > ranges.size()) continue;
            detail::check(st, err);
            break;
        }
        std::vector<Chunk> result(n);
        for (std::size_t i = 0; i < n; ++i) {
            result[i].start = ranges[i].start;
            result[i].end = ranges[i].end;
            result[i].tokens = ranges[i].tokens;
            if (vectors) {
                const float* row = out.data() + i * d;
                result[i].vector.assign(row, row + d);
            }
        }
        return result;
    }

    kse_encoder* enc_ = nullptr;
};

/// KSE_VERSION_NUMBER of the kse.h this code was compiled with.
constexpr std::uint32_t header_version_number() noexcept { return KSE_VERSION_NUMBER; }
/// The loaded library's version number (kse_version_number()).
inline std::uint32_t library_version_number() noexcept { return kse_version_number(); }
/// The loaded library's version string, e.g. "0.2.0".
inline const char* library_version() noexcept { return kse_version(); }

/// Whether a library of version `library` serves code compiled against
/// headers of version `header` (numbers as KSE_VERSION_NUMBER computes
/// them): same major version (same minor too while the major is 0) and the
/// library no older than the header.
constexpr bool version_compatible(std::uint32_t header, std::uint32_t library) noexcept {
    const std::uint32_t hmaj = header / 10000, lmaj = library / 10000;
    const std::uint32_t hmin = header / 100 % 100, lmin = library / 100 % 100;
    return hmaj == lmaj && (hmaj != 0 || hmin == lmin) && library >= header;
}

/// Whether the loaded libkse suits this kse.h: same ABI version and a
/// compatible version number.
inline bool version_matches() noexcept {
    return kse_abi_version() == KSE_ABI_VERSION && version_compatible(KSE_VERSION_NUMBER, kse_version_number());
}

/// Throws kse::Error (KSE_ERR_UNSUPPORTED_VERSION) unless version_matches().
inline void check_version() {
    if (version_matches()) return;
    throw Error(KSE_ERR_UNSUPPORTED_VERSION,
                "kse.h is version " + std::to_string(KSE_VERSION_NUMBER) + " (ABI " + std::to_string(KSE_ABI_VERSION) +
                    ") but the loaded libkse is " + kse_version() + " (version number " +
                    std::to_string(kse_version_number()) + ", ABI " + std::to_string(kse_abi_version()) + ")");
}

}  // namespace kse

#endif  // KSE_HPP
