// backend/buffer_plan.cpp - assigns every value a storage location (see buffer_plan.h).
#include "backend/buffer_plan.h"

#include "support/error.h"
#include "support/kv_layout.h"

namespace gpt2c::backend {

int64_t max_value_bytes(const ir::Module& module, int node) {
    const ir::TensorType& type = module.nodes[node].type;
    return type.storage_bytes(ir::symbol_bound(module));
}

int64_t input_index(const std::string& name) {
    for (int64_t i = 0; i < int64_t(std::size(kInputNames)); ++i)
        if (name == kInputNames[i]) return i;
    fail("backend: %{} is not an input the forward call provides", name);
}

BufferPlan plan_buffers(const ir::Module& m) {
    BufferPlan plan;
    plan.location.resize(m.nodes.size());
    const int64_t n_positions = m.int_attr("n_positions");
    const int64_t n_embd = m.int_attr("n_embd");
    for (const ir::Node& node : m.nodes)  // the verifier makes every kv_append agree
        if (node.kind == ir::OpKind::KvAppend) {
            plan.kv_dtype = node.type.elem == ir::ElemType::BF16 ? "bf16" : node.type.elem == ir::ElemType::I8 ? "int8" : "f32";
            break;
        }
    plan.kv_cache_bytes = gpt2c::kv_cache_bytes(plan.kv_dtype, m.int_attr("n_layer"), n_positions, n_embd, m.int_attr("n_head"));

    bool planned = m.attrs.count("arena_bytes") != 0;
    int64_t bump = 0;
    for (size_t i = 0; i < m.nodes.size(); ++i) {
        const ir::Node& node = m.nodes[i];
        BufferLocation& loc = plan.location[i];
        if (node.kind == ir::OpKind::Input) {
            loc = {Storage::Input, input_index(node.name)};
        } else if (node.kind == ir::OpKind::Weight) {
            loc = {Storage::RawWeight, int64_t(plan.raw_weights.size())};
            plan.raw_weights.push_back(int(i));
        } else if (m.is_constant(int(i))) {
            loc = {Storage::Prepared, int64_t(plan.prepared.size())};
            plan.prepared.push_back(int(i));
        } else if (node.kind == ir::OpKind::KvAppend) {
            loc = {Storage::KvCache, 0};  // the kernels find the layer, part and slot (kv_part)
        } else if (int(i) == m.result) {
            loc.storage = Storage::Logits;
        } else if (planned) {
            if (!node.has_attr("arena_offset"))
                fail("backend: %{} has no arena_offset although the module was memory-planned", node.name);
            loc = {Storage::Arena, node.int_attr("arena_offset")};
            if (loc.index < 0 || loc.index % kArenaAlignment ||
                loc.index + max_value_bytes(m, int(i)) > m.int_attr("arena_bytes"))
                fail("backend: %{}: arena_offset {} does not fit the arena of {} bytes", node.name, loc.index,
                     m.int_attr("arena_bytes"));
        } else {
            loc = {Storage::Arena, bump};
            bump += (max_value_bytes(m, int(i)) + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
        }
    }
    plan.arena_bytes = planned ? m.int_attr("arena_bytes") : bump;
    return plan;
}

}  // namespace gpt2c::backend
