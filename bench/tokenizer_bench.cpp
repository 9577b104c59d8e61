// bench/tokenizer_bench.cpp - encode/decode throughput of the GPT-2 tokenizer on ~1 MB of varied text.
//
// Usage: tokenizer_bench [model_dir] [vectors.json]
// (defaults: examples/tiny-shakespeare and tests/data/tokenizer/vectors.json, relative to the cwd).
#include "runtime/tokenizer.h"

#include "support/error.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace gpt2c {
namespace {

constexpr size_t kTargetBytes = 1 << 20;
constexpr int kRuns = 5;

std::vector<std::string> read_vector_texts(const std::string& path) {
    std::ifstream in(path);
    if (!in) fail("cannot open {}", path);
    std::vector<std::string> texts;
    for (const auto& v : nlohmann::json::parse(in)) texts.push_back(v.at("text").get<std::string>());
    return texts;
}

// A random word: mostly lowercase Latin, sometimes capitalized, numeric, Cyrillic or CJK,
// so that many pieces are new to the tokenizer's cache.
std::string random_word(std::mt19937& rng) {
    auto pick = [&](int n) { return int(rng() % unsigned(n)); };
    std::string word;
    const int length = 2 + pick(9);
    const int kind = pick(20);
    for (int i = 0; i < length; ++i) {
        if (kind == 0) {
            word += char('0' + pick(10));
        } else if (kind == 1) {  // Cyrillic U+0430..U+044F
            const int c = 0x430 + pick(32);
            word += char(0xC0 | (c >> 6));
            word += char(0x80 | (c & 0x3F));
        } else if (kind == 2) {  // CJK U+4E00..U+4FFF
            const int c = 0x4E00 + pick(0x200);
            word += char(0xE0 | (c >> 12));
            word += char(0x80 | ((c >> 6) & 0x3F));
            word += char(0x80 | (c & 0x3F));
        } else {
            word += char((i == 0 && kind == 3 ? 'A' : 'a') + pick(26));
        }
    }
    return word;
}

// ~1 MB: the reference vectors' texts, interleaved with generated sentences. Words
// come from a 50k-word generated lexicon with Zipf-like frequencies (as in real
// text, so the piece cache both hits and misses), plus 10% never-seen words.
std::string build_corpus(const std::vector<std::string>& texts) {
    std::mt19937 rng(12345);
    std::vector<std::string> lexicon;
    for (int i = 0; i < 50000; ++i) lexicon.push_back(random_word(rng));
    std::vector<double> weights;
    for (size_t i = 0; i < lexicon.size(); ++i) weights.push_back(1.0 / double(i + 1));
    std::discrete_distribution<size_t> zipf(weights.begin(), weights.end());
    const char* punctuation[] = {" ", " ", " ", " ", ", ", ". ", "; ", "! ", "?\n", "\n\n", " - ", "  "};
    std::string corpus;
    for (size_t i = 0; corpus.size() < kTargetBytes; ++i) {
        corpus += texts[i % texts.size()];
        corpus += '\n';
        for (int w = 0; w < 40; ++w) {
            corpus += rng() % 10 == 0 ? random_word(rng) : lexicon[zipf(rng)];
            corpus += punctuation[rng() % std::size(punctuation)];
        }
    }
    return corpus;
}

double seconds(const std::function<void()>& work) {
    const auto start = std::chrono::steady_clock::now();
    work();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

double mb_per_s(size_t bytes, double secs) { return double(bytes) / 1e6 / secs; }

int run(int argc, char** argv) {
    const std::string model_dir = argc > 1 ? argv[1] : "examples/tiny-shakespeare";
    const std::string vectors = argc > 2 ? argv[2] : "tests/data/tokenizer/vectors.json";
    const std::string corpus = build_corpus(read_vector_texts(vectors));

    std::vector<double> load_times, cold, warm, decode;
    std::vector<int32_t> ids;
    for (int r = 0; r < kRuns; ++r) {  // cold: a fresh Tokenizer (empty piece cache) per run
        Tokenizer fresh = [&] {
            const auto start = std::chrono::steady_clock::now();
            Tokenizer t = Tokenizer::load(model_dir);
            load_times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
            return t;
        }();
        cold.push_back(seconds([&] { ids = fresh.encode(corpus); }));
    }
    const Tokenizer tok = Tokenizer::load(model_dir);
    ids = tok.encode(corpus);  // warm the cache
    for (int r = 0; r < kRuns; ++r) warm.push_back(seconds([&] { ids = tok.encode(corpus); }));
    std::string text;
    for (int r = 0; r < kRuns; ++r) decode.push_back(seconds([&] { text = tok.decode(ids); }));
    if (text != corpus) fail("decode(encode(corpus)) differs from the corpus");

    fmt::print("corpus: {} bytes, {} tokens ({:.2f} bytes/token)\n", corpus.size(), ids.size(),
               double(corpus.size()) / double(ids.size()));
    fmt::print("load:               {:8.1f} ms (median of {})\n", median(load_times) * 1e3, kRuns);
    fmt::print("encode, cold cache: {:8.2f} MB/s (median of {})\n", mb_per_s(corpus.size(), median(cold)), kRuns);
    fmt::print("encode, warm cache: {:8.2f} MB/s (median of {})\n", mb_per_s(corpus.size(), median(warm)), kRuns);
    fmt::print("decode:             {:8.2f} MB/s (median of {})\n", mb_per_s(corpus.size(), median(decode)), kRuns);
    return 0;
}

}  // namespace
}  // namespace gpt2c

int main(int argc, char** argv) {
    try {
        return gpt2c::run(argc, argv);
    } catch (const gpt2c::Error& e) {
        fmt::print(stderr, "tokenizer_bench: {}\n", e.what());
        return 1;
    }
}
