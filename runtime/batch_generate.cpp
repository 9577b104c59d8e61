// runtime/batch_generate.cpp - greedy batched generation (see batch_generate.h).
#include "runtime/batch_generate.h"

#include "support/error.h"

#include <algorithm>

namespace gpt2c {

namespace {

int32_t argmax(const float* logits, int64_t n) { return int32_t(std::max_element(logits, logits + n) - logits); }

}  // namespace

std::vector<std::vector<int32_t>> generate_greedy_batch(Context& context, const std::vector<std::vector<int32_t>>& prompts,
                                                        int64_t n) {
    const size_t count = prompts.size();
    const int64_t V = context.model().config().vocab_size;
    const int64_t max_rows = context.model().config().n_positions;
    if (int64_t(count) > context.n_slots())
        fail("generate: {} sequences but the context has {} slots", count, context.n_slots());
    for (size_t k = 0; k < count; ++k) {
        if (prompts[k].empty()) fail("generate: sequence {} has an empty prompt", k);
        if (context.length(int(k)) != 0) fail("generate: slot {} is not empty", k);
        if (int64_t(prompts[k].size()) + n > context.context())
            fail("generate: sequence {}: {} prompt tokens plus {} new ones exceed the context of {} positions", k,
                 prompts[k].size(), n, context.context());
    }
    std::vector<std::vector<int32_t>> out(count);
    if (n == 0) return out;
    std::vector<int32_t> next(count, -1);
    std::vector<BatchRow> rows;
    std::vector<size_t> wants;  // the sequence of each row that wants logits, in row order
    std::vector<float> logits;
    auto run = [&] {
        logits.resize(wants.size() * size_t(V));
        context.step(rows, logits.data());
        for (size_t i = 0; i < wants.size(); ++i) next[wants[i]] = argmax(&logits[i * size_t(V)], V);
        rows.clear();
        wants.clear();
    };
    // Prefill: the prompts side by side, cut into steps of at most n_positions rows.
    for (size_t k = 0; k < count; ++k)
        for (size_t i = 0; i < prompts[k].size(); ++i) {
            const bool last = i + 1 == prompts[k].size();
            rows.push_back({prompts[k][i], int32_t(k), int32_t(i), last});
            if (last) wants.push_back(k);
            if (int64_t(rows.size()) == max_rows) run();
        }
    if (!rows.empty()) run();
    // Decode: one row per sequence per step.
    for (int64_t step = 0; step < n; ++step) {
        for (size_t k = 0; k < count; ++k) out[k].push_back(next[k]);
        if (step + 1 == n) break;
        for (size_t k = 0; k < count; ++k) {
            rows.push_back({next[k], int32_t(k), int32_t(context.length(int(k))), true});
            wants.push_back(k);
        }
        run();
    }
    return out;
}

}  // namespace gpt2c
