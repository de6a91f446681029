// Paths and helpers shared by the C++ binding's test programs.
#ifndef KSE_CPP_TESTS_COMMON_HPP
#define KSE_CPP_TESTS_COMMON_HPP

#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <cstring>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#ifndef KSE_REPO_DIR
#error "KSE_REPO_DIR (the repository root) must be defined by the build"
#endif

namespace kse_test {

namespace fs = std::filesystem;

inline fs::path env_or(const char* name, const fs::path& fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? fs::path(v) : fallback;
}

/// The name of the model libkse loads when given no directory.
inline constexpr const char* default_model_name = "kse-ko-small";
/// The default model (384-d), as the other languages' tests use it.
inline fs::path model_dir() { return env_or("KSE_MODEL_DIR", fs::path(KSE_REPO_DIR) / "models" / default_model_name); }
/// The 16-d test model with multilingual-e5-small's tokenizer.
inline fs::path tiny_dir() { return env_or("KSE_TEST_MODELS", fs::path(KSE_REPO_DIR) / "target/test-models") / "tiny-e5"; }
/// sentences.txt and reference.f32 of the cross-language test.
inline fs::path xlang_dir() { return fs::path(KSE_REPO_DIR) / "target/xlang"; }
/// The long-input reference (tests/xlang/make_long_reference.py): doc{i}.txt,
/// params.txt, counts.txt, windows.txt, window.f32, chunks.tsv, chunks.f32.
inline fs::path long_dir() { return xlang_dir() / "long"; }

/// Checks every input the tests read; prints the setup command for a missing one.
inline bool prerequisites_present() {
    struct Need {
        fs::path path;
        const char* command;
    };
    const Need needs[] = {
        {fs::path(KSE_REPO_DIR) / "target/release/libonnxruntime.so.1", "make setup"},
        {model_dir() / "kse.json", "make setup"},
        {tiny_dir() / "kse.json", "make test-models"},
        {xlang_dir() / "sentences.txt", "make xlang-reference"},
        {xlang_dir() / "reference.f32", "make xlang-reference"},
        {long_dir() / "params.txt", "make xlang-reference"},
        {long_dir() / "chunks.f32", "make xlang-reference"},
    };
    bool ok = true;
    for (const Need& n : needs) {
        if (!fs::exists(n.path)) {
            std::fprintf(stderr, "missing %s: run `%s` first\n", n.path.c_str(), n.command);
            ok = false;
        }
    }
    return ok;
}

inline std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    if (!f) throw std::runtime_error("cannot read " + p.string());
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

/// Lines of a text without their '\n' (no trailing empty line), as views into it.
inline std::vector<std::string_view> lines(std::string_view text) {
    std::vector<std::string_view> out;
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        out.push_back(text.substr(0, nl));
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    return out;
}

/// The key=value lines of a text (params.txt).
inline std::map<std::string, std::string> key_values(std::string_view text) {
    std::map<std::string, std::string> out;
    for (std::string_view l : lines(text)) {
        const std::size_t eq = l.find('=');
        if (eq != std::string_view::npos) out.emplace(std::string(l.substr(0, eq)), std::string(l.substr(eq + 1)));
    }
    return out;
}

/// A file of little-endian float32 values (read on a little-endian host).
inline std::vector<float> read_f32(const fs::path& p) {
    const std::string bytes = slurp(p);
    if (bytes.size() % sizeof(float) != 0) throw std::runtime_error(p.string() + ": not a whole number of float32");
    std::vector<float> out(bytes.size() / sizeof(float));
    if (!out.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
}

/// Resident set size of this process in KiB (/proc/self/status VmRSS).
inline long rss_kib() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

/// Bytes the C heap has handed out and not yet taken back (glibc mallinfo2,
/// all arenas): unlike the resident set, it falls when memory is freed.
inline long long heap_in_use() {
    const struct mallinfo2 mi = mallinfo2();
    return static_cast<long long>(mi.uordblks + mi.hblkhd);
}

}  // namespace kse_test

#endif
