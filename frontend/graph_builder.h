// frontend/graph_builder.h - turns a validated ModelConfig into the naive graph IR.
//
// The graph is the textbook GPT-2 forward pass, op by op, with nothing fused:
// passes/ make it fast. Weight nodes are named after their checkpoint tensor
// (canonical names, without the "transformer." prefix).
#pragma once

#include "frontend/config.h"
#include "ir/ir.h"

namespace gpt2c {

ir::Module build_graph(const ModelConfig& config, const std::string& module_name);

// The config recorded in a module's attributes (inverse of build_graph's).
ModelConfig config_from_module(const ir::Module& module);

}  // namespace gpt2c
