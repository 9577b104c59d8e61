// runtime/sampler.h - picks the next token from logits: greedy, temperature, top-k, top-p, repetition penalty.
//
// A Sampler owns its random generator (seeded), so a run with the same seed,
// prompt and model reproduces exactly. Filters apply in this order:
// repetition penalty (CTRL-style: a seen token's positive logit is divided by
// the penalty, a negative one multiplied), presence and frequency penalties
// (OpenAI's: subtract presence once and frequency once per occurrence, counted
// over the generated tokens only), temperature, top-k, top-p.
// temperature <= 0 or greedy means argmax (ties: the lowest id).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace gpt2c {

struct SamplingOptions {
    bool greedy = false;
    float temperature = 1.0f;
    int32_t top_k = 0;                 // 0: no limit
    float top_p = 1.0f;                // 1: no nucleus cut
    float repetition_penalty = 1.0f;   // 1: none
    float presence_penalty = 0.0f;     // [-2, 2]; 0: none
    float frequency_penalty = 0.0f;    // [-2, 2]; 0: none
    uint64_t seed = 0;
};

class Sampler {
public:
    explicit Sampler(const SamplingOptions& options);  // throws gpt2c::Error on out-of-range options
    // `history`: the ids seen so far (prompt and generated), for the repetition
    // penalty; its last `n_generated` ids are the generated ones, for the
    // presence and frequency penalties. Throws gpt2c::Error for empty logits, a
    // NaN logit or a history id out of range. Allocates only on the first call
    // (buffers are reused).
    int32_t sample(std::span<const float> logits, std::span<const int32_t> history, size_t n_generated = 0);
    const SamplingOptions& options() const { return options_; }

private:
    SamplingOptions options_;
    std::mt19937_64 rng_;
    std::vector<float> scratch_;   // logits after the repetition penalty
    std::vector<int32_t> order_;   // candidate ids, best first once sorted
    std::vector<double> weights_;  // unnormalized probabilities, indexed by id
    std::vector<int32_t> counts_;  // occurrences among the generated ids (presence/frequency penalties)
};

}  // namespace gpt2c
