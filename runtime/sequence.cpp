// runtime/sequence.cpp - see sequence.h.
#include "runtime/sequence.h"

#include "support/error.h"

namespace gpt2c {

const char* finish_reason_name(FinishReason reason) {
    switch (reason) {
        case FinishReason::none: return "none";
        case FinishReason::length: return "length";
        case FinishReason::eos:
        case FinishReason::stop_string: return "stop";
        case FinishReason::cancelled: return "cancelled";
        case FinishReason::error: return "error";
    }
    return "none";
}

namespace {

const GenerateOptions& checked(const GenerateOptions& options) {
    if (options.max_new_tokens < 0) fail("max_new_tokens must be >= 0, got {}", options.max_new_tokens);
    if (options.logprobs < -1 || options.logprobs > kMaxTopLogprobs)
        fail("logprobs must be -1 (none) or 0..{} (the chosen token's, and that many of the most likely), got {}",
             kMaxTopLogprobs, options.logprobs);
    return options;
}

}  // namespace

SequenceGenerator::SequenceGenerator(const Tokenizer& tokenizer, std::vector<int32_t> history,
                                     const GenerateOptions& options, int32_t eos_token_id, int64_t max_new_tokens)
    : tokenizer_(tokenizer),
      history_(std::move(history)),
      options_(checked(options)),
      sampler_(options.sampling),
      eos_(options.ignore_eos ? -1 : eos_token_id),
      max_new_(max_new_tokens),
      stops_(options.stop) {
    if (history_.empty()) fail("generate: a sequence needs at least one token to start from");
    if (max_new_ <= 0) reason_ = FinishReason::length;
}

const TokenEvent* SequenceGenerator::accept(std::span<const float> logits) {
    if (finished()) fail("generate: the sequence is already finished");
    const int32_t token = sampler_.sample(logits, history_, size_t(generated_));
    if (token == eos_) {
        reason_ = FinishReason::eos;
        return nullptr;
    }
    history_.push_back(token);
    ++generated_;

    event_ = TokenEvent{};
    event_.token = token;
    if (options_.logprobs >= 0) {
        event_.logprob = token_logprob(logits, token);
        top_ = top_logprobs(logits, options_.logprobs);
        event_.top = top_;
    }
    piece_.clear();
    utf8_.push(tokenizer_.token_bytes(token), piece_);
    text_ = stops_.push(piece_);
    event_.text = text_;
    if (stops_.stopped()) {
        reason_ = FinishReason::stop_string;
    } else if (generated_ >= max_new_) {
        reason_ = FinishReason::length;
    }
    return &event_;
}

void SequenceGenerator::stop(FinishReason reason, std::string error) {
    if (finished()) return;
    reason_ = reason;
    error_ = std::move(error);
}

const TokenEvent& SequenceGenerator::final_event() {
    event_ = TokenEvent{};
    text_.clear();
    if (!stops_.stopped()) {
        text_ = stops_.push(utf8_.flush());  // an incomplete character at the end goes out as it is
        text_ += stops_.flush();
    }
    event_.text = text_;
    event_.finish = reason_;
    event_.error = error_;
    return event_;
}

}  // namespace gpt2c
