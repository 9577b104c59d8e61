// tests/fuzz/fuzz_completion_request.cpp - libFuzzer target: the server's request parser,
// gpt2c::server::parse_completion_request (server/completion_request.cpp), on arbitrary bytes
// as the POST /v1/completions body.
//
// Small limits (context 64, max_tokens 32, max_n 4, vocabulary 50257) so that the range checks
// are reached often. Prompts are tokenized with the real GPT-2 tokenizer (examples/tiny-shakespeare,
// loaded once; the path comes from GPT2C_FUZZ_TOKENIZER_MODEL), as the server's model does.
//
// Any input must either parse or throw ApiError (status 400, or 404 for another model); any
// other exception is a bug and aborts, as does any sanitizer report. A request that parses
// must satisfy (trap on failure):
//   - prompt: at most context - 1 ids, each in 0..vocab-1; prompt_text == decode(prompt)
//     (a string prompt round-trips, an id prompt is its decoding); an empty prompt (the engine
//     starts it from <|endoftext|>) has empty text;
//   - 1 <= n <= max_n, 0 <= max_tokens <= the limit, logprobs in -1..20;
//   - at most 4 stop strings, each non-empty and at most 256 bytes;
//   - sampling: temperature finite in [0, 2] and greedy exactly when it is 0; top_p in (0, 1];
//     top_k in 0..vocab; repetition_penalty in [1, 100]; presence/frequency penalties in [-2, 2].
#include "runtime/tokenizer.h"
#include "server/api_error.h"
#include "server/completion_request.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#ifndef GPT2C_FUZZ_TOKENIZER_MODEL
#error "GPT2C_FUZZ_TOKENIZER_MODEL must name a model directory with vocab.json and merges.txt"
#endif

using namespace gpt2c;
using gpt2c::server::ApiError;
using gpt2c::server::CompletionLimits;
using gpt2c::server::CompletionRequest;

namespace {

constexpr int32_t kContext = 64;
constexpr int32_t kMaxTokens = 32;
constexpr int32_t kMaxN = 4;
constexpr int32_t kVocab = 50257;

const Tokenizer& tokenizer() {
    static const Tokenizer t = Tokenizer::load(GPT2C_FUZZ_TOKENIZER_MODEL);
    return t;
}

const CompletionLimits& limits() {
    static const CompletionLimits l = [] {
        CompletionLimits l;
        l.context = kContext;
        l.max_tokens = kMaxTokens;
        l.max_n = kMaxN;
        l.vocab_size = kVocab;
        l.model_id = "tiny-shakespeare";
        return l;
    }();
    return l;
}

// What a model's generation_config.json might give (all in range, not the C defaults).
gpt2c::api::Sampling defaults() {
    gpt2c::api::Sampling s{};
    s.temperature = 0.8f;
    s.top_k = 40;
    s.top_p = 0.95f;
    s.repetition_penalty = 1.1f;
    return s;
}

void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "fuzz_completion_request: invariant violated: %s\n", what);
        __builtin_trap();
    }
}

void check_request(const CompletionRequest& r) {
    const Tokenizer& tok = tokenizer();
    check(r.prompt.size() <= size_t(kContext - 1), "prompt.size() <= context - 1");
    for (int32_t id : r.prompt) check(id >= 0 && id < kVocab, "prompt ids in 0..vocab-1");
    check(!r.prompt.empty() || r.prompt_text.empty(), "an empty prompt has empty text");
    check(tok.decode(r.prompt) == r.prompt_text, "prompt_text == decode(prompt)");
    check(r.n >= 1 && r.n <= kMaxN, "1 <= n <= max_n");
    check(r.max_tokens >= 0 && r.max_tokens <= kMaxTokens, "0 <= max_tokens <= limit");
    check(r.logprobs >= -1 && r.logprobs <= 20, "logprobs in -1..20");
    check(r.stop.size() <= 4, "at most 4 stop strings");
    for (const std::string& s : r.stop) check(!s.empty() && s.size() <= 256, "stop strings non-empty, <= 256 bytes");
    const gpt2c::api::Sampling& s = r.sampling;
    check(std::isfinite(s.temperature) && s.temperature >= 0 && s.temperature <= 2, "temperature finite in [0, 2]");
    check((s.greedy != 0) == (s.temperature == 0), "greedy exactly when temperature is 0");
    check(s.top_p > 0 && s.top_p <= 1, "top_p in (0, 1]");
    check(s.top_k >= 0 && s.top_k <= kVocab, "top_k in 0..vocab");
    check(s.repetition_penalty >= 1 && s.repetition_penalty <= 100, "repetition_penalty in [1, 100]");
    check(s.presence_penalty >= -2 && s.presence_penalty <= 2, "presence_penalty in [-2, 2]");
    check(s.frequency_penalty >= -2 && s.frequency_penalty <= 2, "frequency_penalty in [-2, 2]");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    tokenizer();  // load before the first input, so its time is not charged to one
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const Tokenizer& tok = tokenizer();
    const std::string body(reinterpret_cast<const char*>(data), size);
    const server::TokenizeFn tokenize = [&](const std::string& text) { return tok.encode(text); };
    const server::DetokenizeFn detokenize = [&](const std::vector<int32_t>& ids) { return tok.decode(ids); };
    try {
        const CompletionRequest r = server::parse_completion_request(body, limits(), tokenize, detokenize, defaults());
        check_request(r);
    } catch (const ApiError& e) {
        // The expected outcome for bad input: a client error naming what is wrong.
        check(e.status == 400 || e.status == 404, "ApiError status is 400 or 404");
        check(e.what()[0] != '\0', "ApiError has a message");
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fuzz_completion_request: unexpected exception (not ApiError): %s\n", e.what());
        std::abort();
    }
    return 0;
}
