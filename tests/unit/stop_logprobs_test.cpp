// tests/unit/stop_logprobs_test.cpp - stop strings over streamed pieces, and token log-probabilities.
#include "runtime/logprobs.h"
#include "runtime/stop_strings.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>

using namespace gpt2c;

namespace {

// Feeds `text` to a filter in pieces cut at `cuts`, returns (released text, stopped).
std::pair<std::string, bool> stream(const std::vector<std::string>& stops, const std::string& text,
                                    const std::vector<size_t>& cuts) {
    StopStringFilter f(stops);
    std::string out;
    size_t at = 0;
    for (size_t cut : cuts) {
        out += f.push(std::string_view(text).substr(at, cut - at));
        at = cut;
    }
    out += f.push(std::string_view(text).substr(at));
    out += f.flush();
    return {out, f.stopped()};
}

// What a stop filter must release: the text up to the earliest stop string.
std::pair<std::string, bool> expected(const std::vector<std::string>& stops, const std::string& text) {
    size_t cut = std::string::npos;
    for (const std::string& s : stops)
        if (!s.empty()) cut = std::min(cut, text.find(s));
    return cut == std::string::npos ? std::pair{text, false} : std::pair{text.substr(0, cut), true};
}

}  // namespace

TEST_CASE("stop strings: the text before the first stop string, however it is cut", "[stop]") {
    const std::vector<std::string> stops = {"\n\n", "END", "ENDING", "x"};
    CHECK(stream(stops, "hello\n\nworld", {}) == std::pair<std::string, bool>{"hello", true});
    CHECK(stream(stops, "hello\n", {3}) == std::pair<std::string, bool>{"hello\n", false});  // held, then flushed
    CHECK(stream(stops, "THE END", {5}) == std::pair<std::string, bool>{"THE ", true});
    CHECK(stream(stops, "no stop here", {2, 4}) == std::pair<std::string, bool>{"no stop here", false});
    CHECK(stream({}, "anything", {1}) == std::pair<std::string, bool>{"anything", false});
    CHECK(stream({""}, "empty stops are ignored", {}) == std::pair<std::string, bool>{"empty stops are ignored", false});
    // Random texts over a small alphabet, random cuts: always the reference answer.
    std::mt19937 rng(7);
    const std::string alphabet = "EN DIG\nx";
    for (int trial = 0; trial < 2000; ++trial) {
        std::string text;
        for (int i = int(rng() % 24); i > 0; --i) text += alphabet[rng() % alphabet.size()];
        std::vector<size_t> cuts;
        for (size_t c = 0; c < text.size(); ++c)
            if (rng() % 3 == 0) cuts.push_back(c);
        INFO("text: '" << text << "'");
        CHECK(stream(stops, text, cuts) == expected(stops, text));
    }
}

TEST_CASE("stop strings: nothing is released after the stop, and what is held is released only at the end", "[stop]") {
    StopStringFilter f({"STOP"});
    CHECK(f.push("ab") == "ab");
    CHECK(f.push("cST") == "c");  // "ST" might begin STOP
    CHECK(f.push("O") == "");
    CHECK(f.push("Pzz") == "");
    CHECK(f.stopped());
    CHECK(f.matched() == "STOP");
    CHECK(f.push("more") == "");
    CHECK(f.flush() == "");
}

TEST_CASE("logprobs: log softmax in double, top tokens in order", "[logprobs]") {
    std::vector<float> logits = {1.0f, 3.0f, -2.0f, 3.0f, 0.5f};
    double z = 0;
    for (float x : logits) z += std::exp(double(x));
    for (int32_t t = 0; t < 5; ++t) CHECK(token_logprob(logits, t) == Approx(double(logits[size_t(t)]) - std::log(z)).epsilon(1e-12));
    auto top = top_logprobs(logits, 3);
    REQUIRE(top.size() == 3);
    CHECK(top[0].token == 1);  // ties: the lower id first
    CHECK(top[1].token == 3);
    CHECK(top[2].token == 0);
    CHECK(top[0].logprob == Approx(token_logprob(logits, 1)));
    CHECK(top_logprobs(logits, 10).size() == 5);
    CHECK(top_logprobs(logits, 0).empty());
    // Large logits do not overflow: the maximum is subtracted first.
    std::vector<float> big = {1000.0f, 999.0f};
    CHECK(std::isfinite(token_logprob(big, 1)));
    CHECK(token_logprob(big, 0) == Approx(-std::log1p(std::exp(-1.0))));
    CHECK_THROWS_WITH(token_logprob(logits, 5), Catch::Contains("out of range"));
}
