// tests/unit/sampler_test.cpp - Sampler: greedy, temperature, top-k, top-p, repetition penalty, seeds, validation.
#include "runtime/sampler.h"

#include "support/error.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>
#include <vector>

namespace {

using gpt2c::Sampler;
using gpt2c::SamplingOptions;
using Logits = std::vector<float>;
using Ids = std::vector<int32_t>;

// Distinct pseudo-random logits in about [-8, 8) (a fixed LCG: the same on every platform).
Logits random_logits(size_t n, uint32_t seed) {
    Logits logits(n);
    uint32_t state = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; ++i) {
        state = state * 1664525u + 1013904223u;
        logits[i] = float(state >> 8) / float(1 << 24) * 16.0f - 8.0f;
    }
    return logits;
}

int32_t argmax(const Logits& logits) {
    return int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

// The ids of the k largest logits.
std::set<int32_t> top_ids(const Logits& logits, size_t k) {
    Ids order(logits.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
    return {order.begin(), order.begin() + ptrdiff_t(k)};
}

SamplingOptions sampling(float temperature = 1.0f, int32_t top_k = 0, float top_p = 1.0f, uint64_t seed = 0) {
    SamplingOptions o;
    o.temperature = temperature;
    o.top_k = top_k;
    o.top_p = top_p;
    o.seed = seed;
    return o;
}

Ids draw(Sampler& sampler, const Logits& logits, int n, const Ids& history = {}) {
    Ids out;
    for (int i = 0; i < n; ++i) out.push_back(sampler.sample(logits, history));
    return out;
}

std::vector<double> frequencies(Sampler& sampler, const Logits& logits, int n, const Ids& history = {}) {
    std::vector<double> f(logits.size());
    for (int i = 0; i < n; ++i) f[size_t(sampler.sample(logits, history))] += 1.0 / n;
    return f;
}

}  // namespace

TEST_CASE("sampler: greedy is argmax, the lowest id on ties", "[sampler]") {
    SamplingOptions o;
    o.greedy = true;
    Sampler sampler(o);
    CHECK(sampler.sample(Logits{1, 3, 3, 2}, {}) == 1);
    CHECK(sampler.sample(Logits{-5, -1, -2}, {}) == 1);
    CHECK(sampler.sample(Logits{7}, {}) == 0);
    const Logits big = random_logits(50257, 1);
    CHECK(sampler.sample(big, {}) == argmax(big));

    // temperature <= 0 means greedy too.
    Sampler zero(sampling(0.0f));
    Sampler negative(sampling(-1.0f));
    CHECK(zero.sample(Logits{1, 3, 3, 2}, {}) == 1);
    CHECK(negative.sample(big, {}) == argmax(big));
}

TEST_CASE("sampler: top_k = 1 and temperature -> 0 equal greedy", "[sampler]") {
    for (uint32_t s = 0; s < 20; ++s) {
        const Logits logits = random_logits(1000, s);
        Sampler top1(sampling(1.0f, 1, 1.0f, s));
        Sampler cold(sampling(1e-6f, 0, 1.0f, s));
        Sampler hot_top1(sampling(5.0f, 1, 0.9f, s));
        for (int i = 0; i < 10; ++i) {
            CHECK(top1.sample(logits, {}) == argmax(logits));
            CHECK(cold.sample(logits, {}) == argmax(logits));
            CHECK(hot_top1.sample(logits, {}) == argmax(logits));
        }
    }
    // Ties: top_k = 1 keeps the lowest id, like greedy.
    Sampler top1(sampling(1.0f, 1));
    CHECK(draw(top1, Logits{0, 2, 2, 2}, 50) == Ids(50, 1));
}

TEST_CASE("sampler: top_k never picks outside the k best", "[sampler]") {
    const Logits logits = random_logits(5000, 7);
    for (int32_t k : {2, 5, 40}) {
        const std::set<int32_t> allowed = top_ids(logits, size_t(k));
        std::set<int32_t> seen;
        for (uint64_t seed = 0; seed < 50; ++seed) {
            Sampler sampler(sampling(3.0f, k, 1.0f, seed));  // hot: the tail would be likely without top-k
            for (int32_t id : draw(sampler, logits, 40)) {
                CHECK(allowed.count(id) == 1);
                seen.insert(id);
            }
        }
        CHECK(seen.size() > 1);
    }
    // k at or above the vocabulary size means no limit.
    Sampler all(sampling(1.0f, 10));
    std::set<int32_t> seen;
    for (int32_t id : draw(all, Logits{0, 0, 0}, 200)) seen.insert(id);
    CHECK(seen == std::set<int32_t>{0, 1, 2});
}

TEST_CASE("sampler: the same seed reproduces, different seeds differ", "[sampler]") {
    const Logits logits = random_logits(50257, 3);
    for (const SamplingOptions& o : {sampling(1.0f, 0, 1.0f, 42), sampling(0.8f, 40, 1.0f, 42),
                                     sampling(1.0f, 0, 0.9f, 42), sampling(0.7f, 50, 0.95f, 42)}) {
        Sampler a(o), b(o);
        const Ids first = draw(a, logits, 100);
        CHECK(draw(b, logits, 100) == first);
        SamplingOptions other = o;
        other.seed = 43;
        Sampler c(other);
        CHECK(draw(c, logits, 100) != first);
    }
}

TEST_CASE("sampler: the draw is a uniform double over the cumulative distribution, in id order", "[sampler]") {
    // The documented algorithm, recomputed here: mt19937_64(seed), u = top 53 bits / 2^53.
    const Logits logits = random_logits(300, 11);
    const float temperature = 0.7f;
    std::vector<double> weights(logits.size());
    const double best = *std::max_element(logits.begin(), logits.end());
    for (size_t i = 0; i < logits.size(); ++i) weights[i] = std::exp((double(logits[i]) - best) * (1.0 / double(temperature)));
    const double total = std::accumulate(weights.begin(), weights.end(), 0.0);

    std::mt19937_64 rng(1234);
    Sampler sampler(sampling(temperature, 0, 1.0f, 1234));
    for (int i = 0; i < 200; ++i) {
        const double u = double(rng() >> 11) * 0x1.0p-53 * total;
        double cumulative = 0;
        int32_t expected = -1;
        for (size_t id = 0; id < weights.size() && expected < 0; ++id)
            if (u < (cumulative += weights[id])) expected = int32_t(id);
        REQUIRE(sampler.sample(logits, {}) == expected);
    }
}

TEST_CASE("sampler: frequencies follow softmax(logits / temperature)", "[sampler]") {
    const Logits logits{std::log(0.5f), std::log(0.3f), std::log(0.2f)};
    Sampler plain(sampling(1.0f, 0, 1.0f, 5));
    const auto f = frequencies(plain, logits, 20000);
    CHECK(f[0] == Approx(0.5).margin(0.02));
    CHECK(f[1] == Approx(0.3).margin(0.02));
    CHECK(f[2] == Approx(0.2).margin(0.02));

    // T = 2: p^(1/2), renormalized.
    Sampler warm(sampling(2.0f, 0, 1.0f, 6));
    const auto g = frequencies(warm, logits, 20000);
    const double z = std::sqrt(0.5) + std::sqrt(0.3) + std::sqrt(0.2);
    CHECK(g[0] == Approx(std::sqrt(0.5) / z).margin(0.02));
    CHECK(g[2] == Approx(std::sqrt(0.2) / z).margin(0.02));
}

TEST_CASE("sampler: top_p keeps the smallest set reaching the mass", "[sampler]") {
    const Logits logits{std::log(0.05f), std::log(0.5f), std::log(0.15f), std::log(0.3f)};
    SECTION("tiny top_p picks the argmax") {
        for (uint64_t seed = 0; seed < 20; ++seed) {
            Sampler sampler(sampling(1.0f, 0, 1e-6f, seed));
            CHECK(draw(sampler, logits, 20) == Ids(20, 1));
        }
        const Logits big = random_logits(50257, 9);
        Sampler sampler(sampling(1.0f, 0, 1e-6f, 3));
        CHECK(draw(sampler, big, 20) == Ids(20, argmax(big)));
    }
    SECTION("0.75: the two best (0.5 + 0.3), renormalized") {
        Sampler sampler(sampling(1.0f, 0, 0.75f, 8));
        const auto f = frequencies(sampler, logits, 20000);
        CHECK(f[0] == 0);
        CHECK(f[2] == 0);
        CHECK(f[1] == Approx(0.5 / 0.8).margin(0.02));
        CHECK(f[3] == Approx(0.3 / 0.8).margin(0.02));
    }
    SECTION("0.85: the three best") {
        Sampler sampler(sampling(1.0f, 0, 0.85f, 8));
        const auto f = frequencies(sampler, logits, 20000);
        CHECK(f[0] == 0);
        CHECK(f[2] > 0.1);
    }
    SECTION("after top_k, the mass is of the renormalized k best") {
        // k = 2 leaves 0.5 / 0.8 and 0.3 / 0.8; top_p 0.6 then needs only the best.
        Sampler sampler(sampling(1.0f, 2, 0.6f, 8));
        CHECK(draw(sampler, logits, 100) == Ids(100, 1));
    }
}

TEST_CASE("sampler: top_p over a large flat vocabulary keeps about the right count", "[sampler]") {
    // Nearly flat, decreasing with the id: the nucleus of mass 0.5 is about the first half.
    const int32_t vocab = 50257;
    Logits logits(vocab);
    for (int32_t i = 0; i < vocab; ++i) logits[size_t(i)] = -float(i) * 1e-6f;
    std::vector<double> w(vocab);
    for (int32_t i = 0; i < vocab; ++i) w[size_t(i)] = std::exp(double(logits[size_t(i)]) - double(logits[0]));
    const double total = std::accumulate(w.begin(), w.end(), 0.0);
    int32_t cut = 0;
    for (double mass = 0; mass < 0.5 * total; ++cut) mass += w[size_t(cut)];

    Sampler sampler(sampling(1.0f, 0, 0.5f, 21));
    int32_t highest = 0;
    for (int32_t id : draw(sampler, logits, 2000)) {
        CHECK(id < cut + 2);  // float rounding may move the boundary by one
        highest = std::max(highest, id);
    }
    CHECK(highest > cut * 9 / 10);
}

TEST_CASE("sampler: repetition penalty (CTRL) lowers seen tokens once", "[sampler]") {
    SamplingOptions o;
    o.greedy = true;
    o.repetition_penalty = 1.2f;
    Sampler sampler(o);
    // Positive logit divided: 2.0 / 1.2 = 1.67 < 1.9.
    CHECK(sampler.sample(Logits{2.0f, 1.9f, 0.0f}, {}) == 0);
    CHECK(sampler.sample(Logits{2.0f, 1.9f, 0.0f}, Ids{0}) == 1);
    // Negative logit multiplied: -1.0 * 1.2 = -1.2 < -1.1.
    CHECK(sampler.sample(Logits{-1.0f, -1.1f}, Ids{0}) == 1);
    // Each distinct id once: 2.0 / 1.2 = 1.67 > 1.5, but 2.0 / 1.2^3 = 1.16 would not be.
    CHECK(sampler.sample(Logits{2.0f, 1.5f}, Ids{0, 0, 0}) == 0);
    // Unseen tokens are untouched.
    CHECK(sampler.sample(Logits{2.0f, 1.9f, 0.0f}, Ids{2, 2}) == 0);

    // When sampling, a seen token becomes less likely.
    const Logits logits{1.0f, 1.0f, 1.0f};
    SamplingOptions s = sampling(1.0f, 0, 1.0f, 4);
    s.repetition_penalty = 2.0f;
    Sampler penalized(s);
    const auto f = frequencies(penalized, logits, 20000, Ids{0});
    const double z = std::exp(0.5) + 2 * std::exp(1.0);
    CHECK(f[0] == Approx(std::exp(0.5) / z).margin(0.02));
    CHECK(f[0] < f[1]);
}

TEST_CASE("sampler: invalid options throw naming the option", "[sampler]") {
    const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
    auto error = [](const SamplingOptions& o) -> std::string {
        try {
            Sampler sampler(o);
        } catch (const gpt2c::Error& e) {
            return e.what();
        }
        return "";
    };
    SamplingOptions o;
    CHECK(error(o).empty());
    CHECK_THAT(error(sampling(nan)), Catch::Contains("temperature"));
    CHECK_THAT(error(sampling(inf)), Catch::Contains("temperature"));
    CHECK_THAT(error(sampling(1.0f, -1)), Catch::Contains("top_k") && Catch::Contains("-1"));
    CHECK_THAT(error(sampling(1.0f, 0, 0.0f)), Catch::Contains("top_p") && Catch::Contains("(0, 1]"));
    CHECK_THAT(error(sampling(1.0f, 0, 1.5f)), Catch::Contains("top_p"));
    CHECK_THAT(error(sampling(1.0f, 0, -0.5f)), Catch::Contains("top_p"));
    CHECK_THAT(error(sampling(1.0f, 0, nan)), Catch::Contains("top_p"));
    for (float r : {0.5f, 0.0f, -1.0f, inf, nan}) {
        o.repetition_penalty = r;
        CHECK_THAT(error(o), Catch::Contains("repetition_penalty"));
    }
    CHECK(error(sampling(1.0f, 0, 1.0f)).empty());
    CHECK(error(sampling(-3.0f, 5, 0.5f)).empty());  // a negative temperature is greedy, not an error
}

TEST_CASE("sampler: bad inputs to sample() throw", "[sampler]") {
    SamplingOptions o = sampling();
    o.repetition_penalty = 1.3f;
    Sampler sampler(o);
    CHECK_THROWS_WITH(sampler.sample(Logits{}, {}), Catch::Contains("no logits"));
    CHECK_THROWS_WITH(sampler.sample(Logits{1, std::nanf(""), 2}, {}), Catch::Contains("token 1") && Catch::Contains("NaN"));
    CHECK_THROWS_WITH(sampler.sample(Logits{1, 2}, Ids{0, 2}), Catch::Contains("2") && Catch::Contains("2 tokens"));
    CHECK_THROWS_WITH(sampler.sample(Logits{1, 2}, Ids{-1}), Catch::Contains("-1"));
}

TEST_CASE("sampler: infinite logits", "[sampler]") {
    const float inf = std::numeric_limits<float>::infinity();
    Sampler sampler(sampling(1.0f, 0, 1.0f, 1));
    CHECK(draw(sampler, Logits{0, inf, 3}, 20) == Ids(20, 1));
    CHECK(draw(sampler, Logits{-inf, -inf, 0}, 20) == Ids(20, 2));
    Sampler nucleus(sampling(1.0f, 0, 0.5f, 1));
    CHECK(draw(nucleus, Logits{-inf, 5, -inf}, 20) == Ids(20, 1));
}

TEST_CASE("sampler: presence and frequency penalties count generated tokens only", "[sampler]") {
    SamplingOptions o;
    o.greedy = true;
    o.presence_penalty = 0.5f;
    Sampler presence(o);
    // History {0 | 0}: the prompt's 0 does not count, the generated one does: 2.0 - 0.5 < 1.9.
    CHECK(presence.sample(Logits{2.0f, 1.9f}, Ids{0, 0}, 0) == 0);
    CHECK(presence.sample(Logits{2.0f, 1.9f}, Ids{0, 0}, 1) == 1);
    // Presence counts once however often: 2.0 - 0.5 = 1.5 > 1.4.
    CHECK(presence.sample(Logits{2.0f, 1.4f}, Ids{0, 0, 0}, 3) == 0);
    o.presence_penalty = 0;
    o.frequency_penalty = 0.25f;
    Sampler frequency(o);
    // Frequency counts each time: 2.0 - 0.25 * 3 = 1.25 < 1.4; with two, 1.5 > 1.4.
    CHECK(frequency.sample(Logits{2.0f, 1.4f}, Ids{0, 0, 0}, 3) == 1);
    CHECK(frequency.sample(Logits{2.0f, 1.4f}, Ids{0, 0, 0}, 2) == 0);
    // Negative values encourage repeats.
    o.frequency_penalty = -1.0f;
    Sampler encourage(o);
    CHECK(encourage.sample(Logits{1.0f, 1.5f}, Ids{0}, 1) == 0);
    // Out of range values are refused, naming the option.
    o.frequency_penalty = 2.5f;
    CHECK_THROWS_WITH(Sampler(o), Catch::Contains("frequency_penalty"));
    o.frequency_penalty = 0;
    o.presence_penalty = -3.0f;
    CHECK_THROWS_WITH(Sampler(o), Catch::Contains("presence_penalty"));
    o.presence_penalty = 1;
    Sampler checked(o);
    CHECK_THROWS_WITH(checked.sample(Logits{1.0f, 2.0f}, Ids{0}, 2), Catch::Contains("history"));
}
