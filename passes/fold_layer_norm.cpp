// passes/fold_layer_norm.cpp - folds a layer norm's affine part into the projection it feeds.
//
// `linear(layer_norm(x, g, b), W, [bias], ...)` becomes `linear(normalize(x), W', b', ...)` with
// W' = fold_ln_weight(W, g) = diag(g) W and b' = fold_ln_bias(W, b[, bias]) = b W + bias, since
// (n*g + b) W + bias = n (diag(g) W) + (b W + bias); the linear gains "bias" in its epilogue if it
// had none and keeps the rest (activation, residual, tiling attributes). W' and b' are weight
// transforms, computed once when weights are loaded, so each token saves the affine pass over x.
// The normalize node keeps the layer norm's name; the folded weights are named after the linear
// (`%h0.qkv.w_folded`, `%h0.qkv.b_folded`). It must not fire when the layer norm has another user
// (that user still needs the affine result, and W' would only serve this one linear), when the
// layer norm is not the linear's x operand (e.g. it is the residual), or when W is already packed
// into panels (fold_ln_weight reads W in a checkpoint layout, kn or nk, and a packed weight would
// have to be unpacked first; folding belongs before prepack-weights).
#include "passes/pass.h"

#include "ir/verifier.h"

#include <string>
#include <vector>

namespace gpt2c::passes {

namespace {

// `base`, or `base.N` for the first N that neither module uses.
std::string fresh_name(const ir::Module& old_module, const ir::Module& new_module, const std::string& base) {
    auto taken = [&](const std::string& n) { return old_module.find(n) || new_module.find(n); };
    if (!taken(base)) return base;
    int suffix = 1;
    while (taken(base + "." + std::to_string(suffix))) ++suffix;
    return base + "." + std::to_string(suffix);
}

bool foldable(const ir::Module& m, const std::vector<int>& uses, const ir::Node& linear) {
    if (linear.kind != ir::OpKind::Linear) return false;
    int x = linear.operands[0];
    if (m.nodes[x].kind != ir::OpKind::LayerNorm || uses[x] != 1) return false;
    std::string layout = linear.str_attr_or("w_layout", "kn");
    return layout == "kn" || layout == "nk";
}

}  // namespace

void run_fold_layer_norm(ir::Module& module, const PassContext&) {
    const std::vector<int> uses = module.use_counts();
    std::vector<bool> fold(module.nodes.size(), false);  // linears whose x is folded
    std::vector<bool> strip(module.nodes.size(), false);  // layer norms that become normalize
    bool any = false;
    for (size_t i = 0; i < module.nodes.size(); ++i) {
        if (!foldable(module, uses, module.nodes[i])) continue;
        fold[i] = true;
        strip[module.nodes[i].operands[0]] = true;
        any = true;
    }
    if (!any) return;

    // Rebuild in order: each replacement is emitted where its original stood.
    ir::Module out;
    out.name = module.name;
    out.attrs = module.attrs;
    std::vector<int> map(module.nodes.size(), -1);
    for (size_t i = 0; i < module.nodes.size(); ++i) {
        const ir::Node& node = module.nodes[i];
        std::vector<int> operands;
        for (int op : node.operands) operands.push_back(map[op]);
        if (strip[i]) {
            map[i] = out.add(ir::OpKind::Normalize, node.name, node.type, {operands[0]}, node.attrs);
            continue;
        }
        if (!fold[i]) {
            map[i] = out.add(node.kind, node.name, node.type, operands, node.attrs);
            continue;
        }
        const ir::Node& ln = module.nodes[node.operands[0]];
        const int gamma = map[ln.operands[1]], beta = map[ln.operands[2]];
        const std::string layout = node.str_attr_or("w_layout", "kn");
        ir::Epilogue e = ir::parse_epilogue(node);
        const int w = operands[1];
        const int bias = e.bias ? operands[2] : -1;
        const int residual = e.residual ? operands[2 + int(e.bias)] : -1;

        const ir::Attrs layout_attr{{"w_layout", layout}};
        int w_folded = out.add(ir::OpKind::FoldLnWeight, fresh_name(module, out, node.name + ".w_folded"),
                               out.nodes[w].type, {w, gamma}, layout_attr);
        std::vector<int> bias_operands{w, beta};
        if (bias >= 0) bias_operands.push_back(bias);
        ir::LinearDims dims = ir::linear_dims(module, node);
        ir::TensorType bias_type{ir::ElemType::F32, {ir::Dim::c(dims.n)}};
        int b_folded = out.add(ir::OpKind::FoldLnBias, fresh_name(module, out, node.name + ".b_folded"), bias_type,
                               bias_operands, layout_attr);

        e.bias = true;
        ir::Attrs attrs = node.attrs;
        attrs["epilogue"] = ir::format_epilogue(e);
        std::vector<int> linear_operands{operands[0], w_folded, b_folded};
        if (residual >= 0) linear_operands.push_back(residual);
        map[i] = out.add(ir::OpKind::Linear, node.name, node.type, linear_operands, attrs);
    }
    out.result = module.result >= 0 ? map[module.result] : -1;
    module = std::move(out);  // nothing died: g and b moved to the folds, the layer norm became normalize
}

}  // namespace gpt2c::passes
