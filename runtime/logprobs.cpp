// runtime/logprobs.cpp - see logprobs.h.
#include "runtime/logprobs.h"

#include "support/error.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace gpt2c {

namespace {

// log sum exp(logits), with the maximum subtracted first.
double log_normalizer(std::span<const float> logits) {
    if (logits.empty()) fail("logprobs: no logits");
    const double peak = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (float x : logits) sum += std::exp(double(x) - peak);
    return peak + std::log(sum);
}

}  // namespace

double token_logprob(std::span<const float> logits, int32_t token) {
    if (token < 0 || size_t(token) >= logits.size())
        fail("logprobs: token id {} is out of range: the vocabulary has {} tokens", token, logits.size());
    return double(logits[size_t(token)]) - log_normalizer(logits);
}

std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int n) {
    const double norm = log_normalizer(logits);
    const size_t k = std::min(size_t(std::max(n, 0)), logits.size());
    std::vector<int32_t> ids(logits.size());
    std::iota(ids.begin(), ids.end(), 0);
    auto better = [&](int32_t a, int32_t b) { return logits[size_t(a)] > logits[size_t(b)] || (logits[size_t(a)] == logits[size_t(b)] && a < b); };
    std::partial_sort(ids.begin(), ids.begin() + long(k), ids.end(), better);
    std::vector<TokenLogprob> out;
    for (size_t i = 0; i < k; ++i) out.push_back({ids[i], double(logits[size_t(ids[i])]) - norm});
    return out;
}

}  // namespace gpt2c
