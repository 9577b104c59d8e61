// runtime/generator.h - the generation loop: prefill the prompt, then sample and decode token by token.
//
// Text is streamed as complete UTF-8 characters: bytes of a character split
// across tokens are held back until the character is whole (see
// Utf8Streamer). Stops at the end-of-text token or after max_new_tokens, or
// when the callback returns false.
#pragma once

#include "runtime/model.h"
#include "runtime/sampler.h"
#include "runtime/tokenizer.h"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace gpt2c {

// Buffers bytes and releases only complete UTF-8 characters. Invalid bytes
// (that can never start or continue a character) are released as they are.
// At most 3 bytes (an incomplete trailing character) are ever held back.
class Utf8Streamer {
public:
    std::string push(std::string_view bytes);             // the complete part
    void push(std::string_view bytes, std::string& out);  // appends the complete part to `out`
    std::string flush();                                  // whatever is held back, at the end
private:
    std::string pending_;
};

struct GenerationStats {
    int64_t prompt_tokens = 0;
    int64_t generated_tokens = 0;
    double prefill_seconds = 0;
    double decode_seconds = 0;
    bool stopped_at_eos = false;
};

// Called once per generated token with the token id and the text that became
// complete with it (possibly empty). Return false to stop. When generation
// ends with bytes still held back (an incomplete character), they are passed
// in one last call with token -1.
using TokenCallback = std::function<bool(int32_t token, std::string_view text)>;

// Prompts longer than the context are an error (gpt2c::Error), as is a
// prompt that leaves no room for one new token. max_new_tokens is clipped to
// the room left in the context. eos_token_id < 0: never stop early. An empty
// prompt starts from the end-of-text token (as GPT-2 does unconditionally);
// without one it is an error. The prompt runs after session.n_past() tokens
// already in the session. The end-of-text token is not passed to the callback.
GenerationStats generate(Session& session, const Tokenizer& tokenizer, const std::vector<int32_t>& prompt,
                         int64_t max_new_tokens, Sampler& sampler, int32_t eos_token_id, const TokenCallback& callback);

// How many tokens generate() will produce: max_new_tokens clipped to the room
// left after `n_past` + `prompt_tokens` in a context of `context` positions.
// Throws gpt2c::Error when the prompt does not fit or leaves no room.
int64_t plan_new_tokens(int64_t prompt_tokens, int64_t n_past, int64_t context, int64_t max_new_tokens);

}  // namespace gpt2c
