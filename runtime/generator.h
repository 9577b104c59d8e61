// runtime/generator.h - the generation loop of one sequence: prefill the prompt, then sample and decode token by token.
//
// The per-token work (sampling, UTF-8 text, stop strings, log-probabilities)
// is a SequenceGenerator's (runtime/sequence.h); this loop runs the model for
// it on a Session. The Engine (runtime/engine.h) runs many such sequences in
// batched steps, with the same per-token work and so the same tokens.
#pragma once

#include "runtime/model.h"
#include "runtime/sequence.h"
#include "runtime/tokenizer.h"

#include <cstdint>
#include <vector>

namespace gpt2c {

struct GenerationStats {
    int64_t prompt_tokens = 0;
    int64_t generated_tokens = 0;
    double prefill_seconds = 0;
    double decode_seconds = 0;
    FinishReason finish = FinishReason::none;
    int32_t last_token = -1;  // the last token sampled (end-of-text included); -1 when none was
};

// Prompts longer than the context are an error (gpt2c::Error), as is a
// prompt that leaves no room for one new token. options.max_new_tokens is
// clipped to the room left in the context. eos_token_id < 0: never stop early.
// An empty prompt starts from the end-of-text token (as GPT-2 does
// unconditionally); without one it is an error. The prompt runs after
// session.n_past() tokens already in the session; the last token sampled is
// not run (it is stats.last_token). The callback gets one event per token of
// the text (not the end-of-text token) and then the final one (token -1);
// returning false cancels. Time spent in the callback is not decode time.
GenerationStats generate(Session& session, const Tokenizer& tokenizer, const std::vector<int32_t>& prompt,
                         const GenerateOptions& options, int32_t eos_token_id, const EventCallback& callback);

// How many tokens generate() will produce: max_new_tokens clipped to the room
// left after `n_past` + `prompt_tokens` in a context of `context` positions.
// Throws gpt2c::Error when the prompt does not fit or leaves no room.
int64_t plan_new_tokens(int64_t prompt_tokens, int64_t n_past, int64_t context, int64_t max_new_tokens);

}  // namespace gpt2c
