// runtime/context.cpp - batched steps over several sequence slots (see context.h).
#include "runtime/context.h"

#include "support/error.h"

#include <cstring>

namespace gpt2c {

Context::Context(std::shared_ptr<Model> model, int n_slots, int64_t context) : model_(std::move(model)) {
    const ModelConfig& c = model_->config();
    context_ = context == 0 ? c.n_positions : context;
    if (n_slots < 1 || n_slots > 65536) fail("context: {} sequence slots; expected 1..65536", n_slots);
    if (context_ < 1 || context_ > c.n_positions)
        fail("context: {} positions per sequence; the model has n_positions = {} (expected 1..{})", context_,
             c.n_positions, c.n_positions);
    bytes_per_position_ = model_->library().kv_cache_bytes() / c.n_positions;
    lengths_.assign(size_t(n_slots), 0);
    // The arena is mapped in now: every step reuses it, and a fresh context's first step should not
    // pay a page fault per page of activations. The KV cache (slots x the context reserved, not
    // slots x n_positions) stays lazy: its pages count only once sequences reach them, so many long
    // slots cost memory for what they hold, and a prompt's rows fault in only its own positions.
    kv_cache_ = AlignedBuffer<std::byte>(size_t(n_slots) * size_t(kv_padded_positions()) * size_t(bytes_per_position_));
    arena_ = AlignedBuffer<std::byte>(size_t(model_->library().arena_bytes()), true);
}

int64_t Context::length(int slot) const {
    check_slot(slot, "length");
    return lengths_[size_t(slot)];
}

void Context::check_slot(int slot, const char* what) const {
    if (slot < 0 || slot >= n_slots()) fail("{}: slot {} out of range; the context has slots 0..{}", what, slot, n_slots() - 1);
}

int64_t Context::kv_padded_positions() const {
    return (context_ + GPT2C_KV_TILE_POSITIONS - 1) / GPT2C_KV_TILE_POSITIONS * GPT2C_KV_TILE_POSITIONS;
}

std::byte* Context::slot_part(int slot, int64_t layer, int part) {
    const int64_t row_bytes = bytes_per_position_ / (2 * model_->config().n_layer);
    return kv_cache_.data() +
           ((int64_t(slot) * model_->config().n_layer + layer) * 2 + part) * kv_padded_positions() * row_bytes;
}

void Context::truncate(int slot, int64_t length) {
    check_slot(slot, "truncate");
    if (length < 0 || length > lengths_[size_t(slot)])
        fail("truncate: slot {} holds {} positions; cannot keep {}", slot, lengths_[size_t(slot)], length);
    lengths_[size_t(slot)] = length;
}

void Context::copy_prefix(int from, int to, int64_t length) {
    check_slot(from, "copy_prefix");
    check_slot(to, "copy_prefix");
    if (length < 0 || length > lengths_[size_t(from)])
        fail("copy_prefix: slot {} holds {} positions; cannot copy {}", from, lengths_[size_t(from)], length);
    if (from != to) {
        // Each head's positions lie together, in whole tiles of GPT2C_KV_TILE_POSITIONS
        // (gpt2c/abi.h; positions past `length` in the last one are never read).
        const ModelConfig& c = model_->config();
        const int64_t head_bytes = bytes_per_position_ / (2 * c.n_layer * c.n_head);  // one position of one head
        const int64_t head_stride = kv_padded_positions() * head_bytes;
        const int64_t tiles = (length + GPT2C_KV_TILE_POSITIONS - 1) / GPT2C_KV_TILE_POSITIONS;
        const int64_t copy_bytes = tiles * GPT2C_KV_TILE_POSITIONS * head_bytes;
        for (int64_t layer = 0; layer < c.n_layer; ++layer)
            for (int part = 0; part < 2; ++part)
                for (int64_t h = 0; h < c.n_head; ++h)
                    std::memcpy(slot_part(to, layer, part) + h * head_stride,
                                slot_part(from, layer, part) + h * head_stride, size_t(copy_bytes));
    }
    lengths_[size_t(to)] = length;
}

void Context::step(std::span<const BatchRow> rows, float* logits) {
    const ModelConfig& c = model_->config();
    const int64_t n = int64_t(rows.size());
    if (n == 0) fail("step: no rows to run");
    if (n > c.n_positions) fail("step: {} rows; a step runs at most n_positions = {}", n, c.n_positions);
    // Validate everything before anything changes: each slot's rows must continue it.
    std::vector<int64_t> next = lengths_;
    tokens_.resize(size_t(n));
    positions_.resize(size_t(n));
    slots_.resize(size_t(n));
    logit_rows_.clear();
    for (int64_t i = 0; i < n; ++i) {
        const BatchRow& r = rows[size_t(i)];
        if (r.token < 0 || r.token >= c.vocab_size)
            fail("token id {} at position {} is out of range: the vocabulary has {} tokens (0..{})", r.token,
                 r.position, c.vocab_size, c.vocab_size - 1);
        if (r.slot < 0 || r.slot >= n_slots())
            fail("step: row {} is for slot {}; the context has slots 0..{}", i, r.slot, n_slots() - 1);
        int64_t& expected = next[size_t(r.slot)];
        if (r.position != expected)
            fail("step: row {} is at position {} of slot {}, but that slot continues at position {} (truncate it to "
                 "rewind)",
                 i, r.position, r.slot, expected);
        if (expected >= context_)
            fail("context overflow: slot {} holds {} positions and its context is {} (n_positions = {})", r.slot,
                 expected, context_, c.n_positions);
        ++expected;
        tokens_[size_t(i)] = r.token;
        positions_[size_t(i)] = r.position;
        slots_[size_t(i)] = r.slot;
        if (r.logits) logit_rows_.push_back(int32_t(i));
    }
    // The library returns at least one row's logits: without a wanted row, the last row's go to scratch.
    float* out = logits;
    if (logit_rows_.empty()) {
        logit_rows_.push_back(int32_t(n - 1));
        scratch_logits_.resize(size_t(c.vocab_size));
        out = scratch_logits_.data();
    }
    gpt2c_forward_args args{};
    args.raw_weights = model_->raw_weight_table();
    args.prepared = model_->prepared_table();
    args.kv_cache = kv_cache_.data();
    args.arena = arena_.data();
    args.tokens = tokens_.data();
    args.positions = positions_.data();
    args.slots = slots_.data();
    args.logit_rows = logit_rows_.data();
    args.n_rows = n;
    args.n_logits = int64_t(logit_rows_.size());
    args.kv_positions = context_;
    args.logits = out;
    args.host = model_->pool().host();
    model_->library().entry().forward(&args);
    lengths_ = std::move(next);
}

}  // namespace gpt2c
