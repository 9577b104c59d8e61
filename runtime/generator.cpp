// runtime/generator.cpp - UTF-8 streaming and the prefill + decode loop.
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

// Length of the sequence a lead byte starts: 1 for ASCII, 0 for a byte that cannot start one.
size_t sequence_length(unsigned char lead) {
    if (lead < 0x80) return 1;
    if (lead >= 0xC2 && lead <= 0xDF) return 2;
    if (lead >= 0xE0 && lead <= 0xEF) return 3;
    if (lead >= 0xF0 && lead <= 0xF4) return 4;
    return 0;
}

// Whether `c` can be byte `k` (k >= 1) after `lead`; the second byte's range excludes
// overlongs, surrogates and code points above U+10FFFF.
bool continues(unsigned char lead, size_t k, unsigned char c) {
    unsigned char lo = 0x80, hi = 0xBF;
    if (k == 1) {
        if (lead == 0xE0) lo = 0xA0;
        if (lead == 0xED) hi = 0x9F;
        if (lead == 0xF0) lo = 0x90;
        if (lead == 0xF4) hi = 0x8F;
    }
    return c >= lo && c <= hi;
}

// How many leading bytes of `s` can be released: everything but a valid, incomplete trailing sequence.
size_t releasable(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        const auto lead = static_cast<unsigned char>(s[i]);
        const size_t length = sequence_length(lead);
        if (length <= 1) {  // ASCII, or a byte that is invalid on its own
            ++i;
            continue;
        }
        size_t k = 1;
        while (k < length && i + k < s.size() && continues(lead, k, static_cast<unsigned char>(s[i + k]))) ++k;
        if (k == length) {
            i += length;
        } else if (i + k == s.size()) {
            return i;  // may still complete
        } else {
            ++i;  // a broken sequence: the lead goes out as is, the rest is scanned again
        }
    }
    return i;
}

}  // namespace

void Utf8Streamer::push(std::string_view bytes, std::string& out) {
    pending_.append(bytes);
    const size_t n = releasable(pending_);
    out.append(pending_, 0, n);
    pending_.erase(0, n);
}

std::string Utf8Streamer::push(std::string_view bytes) {
    std::string out;
    push(bytes, out);
    return out;
}

std::string Utf8Streamer::flush() {
    std::string out;
    out.swap(pending_);
    return out;
}

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
                         int64_t max_new_tokens, Sampler& sampler, int32_t eos_token_id, const TokenCallback& callback) {
    std::vector<int32_t> history = prompt;
    if (history.empty()) {
        if (eos_token_id < 0) fail("generate: the prompt is empty and there is no end-of-text token to start from");
        history.push_back(eos_token_id);
    }
    GenerationStats stats;
    stats.prompt_tokens = int64_t(history.size());
    const int64_t n_new = plan_new_tokens(stats.prompt_tokens, session.n_past(), session.capacity(), max_new_tokens);
    if (n_new == 0) return stats;
    history.reserve(history.size() + size_t(n_new));

    // One logits buffer and one text buffer for the whole loop.
    std::vector<float> logits(size_t(session.model().config().vocab_size));
    Utf8Streamer streamer;
    std::string text;
    text.reserve(64);

    const Clock::time_point prefill_start = Clock::now();
    session.forward(history, 1, logits.data());
    const Clock::time_point decode_start = Clock::now();
    stats.prefill_seconds = seconds_between(prefill_start, decode_start);

    double callback_seconds = 0;  // the caller's time is not decode time
    bool stopped_by_callback = false;
    for (int64_t i = 0; i < n_new; ++i) {
        const int32_t token = sampler.sample(logits, history);
        if (token == eos_token_id) {
            stats.stopped_at_eos = true;
            break;
        }
        history.push_back(token);
        ++stats.generated_tokens;
        text.clear();
        streamer.push(tokenizer.token_bytes(token), text);
        if (callback) {
            const Clock::time_point t = Clock::now();
            stopped_by_callback = !callback(token, text);
            callback_seconds += seconds_between(t, Clock::now());
            if (stopped_by_callback) break;
        }
        if (i + 1 < n_new) session.forward({&history.back(), 1}, 1, logits.data());
    }
    stats.decode_seconds = seconds_between(decode_start, Clock::now()) - callback_seconds;

    if (!stopped_by_callback && callback) {
        const std::string rest = streamer.flush();
        if (!rest.empty()) callback(-1, rest);
    }
    return stats;
}

}  // namespace gpt2c
