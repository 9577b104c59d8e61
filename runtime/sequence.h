// runtime/sequence.h - one sequence's generation: sampling, text, stop strings, log-probabilities.
//
// Whoever runs the model (generate() for one sequence, the Engine for many in
// batched steps, a multi-turn Conversation) hands a SequenceGenerator the
// logits after the sequence's last token; it samples the next token with the
// sequence's own seeded Sampler, streams its text as whole UTF-8 characters
// through the stop strings, computes log-probabilities, and says when the
// sequence is finished. Its answers depend only on the logits it is given, so
// a sequence gets the same tokens alone or in any batch.
#pragma once

#include "runtime/utf8_streamer.h"
#include "runtime/logprobs.h"
#include "runtime/sampler.h"
#include "runtime/stop_strings.h"
#include "runtime/tokenizer.h"

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gpt2c {

// What a caller asks of one sequence.
struct GenerateOptions {
    SamplingOptions sampling;
    int64_t max_new_tokens = 16;
    std::vector<std::string> stop;  // the text ends before the first of these
    int logprobs = -1;              // -1: none; 0: the chosen token's; k > 0: also the k most likely
    bool ignore_eos = false;        // true: the end-of-text token is a token like any other
};

inline constexpr int kMaxTopLogprobs = 20;

enum class FinishReason {
    none = 0,
    length,       // max_new_tokens, or the context is full
    eos,          // the model produced its end-of-text token
    stop_string,  // the text reached a stop string
    cancelled,    // the caller stopped it
    error,        // the runtime failed (the message comes with the event)
};

// "stop", "length", ... (OpenAI's names: eos and stop_string are both "stop").
const char* finish_reason_name(FinishReason reason);

// One event of a sequence: a generated token, or (token == -1) its end.
struct TokenEvent {
    uint64_t request = 0;                 // the Engine's request id (0 elsewhere)
    int32_t token = -1;
    std::string_view text;                // whole UTF-8 characters that became final, possibly empty
    double logprob = 0;                   // the token's log-probability under the model (when asked)
    std::span<const TokenLogprob> top;    // the most likely tokens (when asked)
    FinishReason finish = FinishReason::none;  // set on the last event only
    std::string_view error;               // FinishReason::error: what went wrong
};

// Called for each event; return false to cancel the sequence.
using EventCallback = std::function<bool(const TokenEvent&)>;

class SequenceGenerator {
public:
    // `history`: the tokens already in the sequence (its prompt; never empty).
    // `max_new_tokens` is already clipped to the room the context has left.
    // Throws gpt2c::Error for bad options.
    SequenceGenerator(const Tokenizer& tokenizer, std::vector<int32_t> history, const GenerateOptions& options,
                      int32_t eos_token_id, int64_t max_new_tokens);

    // Samples the next token from the logits after the last one. Returns the
    // token's event, or nullptr when the token was end-of-text (not a token of
    // the text). Afterwards, finished() says whether the sequence is over;
    // if not, the caller runs last_token() and calls accept again.
    const TokenEvent* accept(std::span<const float> logits);
    bool finished() const { return reason_ != FinishReason::none; }
    // Ends the sequence early (cancelled or error) unless it is already over.
    void stop(FinishReason reason, std::string error = {});
    // The last event: the text still held back and the reason. Call once, when finished().
    const TokenEvent& final_event();

    int32_t last_token() const { return history_.back(); }
    const std::vector<int32_t>& history() const { return history_; }
    int64_t generated() const { return generated_; }
    FinishReason reason() const { return reason_; }

private:
    const Tokenizer& tokenizer_;
    std::vector<int32_t> history_;
    GenerateOptions options_;
    Sampler sampler_;
    int32_t eos_;
    int64_t max_new_;
    int64_t generated_ = 0;
    Utf8Streamer utf8_;
    StopStringFilter stops_;
    FinishReason reason_ = FinishReason::none;
    std::string error_;
    std::string piece_, text_;            // reused per token
    std::vector<TokenLogprob> top_;
    TokenEvent event_;
};

}  // namespace gpt2c
