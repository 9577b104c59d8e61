// passes/fuse_epilogue.cpp - folds activations and residual adds into the projection before them.
//
// `activation(linear(...)){fn}` becomes the linear with fn in its epilogue, and `add(linear(...), r)`
// (or `add(r, linear(...))`) becomes the linear with "residual" in its epilogue and r as its last
// operand (operands x, W, [bias], [residual]; epilogue order bias, activation, residual), so the
// kernel applies them to each output element while it is still in a register instead of another
// pass over memory. The fused node stands where the activation / add stood and takes its name, so
// later names stay stable; the absorbed linear is removed. It must not fire when the linear has
// another user (the unfused value would be lost), when an activation follows a linear that already
// has an activation or a residual (the epilogue applies bias, activation, residual in that order, so
// act(xW + b + r) or act(act(..)) is not expressible), or when an add's linear already has a
// residual. When both add operands are fusable linears only one is fused, the one computed later,
// and the other becomes its residual; a linear added to itself is never fused (two uses).
#include "passes/pass.h"

#include "ir/verifier.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace gpt2c::passes {

namespace {

// Removes the nodes marked in `drop` (which nothing uses any more) and renumbers the rest.
void erase_nodes(ir::Module& m, const std::vector<bool>& drop) {
    std::vector<int> new_index(m.nodes.size(), -1);
    std::vector<ir::Node> kept;
    for (size_t i = 0; i < m.nodes.size(); ++i) {
        if (drop[i]) continue;
        new_index[i] = int(kept.size());
        kept.push_back(std::move(m.nodes[i]));
    }
    for (ir::Node& n : kept)
        for (int& op : n.operands) op = new_index[op];
    if (m.result >= 0) m.result = new_index[m.result];
    m.nodes = std::move(kept);
}

}  // namespace

void run_fuse_epilogue(ir::Module& module, const PassContext&) {
    std::vector<int> uses = module.use_counts();
    std::vector<bool> absorbed(module.nodes.size(), false);
    bool any = false;

    // Replaces node `at` by linear `lin` with epilogue `e` (plus `residual` when >= 0).
    auto fuse = [&](int at, int lin, const ir::Epilogue& e, int residual) {
        ir::Node& linear = module.nodes[lin];
        ir::Node fused{ir::OpKind::Linear, module.nodes[at].name, module.nodes[at].type, linear.operands, linear.attrs};
        fused.attrs["epilogue"] = ir::format_epilogue(e);
        if (residual >= 0) fused.operands.push_back(residual);
        module.nodes[at] = std::move(fused);
        uses[lin] = 0;
        absorbed[lin] = true;
        any = true;
    };
    auto single_use_linear = [&](int i) { return module.nodes[i].kind == ir::OpKind::Linear && uses[i] == 1; };

    // In order, so a node fused here (activation into linear) can take a residual further on.
    for (size_t i = 0; i < module.nodes.size(); ++i) {
        const ir::Node& node = module.nodes[i];
        if (node.kind == ir::OpKind::Activation) {
            int lin = node.operands[0];
            if (!single_use_linear(lin)) continue;
            ir::Epilogue e = ir::parse_epilogue(module.nodes[lin]);
            if (!e.activation.empty() || e.residual) continue;
            e.activation = node.str_attr("fn");
            fuse(int(i), lin, e, -1);
        } else if (node.kind == ir::OpKind::Add) {
            int a = node.operands[0], b = node.operands[1];
            if (a == b) continue;
            // The operand computed later first: the earlier one is then the residual.
            for (auto [lin, r] : {std::pair{std::max(a, b), std::min(a, b)}, std::pair{std::min(a, b), std::max(a, b)}}) {
                if (!single_use_linear(lin)) continue;
                ir::Epilogue e = ir::parse_epilogue(module.nodes[lin]);
                if (e.residual) continue;
                e.residual = true;
                fuse(int(i), lin, e, r);
                break;
            }
        }
    }
    if (any) erase_nodes(module, absorbed);
}

}  // namespace gpt2c::passes
