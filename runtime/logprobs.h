// runtime/logprobs.h - log-probabilities of tokens under a row of logits.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace gpt2c {

struct TokenLogprob {
    int32_t token;
    double logprob;  // log softmax(logits)[token], computed in double
};

// log softmax(logits)[token].
double token_logprob(std::span<const float> logits, int32_t token);

// The n most likely tokens (ties: the lower id first), most likely first.
std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int n);

}  // namespace gpt2c
