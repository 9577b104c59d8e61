// runtime/sampler.cpp - next-token selection: repetition penalty, temperature, top-k, top-p, seeded draw.
#include "runtime/sampler.h"

#include "support/error.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace gpt2c {

namespace {

void validate(const SamplingOptions& o) {
    if (!std::isfinite(o.temperature))
        fail("sampling option temperature must be a finite number (<= 0 means greedy), got {}", o.temperature);
    if (o.top_k < 0) fail("sampling option top_k must be >= 0 (0: no limit), got {}", o.top_k);
    if (!(o.top_p > 0.0f && o.top_p <= 1.0f))
        fail("sampling option top_p must be in (0, 1] (1: no nucleus cut), got {}", o.top_p);
    if (!std::isfinite(o.repetition_penalty) || o.repetition_penalty < 1.0f)
        fail("sampling option repetition_penalty must be a finite number >= 1 (1: none), got {}",
             o.repetition_penalty);
    if (!(o.presence_penalty >= -2.0f && o.presence_penalty <= 2.0f))
        fail("sampling option presence_penalty must be in [-2, 2] (0: none), got {}", o.presence_penalty);
    if (!(o.frequency_penalty >= -2.0f && o.frequency_penalty <= 2.0f))
        fail("sampling option frequency_penalty must be in [-2, 2] (0: none), got {}", o.frequency_penalty);
}

// CTRL's rule: shrink a positive logit, push a negative one further down.
float penalize(float logit, float penalty) { return logit > 0 ? logit / penalty : logit * penalty; }

// A uniform double in [0, 1) from the top 53 bits: the same on every standard library.
double unit_draw(std::mt19937_64& rng) { return double(rng() >> 11) * 0x1.0p-53; }

// Nucleus by quickselect: finds the smallest best-first prefix of order[0, kept) whose
// weight reaches `target` in expected linear time, and zeroes the weights of the rest.
template <typename Better>
void cut_nucleus(std::vector<int32_t>& order, std::vector<double>& weights, size_t kept, double target,
                 const Better& better) {
    size_t lo = 0, hi = kept;  // [0, lo) is in, with mass `below` < target; the boundary is in [lo, hi)
    double below = 0;
    while (hi - lo > 1) {
        const size_t mid = lo + (hi - lo) / 2;
        std::nth_element(order.begin() + ptrdiff_t(lo), order.begin() + ptrdiff_t(mid),
                         order.begin() + ptrdiff_t(hi), better);
        double mass = 0;
        for (size_t j = lo; j < mid; ++j) mass += weights[size_t(order[j])];
        if (below + mass >= target) {
            hi = mid;
        } else {
            below += mass;
            lo = mid;
        }
    }
    for (size_t j = lo + 1; j < kept; ++j) weights[size_t(order[j])] = 0;
}

}  // namespace

Sampler::Sampler(const SamplingOptions& options) : options_(options), rng_(options.seed) { validate(options_); }

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history, size_t n_generated) {
    const auto vocab = int32_t(logits.size());
    if (vocab == 0) fail("sampler: no logits to sample from");
    scratch_.assign(logits.begin(), logits.end());
    for (int32_t id = 0; id < vocab; ++id)
        if (std::isnan(scratch_[size_t(id)])) fail("sampler: the logit of token {} is NaN", id);

    // Computed from the original logit, so a repeated id is penalized once.
    if (options_.repetition_penalty != 1.0f) {
        for (int32_t id : history) {
            if (id < 0 || id >= vocab)
                fail("sampler: history token id {} is out of range: the vocabulary has {} tokens", id, vocab);
            scratch_[size_t(id)] = penalize(logits[size_t(id)], options_.repetition_penalty);
        }
    }
    if (options_.presence_penalty != 0.0f || options_.frequency_penalty != 0.0f) {
        if (n_generated > history.size())
            fail("sampler: {} generated tokens but a history of only {}", n_generated, history.size());
        const std::span<const int32_t> generated = history.last(n_generated);
        counts_.assign(size_t(vocab), 0);
        for (int32_t id : generated) {
            if (id < 0 || id >= vocab)
                fail("sampler: history token id {} is out of range: the vocabulary has {} tokens", id, vocab);
            ++counts_[size_t(id)];
        }
        for (int32_t id : generated)
            if (counts_[size_t(id)] > 0) {  // each id once: its count is cleared below
                scratch_[size_t(id)] -= options_.presence_penalty + options_.frequency_penalty * float(counts_[size_t(id)]);
                counts_[size_t(id)] = 0;
            }
    }

    if (options_.greedy || options_.temperature <= 0.0f)
        return int32_t(std::max_element(scratch_.begin(), scratch_.end()) - scratch_.begin());

    // A strict total order (ties: the lower id first), so the top-k and top-p sets are unique.
    const float* s = scratch_.data();
    auto better = [s](int32_t a, int32_t b) { return s[a] > s[b] || (s[a] == s[b] && a < b); };
    order_.resize(size_t(vocab));
    std::iota(order_.begin(), order_.end(), 0);
    size_t kept = size_t(vocab);
    if (options_.top_k > 0 && options_.top_k < vocab) {
        kept = size_t(options_.top_k);
        std::nth_element(order_.begin(), order_.begin() + ptrdiff_t(kept - 1), order_.end(), better);
    }

    // Unnormalized softmax(logit / T) of the candidates, in double; the best has weight 1.
    float best = s[order_[0]];
    for (size_t j = 1; j < kept; ++j) best = std::max(best, s[order_[j]]);
    const double inv_t = 1.0 / double(options_.temperature);
    weights_.assign(size_t(vocab), 0.0);
    for (size_t j = 0; j < kept; ++j) {
        const int32_t id = order_[j];
        weights_[size_t(id)] = s[id] == best ? 1.0 : std::exp((double(s[id]) - double(best)) * inv_t);
    }
    // Sums run in id order, so they do not depend on how nth_element arranged order_.
    auto total_weight = [this] { return std::accumulate(weights_.begin(), weights_.end(), 0.0); };
    if (options_.top_p < 1.0f)
        cut_nucleus(order_, weights_, kept, double(options_.top_p) * total_weight(), better);

    // Draw over the cumulative distribution, in id order.
    const double total = total_weight();
    const double u = unit_draw(rng_) * total;
    double cumulative = 0;
    int32_t last = -1;
    for (int32_t id = 0; id < vocab; ++id) {
        const double w = weights_[size_t(id)];
        if (w <= 0) continue;
        cumulative += w;
        last = id;
        if (u < cumulative) return id;
    }
    return last;  // rounding left u at the very top
}

}  // namespace gpt2c
