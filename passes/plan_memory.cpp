// passes/plan_memory.cpp - static memory planning of the activation arena.
//
// Every value that lives in the arena (everything but the token input, weights and weight
// transforms, kv_append cache slices and the returned logits: see backend/buffer_plan.cpp) gets
// `arena_offset`, a byte offset aligned to 64, and the module gets `arena_bytes` (the arena the
// plan needs) and `unplanned_arena_bytes` (one region per value, what the backend uses without a
// plan, for comparison). A value is live from its defining node to its last user, inclusive at both
// ends: a node reads its operands while it writes its result, so an operand and the result of the
// same node must never share bytes, while values whose live ranges are disjoint may. Each value
// takes max_elements at the n_positions bound times its element size. Placement is greedy by size: values are
// taken largest first (ties in graph order) and each goes to the lowest aligned offset that does not
// overlap an already placed value whose live range overlaps its own, which is deterministic. The
// pass always re-plans from scratch and overwrites old attributes, so running it twice gives the same
// plan; it must run last, after every pass that adds, removes or reorders nodes (any later change
// would invalidate the offsets).
#include "passes/pass.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace gpt2c::passes {

namespace {

constexpr int64_t kAlignment = 64;  // backend/buffer_plan.h kArenaAlignment

int64_t align_up(int64_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

bool in_arena(const ir::Module& m, int node) {
    ir::OpKind kind = m.nodes[node].kind;
    return kind != ir::OpKind::Input && kind != ir::OpKind::KvAppend && !m.is_constant(node) && node != m.result;
}

struct Value {
    int node;
    int64_t bytes;  // aligned
    int first, last;  // live range, node indices, inclusive
    int64_t offset = -1;
};

}  // namespace

void run_plan_memory(ir::Module& module, const PassContext&) {
    const int n = int(module.nodes.size());
    const int64_t bound = ir::symbol_bound(module);
    std::vector<int> last_use(n);
    for (int i = 0; i < n; ++i) last_use[i] = i;
    for (int i = 0; i < n; ++i)
        for (int op : module.nodes[i].operands) last_use[op] = std::max(last_use[op], i);

    std::vector<Value> values;
    int64_t unplanned = 0;
    for (int i = 0; i < n; ++i) {
        module.nodes[i].attrs.erase("arena_offset");
        if (!in_arena(module, i)) continue;
        const ir::TensorType& type = module.nodes[i].type;
        int64_t bytes = align_up(type.storage_bytes(bound));
        values.push_back({i, bytes, i, last_use[i]});
        unplanned += bytes;
    }

    std::vector<int> order(values.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = int(i);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return values[a].bytes > values[b].bytes; });

    int64_t arena = 0;
    std::vector<int> placed;
    std::vector<std::pair<int64_t, int64_t>> busy;  // [begin, end) of placed values live at the same time
    for (int v : order) {
        Value& value = values[v];
        busy.clear();
        for (int p : placed)
            if (values[p].first <= value.last && value.first <= values[p].last)
                busy.emplace_back(values[p].offset, values[p].offset + values[p].bytes);
        std::sort(busy.begin(), busy.end());
        int64_t offset = 0;
        for (const auto& [begin, end] : busy) {
            if (offset + value.bytes <= begin) break;  // fits in the gap before this region
            offset = std::max(offset, end);
        }
        value.offset = offset;
        placed.push_back(v);
        arena = std::max(arena, offset + value.bytes);
    }

    for (const Value& value : values) module.nodes[value.node].attrs["arena_offset"] = value.offset;
    module.attrs["arena_bytes"] = arena;
    module.attrs["unplanned_arena_bytes"] = unplanned;
}

}  // namespace gpt2c::passes
