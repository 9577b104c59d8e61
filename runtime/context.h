// runtime/context.h - several sequences over one model, run together in batched steps.
//
// A Context owns a KV cache of n_slots sequence slots, each `context`
// positions long, and the activation arena of one forward call. A step runs
// rows from any of the slots as one forward call: the projections read each
// weight once for all rows, and each row attends to its own slot only, so a
// sequence's logits are bit for bit what it gets alone, whatever else is in
// the step (a prompt chunk of one slot beside decode tokens of others).
//
// One step at a time per Context (it is not thread-safe); several Contexts
// may share one Model, each step taking the model's thread pool in turn.
#pragma once

#include "runtime/aligned_buffer.h"
#include "runtime/model.h"

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace gpt2c {

// One row of a step: `token` at `position` of the sequence in `slot`, and
// whether the step returns its logits.
struct BatchRow {
    int32_t token = 0;
    int32_t slot = 0;
    int32_t position = 0;
    bool logits = false;
};

class Context {
public:
    // n_slots >= 1 sequences of up to `context` positions each (0: the model's
    // n_positions). The arena is mapped in here, so the first step runs about as
    // fast as later ones; the KV cache (n_slots x context positions) is reserved
    // and its pages are mapped in as sequences reach them.
    Context(std::shared_ptr<Model> model, int n_slots, int64_t context = 0);

    // Runs `rows` as one forward call and writes the logits of the rows that
    // want them, in row order, to `logits` ([rows wanting logits, vocab_size]).
    // Each slot's rows must continue it: the first at position length(slot),
    // the next at length(slot) + 1, and so on. Throws gpt2c::Error, changing
    // nothing, for an empty step, more rows than n_positions, or a token, slot
    // or position out of range. A step may want no logits (a prompt chunk).
    void step(std::span<const BatchRow> rows, float* logits);

    int n_slots() const { return int(lengths_.size()); }
    int64_t context() const { return context_; }
    // Positions the sequence in `slot` holds.
    int64_t length(int slot) const;
    // Empties `slot`.
    void clear(int slot) { truncate(slot, 0); }
    // Rewinds `slot` to its first `length` positions (at most its length).
    void truncate(int slot, int64_t length);
    // Makes `to` hold the first `length` positions of `from` (one prompt, several
    // continuations, without running the prompt again). `from` is unchanged.
    void copy_prefix(int from, int to, int64_t length);

    const Model& model() const { return *model_; }
    const std::shared_ptr<Model>& shared_model() const { return model_; }

private:
    void check_slot(int slot, const char* what) const;
    std::byte* slot_part(int slot, int64_t layer, int part);
    int64_t kv_padded_positions() const;  // context_ rounded up to whole key tiles

    std::shared_ptr<Model> model_;
    int64_t context_ = 0;
    int64_t bytes_per_position_ = 0;  // one slot: n_layer * 2 * n_head positions of a head (support/kv_layout.h)
    std::vector<int64_t> lengths_;
    AlignedBuffer<std::byte> kv_cache_;
    AlignedBuffer<std::byte> arena_;
    std::vector<int32_t> tokens_, positions_, slots_, logit_rows_;  // the step's inputs, reused
    std::vector<float> scratch_logits_;                               // for a step that wants none
};

}  // namespace gpt2c
