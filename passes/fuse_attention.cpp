// passes/fuse_attention.cpp - replaces the unfused causal attention chain by one attention op.
//
// `attn_values(softmax(causal_mask([scale](attn_scores(qkv, keys)))), values)` becomes
// `attention(qkv, keys, values){n_head, scale}` (scale = the scale node's factor, 1.0 without one),
// standing where attn_values stood and named like it. The fused kernel uses an online softmax over
// tiles of keys, so the [H, T, S] score, mask and probability tensors are never materialized. It
// fires only on exactly that chain: every intermediate (scores, scaled, masked, probs) must have
// this chain as its only user (another user would lose the value it reads); the mask must be
// present (the attention kernel is always causal, so a non-causal chain must stay unfused); keys
// and values must be the kv_append "k" and "v" of the same layer, both fed by the very qkv whose
// queries the scores read (the kernel takes q, k and v from one qkv row layout and one cache); and
// both ends must agree on n_head.
#include "passes/pass.h"

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

struct Match {
    std::vector<int> chain;  // the intermediates the fused node replaces
    int qkv = -1, keys = -1, values = -1, positions = -1, slots = -1;
    double scale = 1.0;
};

// The attention chain ending in attn_values node `v`, if it is one the fused op computes.
bool match_chain(const ir::Module& m, const std::vector<int>& uses, int v, Match& out) {
    const ir::Node& values_node = m.nodes[v];
    if (values_node.kind != ir::OpKind::AttnValues) return false;
    auto single = [&](int i, ir::OpKind kind) { return m.nodes[i].kind == kind && uses[i] == 1; };
    int probs = values_node.operands[0];
    if (!single(probs, ir::OpKind::Softmax)) return false;
    int masked = m.nodes[probs].operands[0];
    if (!single(masked, ir::OpKind::CausalMask)) return false;
    int scores = m.nodes[masked].operands[0];
    out.chain = {probs, masked};
    out.scale = 1.0;
    if (single(scores, ir::OpKind::Scale)) {
        out.scale = m.nodes[scores].float_attr("factor");
        out.chain.push_back(scores);
        scores = m.nodes[scores].operands[0];
    }
    if (!single(scores, ir::OpKind::AttnScores)) return false;
    out.chain.push_back(scores);

    const ir::Node& s = m.nodes[scores];
    out.qkv = s.operands[0];
    out.keys = s.operands[1];
    out.values = values_node.operands[1];
    const ir::Node& k = m.nodes[out.keys];
    const ir::Node& val = m.nodes[out.values];
    if (k.kind != ir::OpKind::KvAppend || val.kind != ir::OpKind::KvAppend) return false;
    if (k.str_attr("part") != "k" || val.str_attr("part") != "v") return false;
    if (k.int_attr("layer") != val.int_attr("layer")) return false;
    if (k.operands[0] != out.qkv || val.operands[0] != out.qkv) return false;
    // Every op of the chain reads the same rows: the same positions and slots.
    out.positions = s.operands[2];
    out.slots = s.operands[3];
    if (m.nodes[masked].operands[1] != out.positions || values_node.operands[2] != out.positions ||
        values_node.operands[3] != out.slots)
        return false;
    return s.int_attr("n_head") == values_node.int_attr("n_head");
}

}  // namespace

void run_fuse_attention(ir::Module& module, const PassContext&) {
    const std::vector<int> uses = module.use_counts();
    std::vector<bool> dead(module.nodes.size(), false);
    bool any = false;
    for (size_t i = 0; i < module.nodes.size(); ++i) {
        Match match;
        if (!match_chain(module, uses, int(i), match)) continue;
        ir::Node& node = module.nodes[i];
        int64_t n_head = node.int_attr("n_head");
        node.kind = ir::OpKind::Attention;
        node.operands = {match.qkv, match.keys, match.values, match.positions, match.slots};
        node.attrs = {{"n_head", n_head}, {"scale", match.scale}};
        for (int c : match.chain) dead[c] = true;
        any = true;
    }
    if (any) erase_nodes(module, dead);
}

}  // namespace gpt2c::passes
