// runtime/batch_generate.h - greedy continuation of several sequences in batched steps.
#pragma once

#include "runtime/context.h"

#include <cstdint>
#include <vector>

namespace gpt2c {

// Continues each prompt with n greedily chosen tokens, all sequences together:
// the prompts are prefilled in steps of at most n_positions rows (chunks of
// several prompts side by side), then every step decodes one token of every
// sequence. Uses slots 0..prompts.size()-1 of `context`, which must be empty
// and long enough (prompt + n positions each). Returns the new ids per
// sequence: the same as running each sequence alone.
std::vector<std::vector<int32_t>> generate_greedy_batch(Context& context, const std::vector<std::vector<int32_t>>& prompts,
                                                        int64_t n);

}  // namespace gpt2c
