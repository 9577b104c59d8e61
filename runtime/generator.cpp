// runtime/generator.cpp - the prefill + decode loop of one sequence.
#include "runtime/generator.h"

#include "support/error.h"

#include <algorithm>
#include <chrono>

namespace gpt2c {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

}  // namespace

int64_t plan_new_tokens(int64_t prompt_tokens, int64_t n_past, int64_t context, int64_t max_new_tokens) {
    if (max_new_tokens < 0) fail("generate: the number of new tokens must be >= 0, got {}", max_new_tokens);
    const int64_t used = n_past + prompt_tokens;
    if (used > context) {
        if (n_past == 0)
            fail("prompt has {} tokens but the model's context is {} positions", prompt_tokens, context);
        fail("prompt has {} tokens but only {} of the model's {} context positions are free", prompt_tokens,
             context - n_past, context);
    }
    if (used == context)
        fail("prompt has {} tokens and fills the model's context of {} positions: no room to generate",
             prompt_tokens, context);
    return std::min(max_new_tokens, context - used);
}

GenerationStats generate(Session& session, const Tokenizer& tokenizer, const std::vector<int32_t>& prompt,
                         const GenerateOptions& options, int32_t eos_token_id, const EventCallback& callback) {
    std::vector<int32_t> history = prompt;
    if (history.empty()) {
        if (eos_token_id < 0) fail("generate: the prompt is empty and there is no end-of-text token to start from");
        history.push_back(eos_token_id);
    }
    GenerationStats stats;
    stats.prompt_tokens = int64_t(history.size());
    const int64_t n_new = plan_new_tokens(stats.prompt_tokens, session.n_past(), session.capacity(),
                                          options.max_new_tokens);
    std::vector<int32_t> run = history;  // what the model has not seen yet
    history.reserve(history.size() + size_t(n_new));
    SequenceGenerator sequence(tokenizer, std::move(history), options, eos_token_id, n_new);
    if (sequence.finished()) {  // nothing to generate: only the final event
        stats.finish = sequence.reason();
        if (callback) callback(sequence.final_event());
        return stats;
    }
    std::vector<float> logits(size_t(session.model().config().vocab_size));

    const Clock::time_point prefill_start = Clock::now();
    session.forward(run, 1, logits.data());
    const Clock::time_point decode_start = Clock::now();
    stats.prefill_seconds = seconds_between(prefill_start, decode_start);

    double callback_seconds = 0;  // the caller's time is not decode time
    auto deliver = [&](const TokenEvent& event) {
        if (!callback) return;
        const Clock::time_point t = Clock::now();
        if (!callback(event)) sequence.stop(FinishReason::cancelled);
        callback_seconds += seconds_between(t, Clock::now());
    };
    for (;;) {
        const TokenEvent* event = sequence.accept(logits);
        stats.last_token = event ? event->token : eos_token_id;
        if (event) deliver(*event);
        if (sequence.finished()) break;
        session.forward({&stats.last_token, 1}, 1, logits.data());
    }
    stats.generated_tokens = sequence.generated();
    stats.finish = sequence.reason();
    stats.decode_seconds = seconds_between(decode_start, Clock::now()) - callback_seconds;
    if (callback) callback(sequence.final_event());  // always, so the caller sees how it ended
    return stats;
}

}  // namespace gpt2c
