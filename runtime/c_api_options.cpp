// runtime/c_api_options.cpp - see c_api_options.h.
#include "runtime/c_api_options.h"

#include <fmt/format.h>

#include <cmath>

namespace gpt2c::c_api {

gpt2c_sampling builtin_defaults() {
    gpt2c_sampling s{};
    s.greedy = 0;
    s.temperature = 1.0f;
    s.top_k = 0;
    s.top_p = 1.0f;
    s.repetition_penalty = 1.0f;
    s.seed = 0;
    s.presence_penalty = 0.0f;
    s.frequency_penalty = 0.0f;
    return s;
}

std::string check_sampling(const gpt2c_sampling& s, const std::string& prefix) {
    if (std::isnan(s.temperature) || std::isinf(s.temperature))
        return fmt::format("{}temperature must be a finite number, got {}", prefix, s.temperature);
    if (s.top_k < 0) return fmt::format("{}top_k must be >= 0 (0: no limit), got {}", prefix, s.top_k);
    if (!(s.top_p > 0.0f && s.top_p <= 1.0f))
        return fmt::format("{}top_p must be in (0, 1] (1: no nucleus cut), got {}", prefix, s.top_p);
    if (!(s.repetition_penalty >= 1.0f) || std::isinf(s.repetition_penalty))
        return fmt::format("{}repetition_penalty must be a finite number >= 1 (1: none), got {}", prefix,
                           s.repetition_penalty);
    if (!(s.presence_penalty >= -2.0f && s.presence_penalty <= 2.0f))
        return fmt::format("{}presence_penalty must be in [-2, 2] (0: none), got {}", prefix, s.presence_penalty);
    if (!(s.frequency_penalty >= -2.0f && s.frequency_penalty <= 2.0f))
        return fmt::format("{}frequency_penalty must be in [-2, 2] (0: none), got {}", prefix, s.frequency_penalty);
    return "";
}

gpt2c::SamplingOptions to_options(const gpt2c_sampling& s) {
    gpt2c::SamplingOptions o;
    o.greedy = s.greedy != 0 || s.temperature <= 0.0f;
    o.temperature = s.temperature;
    o.top_k = s.top_k;
    o.top_p = s.top_p;
    o.repetition_penalty = s.repetition_penalty;
    o.presence_penalty = s.presence_penalty;
    o.frequency_penalty = s.frequency_penalty;
    o.seed = s.seed;
    return o;
}

gpt2c::GenerateOptions to_generate_options(const gpt2c_generate_options& o, const char* function) {
    const std::string prefix = std::string(function) + ": options->";
    if (std::string problem = check_sampling(o.sampling, prefix + "sampling."); !problem.empty())
        step_fail(GPT2C_ERROR_INVALID_ARGUMENT, problem);
    if (o.max_new_tokens < 0)
        step_fail(GPT2C_ERROR_INVALID_ARGUMENT,
                  fmt::format("{}max_new_tokens must be >= 0, got {}", prefix, o.max_new_tokens));
    if (o.logprobs < -1 || o.logprobs > gpt2c::kMaxTopLogprobs)
        step_fail(GPT2C_ERROR_INVALID_ARGUMENT,
                  fmt::format("{}logprobs must be -1 (none) or 0..{}, got {}", prefix, gpt2c::kMaxTopLogprobs,
                              o.logprobs));
    if (o.n_stop && !o.stop) step_fail(GPT2C_ERROR_INVALID_ARGUMENT, prefix + "stop is NULL but n_stop is not 0");
    gpt2c::GenerateOptions out;
    out.sampling = to_options(o.sampling);
    out.max_new_tokens = o.max_new_tokens;
    for (size_t i = 0; i < o.n_stop; ++i) {
        if (!o.stop[i]) step_fail(GPT2C_ERROR_INVALID_ARGUMENT, fmt::format("{}stop[{}] is NULL", prefix, i));
        out.stop.emplace_back(o.stop[i]);
    }
    out.logprobs = o.logprobs;
    out.ignore_eos = o.ignore_eos != 0;
    return out;
}

void copy_stats(const gpt2c::GenerationStats& stats, gpt2c_generation_stats* out) {
    if (!out) return;
    out->prompt_tokens = stats.prompt_tokens;
    out->generated_tokens = stats.generated_tokens;
    out->prefill_seconds = stats.prefill_seconds;
    out->decode_seconds = stats.decode_seconds;
}

const gpt2c_event& EventTranslator::translate(const gpt2c::TokenEvent& event) {
    text_.assign(event.text);
    error_.assign(event.error);
    top_.clear();
    for (const gpt2c::TokenLogprob& t : event.top) top_.push_back({t.token, float(t.logprob)});
    out_ = gpt2c_event{};
    out_.request = event.request;
    out_.token = event.token;
    out_.text = text_.c_str();
    out_.length = text_.size();
    out_.logprob = float(event.logprob);
    out_.top = top_.data();
    out_.n_top = int32_t(top_.size());
    out_.finish = static_cast<gpt2c_finish_reason>(event.finish);
    out_.error = error_.c_str();
    return out_;
}

}  // namespace gpt2c::c_api
