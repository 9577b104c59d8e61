// backend/metadata.cpp - builds the metadata JSON a compiled library exports.
#include "backend/metadata.h"

#include "frontend/graph_builder.h"
#include "support/cpu_isa.h"

#include <gpt2c/abi.h>
#include <nlohmann/json.hpp>

namespace gpt2c::backend {

namespace {

nlohmann::json shape_of(const ir::TensorType& type) {
    nlohmann::json shape = nlohmann::json::array();
    for (ir::Dim d : type.dims) shape.push_back(d.value);
    return shape;
}

}  // namespace

std::string library_metadata_json(const ir::Module& m, const BufferPlan& plan, const TargetSpec& target,
                                  const std::vector<std::string>& isa_features, const std::string& pipeline) {
    std::vector<bool> used_by_forward(m.nodes.size(), false);
    for (const ir::Node& n : m.nodes) {
        if (&n - m.nodes.data() >= 0 && m.is_constant(int(&n - m.nodes.data()))) continue;
        for (int op : n.operands) used_by_forward[op] = true;
    }
    nlohmann::json weights = nlohmann::json::array();
    for (int node : plan.raw_weights)
        weights.push_back({{"name", m.nodes[node].str_attr("tensor")},
                           {"shape", shape_of(m.nodes[node].type)},
                           {"used_by_forward", bool(used_by_forward[node])}});
    nlohmann::json prepared = nlohmann::json::array();
    for (int node : plan.prepared) {
        // What prepare reads to compute this tensor alone (gpt2c_prepare_args.only).
        nlohmann::json raw_inputs = nlohmann::json::array(), prepared_inputs = nlohmann::json::array();
        for (int op : m.nodes[node].operands) {
            const BufferLocation& loc = plan.location[op];
            if (loc.storage == Storage::RawWeight) raw_inputs.push_back(loc.index);
            if (loc.storage == Storage::Prepared) prepared_inputs.push_back(loc.index);
        }
        prepared.push_back({{"name", m.nodes[node].name},
                            {"shape", shape_of(m.nodes[node].type)},
                            {"bytes", max_value_bytes(m, node)},
                            {"used_by_forward", bool(used_by_forward[node])},
                            {"inputs", {{"weights", raw_inputs}, {"prepared", prepared_inputs}}}});
    }
    nlohmann::json meta = {
        {"abi_version", GPT2C_ABI_VERSION},
        {"gpt2c_version", GPT2C_VERSION},
        {"name", m.name},
        {"config", config_to_json(config_from_module(m))},
        {"target",
         {{"triple", target.triple},
          {"arch", arch_name(arch_of_triple(target.triple))},
          {"cpu", target.cpu},
          {"features", target.features},
          {"isa_features", isa_features}}},
        {"weights", weights},
        {"prepared", prepared},
        {"arena_bytes", plan.arena_bytes},
        {"kv_dtype", plan.kv_dtype},
        {"kv_cache_bytes", plan.kv_cache_bytes},
        {"pipeline", pipeline},
    };
    return meta.dump();
}

}  // namespace gpt2c::backend
