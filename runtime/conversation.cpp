// runtime/conversation.cpp - see conversation.h.
#include "runtime/conversation.h"

#include "support/error.h"

namespace gpt2c {

Conversation::Conversation(std::shared_ptr<Model> model, const Tokenizer& tokenizer, int32_t eos_token_id,
                           int64_t context)
    : session_(std::move(model), context), tokenizer_(tokenizer), eos_(eos_token_id) {}

void Conversation::append(std::span<const int32_t> tokens) {
    const int64_t vocab = session_.model().config().vocab_size;
    for (size_t i = 0; i < tokens.size(); ++i)
        if (tokens[i] < 0 || tokens[i] >= vocab)
            fail("token {} appended is id {}, out of range: the vocabulary has {} tokens", i, tokens[i], vocab);
    if (length() + int64_t(tokens.size()) > capacity())
        fail("context overflow: the conversation holds {} tokens; {} more exceed its context of {} positions",
             length(), tokens.size(), capacity());
    tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
}

GenerationStats Conversation::generate(const GenerateOptions& options, const EventCallback& callback) {
    if (tokens_.empty()) {
        if (eos_ < 0) fail("generate: the conversation is empty and there is no end-of-text token to start from");
        append({&eos_, 1});
    }
    // Everything generate() must run: the tokens not in the KV cache yet, or
    // else the last one again, for its logits.
    if (session_.n_past() == length()) session_.truncate(length() - 1);
    const std::vector<int32_t> run(tokens_.begin() + session_.n_past(), tokens_.end());

    std::vector<int32_t> generated;
    EventCallback collect = [&](const TokenEvent& event) {
        if (event.token >= 0) generated.push_back(event.token);
        return callback ? callback(event) : true;
    };
    GenerationStats stats;
    try {
        stats = gpt2c::generate(session_, tokenizer_, run, options, eos_, collect);
    } catch (...) {
        // A failed forward call changes nothing in the cache: keep what was said.
        tokens_.insert(tokens_.end(), generated.begin(), generated.end());
        throw;
    }
    tokens_.insert(tokens_.end(), generated.begin(), generated.end());
    if (stats.finish == FinishReason::eos) tokens_.push_back(eos_);
    return stats;
}

void Conversation::truncate(int64_t length) {
    if (length < 0 || length > this->length())
        fail("truncate: length must be in 0..{} (the conversation's tokens), got {}", this->length(), length);
    tokens_.resize(size_t(length));
    if (session_.n_past() > length) session_.truncate(length);
}

}  // namespace gpt2c
