// backend/buffer_plan.h - where every value of the graph lives at run time.
//
// The call's inputs (token ids, positions, slots, logit rows), raw weights and
// prepared weights come from the host; kv_append values are the KV cache; the returned logits
// go straight to the caller's buffer; every other value gets an offset in
// the activation arena. Offsets come from the memory-planning pass when it
// ran (node attribute arena_offset, module attribute arena_bytes); otherwise
// each value gets its own region (no reuse), which is what -O0 means.
#pragma once

#include "ir/ir.h"

#include <cstdint>
#include <string>
#include <vector>

namespace gpt2c::backend {

enum class Storage { Input, RawWeight, Prepared, KvCache, Arena, Logits };

// The inputs of a forward call, in the order of Storage::Input indices.
inline constexpr const char* kInputNames[] = {"tokens", "positions", "slots", "logit_rows"};
int64_t input_index(const std::string& name);

struct BufferLocation {
    Storage storage = Storage::Arena;
    int64_t index = 0;   // Input: kInputNames index; RawWeight / Prepared: table index; Arena: byte offset
};

struct BufferPlan {
    std::vector<BufferLocation> location;  // per node
    std::vector<int> raw_weights;          // node index of raw_weights[i]
    std::vector<int> prepared;             // node index of prepared[i]
    int64_t arena_bytes = 0;
    std::string kv_dtype = "f32";  // the KV cache's element type: "f32", "bf16" or "int8" (the kv_append type)
    int64_t kv_cache_bytes = 0;    // one slot at the full context (support/kv_layout.h)
};

constexpr int64_t kArenaAlignment = 64;

BufferPlan plan_buffers(const ir::Module& module);

// Bytes a node's value needs with every runtime symbol at its bound.
int64_t max_value_bytes(const ir::Module& module, int node);

}  // namespace gpt2c::backend
