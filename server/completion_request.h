// server/completion_request.h - a POST /v1/completions body, parsed and checked.
//
// Wrong types and values out of range are ApiError 400 naming the field; unknown fields are
// ignored (as OpenAI's clients send some we do not use). Limits: prompt tokens at most
// context - 1, max_tokens at most the limit given, n at most max_n, stop at most 4 strings.
#pragma once

#include "server/api_error.h"

#include <gpt2c/runtime.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace gpt2c::server {

struct CompletionLimits {
    int32_t context = 1024;      // positions per slot: prompts may hold context - 1 tokens
    int32_t max_tokens = 1024;   // the largest max_tokens
    int32_t max_n = 16;
    int32_t vocab_size = 50257;
    std::string model_id;        // a given `model` must equal it (else 404)
};

struct CompletionRequest {
    std::vector<int32_t> prompt;      // token ids
    std::string prompt_text;          // the prompt as text (for echo)
    int32_t max_tokens = 16;
    int32_t n = 1;
    bool stream = false;
    bool include_usage = false;       // stream_options.include_usage: a last chunk with the usage
    bool echo = false;
    int32_t logprobs = -1;            // -1: none
    std::vector<std::string> stop;
    std::optional<uint64_t> seed;     // absent: random per request
    gpt2c::api::Sampling sampling{};  // seed filled per choice
};

// The model's tokenizer as the parser uses it (the server passes lambdas calling
// gpt2c::api::Model::tokenize / detokenize; the fuzz target passes the tokenizer itself).
// detokenize is given only ids in 0..vocab_size-1.
using TokenizeFn = std::function<std::vector<int32_t>(const std::string&)>;
using DetokenizeFn = std::function<std::string(const std::vector<int32_t>&)>;

// Parses `body` (JSON). A string prompt becomes ids through `tokenize`; an id prompt becomes
// prompt_text through `detokenize`. `defaults` are the model's sampling defaults
// (generation_config.json): fields the request does not give (top_k, top_p,
// repetition_penalty) keep them; temperature defaults to 1 as in OpenAI's API, 0 means greedy.
// Needs no model and calls no C API function, so tests and fuzzers can run it alone.
CompletionRequest parse_completion_request(const std::string& body, const CompletionLimits& limits,
                                           const TokenizeFn& tokenize, const DetokenizeFn& detokenize,
                                           const gpt2c::api::Sampling& defaults);

}  // namespace gpt2c::server
