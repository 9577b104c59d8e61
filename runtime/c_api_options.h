// runtime/c_api_options.h - the C API's option structs and events, to and from the runtime's C++ types.
#pragma once

#include "runtime/c_api_internal.h"
#include "runtime/generator.h"
#include "runtime/sampler.h"
#include "runtime/sequence.h"

#include <string>
#include <vector>

namespace gpt2c::c_api {

// Temperature 1, no filters, no penalties, seed 0.
gpt2c_sampling builtin_defaults();

// "" when `s` is usable, else what is wrong (naming the field as `prefix` + name).
std::string check_sampling(const gpt2c_sampling& s, const std::string& prefix);

gpt2c::SamplingOptions to_options(const gpt2c_sampling& s);

// Checks and converts; throws StepError(INVALID_ARGUMENT) naming `function` and the field.
gpt2c::GenerateOptions to_generate_options(const gpt2c_generate_options& o, const char* function);

// Fills `out` (when not NULL) from `stats`.
void copy_stats(const gpt2c::GenerationStats& stats, gpt2c_generation_stats* out);

// Turns TokenEvents into gpt2c_events (owning the NUL-terminated text and the
// top-logprob array the event points at until the next one).
class EventTranslator {
public:
    const gpt2c_event& translate(const gpt2c::TokenEvent& event);

private:
    std::string text_, error_;
    std::vector<gpt2c_token_logprob> top_;
    gpt2c_event out_{};
};

}  // namespace gpt2c::c_api
