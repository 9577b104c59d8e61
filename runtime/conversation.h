// runtime/conversation.h - a multi-turn session: append text, generate, and keep the KV cache between turns.
//
// The conversation is one token sequence: what the application appended and
// what the model generated, turn after turn. Only tokens the model has not
// seen run at the next generate(), so a turn costs its own tokens, not the
// whole history. Every token sampled stays in the conversation (the
// end-of-text token and the tokens of a stop string too: the model said
// them); truncate() rewinds it. Text appended is tokenized on its own, so
// token boundaries fall between turns.
#pragma once

#include "runtime/generator.h"
#include "runtime/model.h"
#include "runtime/sequence.h"
#include "runtime/tokenizer.h"

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace gpt2c {

class Conversation {
public:
    // `tokenizer` must outlive the conversation. context: positions (0: the model's).
    Conversation(std::shared_ptr<Model> model, const Tokenizer& tokenizer, int32_t eos_token_id, int64_t context = 0);

    // Appends tokens (run at the next generate). Throws gpt2c::Error, changing
    // nothing, for an id out of range or when they do not fit the context.
    void append(std::span<const int32_t> tokens);
    // Generates after everything so far (from the end-of-text token when the
    // conversation is empty), as generate() does. The repetition penalty counts
    // the tokens this turn runs and generates.
    GenerationStats generate(const GenerateOptions& options, const EventCallback& callback);
    // Keeps the first `length` tokens (at most length()).
    void truncate(int64_t length);

    const std::vector<int32_t>& tokens() const { return tokens_; }
    int64_t length() const { return int64_t(tokens_.size()); }
    int64_t capacity() const { return session_.capacity(); }

private:
    Session session_;  // holds the KV cache of tokens_[0, session_.n_past())
    const Tokenizer& tokenizer_;
    int32_t eos_;
    std::vector<int32_t> tokens_;
};

}  // namespace gpt2c
