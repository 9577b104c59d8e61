// passes/cse.cpp - common-subexpression elimination.
//
// Two nodes compute the same value when they have the same op, operands,
// attributes and type. The later one is replaced by the earlier. Weights are
// the same value when they name the same tensor (a tied LM head may appear
// as a second weight node of wte.weight). kv_append nodes are never merged
// unless identical in layer and part, which is what makes them the same
// write.
#include "passes/pass.h"

#include "ir/text.h"

#include <map>

namespace gpt2c::passes {

void run_cse(ir::Module& module, const PassContext&) {
    std::map<std::string, int> seen;
    std::vector<int> replace(module.nodes.size(), -1);
    for (size_t i = 0; i < module.nodes.size(); ++i) {
        ir::Node& node = module.nodes[i];
        for (int& op : node.operands)
            if (replace[op] >= 0) op = replace[op];
        if (node.kind == ir::OpKind::Input) continue;
        std::string key = std::string(ir::op_info(node.kind).name) + " " + ir::format_type(node.type);
        for (int op : node.operands) key += " %" + std::to_string(op);
        for (const auto& [k, v] : node.attrs) key += " " + k + "=" + ir::format_attr_value(v);
        auto [it, inserted] = seen.emplace(key, int(i));
        if (!inserted) replace[i] = it->second;
    }
    module.compact(replace);
}

}  // namespace gpt2c::passes
