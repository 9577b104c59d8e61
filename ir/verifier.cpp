// ir/verifier.cpp - type rules for every op and the module-level checks.
#include "ir/verifier.h"

#include "frontend/config.h"
#include "support/error.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace gpt2c::ir {

namespace {

struct Checker {
    const Module& m;
    const Node& node;

    [[noreturn]] void error(const std::string& what) const {
        fail("IR verifier: %{} ({}): {}", node.name, op_info(node.kind).name, what);
    }

    const TensorType& operand(int i) const { return m.nodes[node.operands[i]].type; }
    const std::string& operand_name(int i) const { return m.nodes[node.operands[i]].name; }

    void rank(int i, size_t r, ElemType elem = ElemType::F32, const char* why = "") const {
        if (operand(i).dims.size() != r)
            error(fmt::format("operand {} (%{}) must have rank {}, found {}", i, operand_name(i), r,
                              format_type(operand(i))));
        if (operand(i).elem != elem && node.kind != OpKind::Embed) {
            const std::string type = format_type(TensorType{elem, {}});
            error(fmt::format("operand {} (%{}) must be {}{}, found {}", i, operand_name(i),
                              type.substr(0, type.find('[')), why, format_type(operand(i))));
        }
    }

    void same_dim(int i, size_t d, Dim want) const {
        Dim got = operand(i).dims.at(d);
        if (!(got == want))
            error(fmt::format("operand {} (%{}) has type {}: dimension {} does not match", i, operand_name(i),
                              format_type(operand(i)), d));
    }

    void constant(int i) const {
        if (!m.is_constant(node.operands[i]))
            error(fmt::format("operand {} (%{}) must be a weight or derived from weights", i, operand_name(i)));
    }

    void positive_attr(const std::string& key) const {
        if (!node.has_attr(key)) error(fmt::format("missing attribute '{}'", key));
        if (node.int_attr(key) <= 0) error(fmt::format("attribute '{}' must be positive", key));
    }

    int64_t n_head() const {
        positive_attr("n_head");
        // The KV cache keeps each head's positions together (kv_append splits by the module's n_head).
        if (node.int_attr("n_head") != m.int_attr("n_head"))
            error(fmt::format("n_head = {} differs from the module's n_head = {}", node.int_attr("n_head"),
                              m.int_attr("n_head")));
        return node.int_attr("n_head");
    }

    // Operand i is a layer's KV cache (a kv_append), C = width wide: [S, C] per slot.
    void kv_cache(int i, int64_t width) const {
        if (m.nodes[node.operands[i]].kind != OpKind::KvAppend)
            error(fmt::format("operand {} (%{}) must be a kv_append (a layer's KV cache)", i, operand_name(i)));
        rank(i, 2, operand(i).elem);  // kv_append checks its dtype
        same_dim(i, 0, Dim::s());
        same_dim(i, 1, Dim::c(width));
    }

    // [rows, 3C] qkv operand; returns C.
    int64_t qkv_width(int i) const {
        rank(i, 2);
        Dim w = operand(i).dims[1];
        if (!w.is_const() || w.value % 3 != 0) error("qkv operand width must be a constant multiple of 3");
        return w.value / 3;
    }
};

bool is_weight_layout(const std::string& layout) { return layout == "kn" || layout == "nk"; }

// ceil(a / b) for a >= 0, b > 0, without the overflow of (a + b - 1) / b near INT64_MAX.
int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0); }

TensorType f32(std::vector<Dim> dims) { return TensorType{ElemType::F32, std::move(dims)}; }

// Operand i must be the call's input `name` (tokens, positions, slots, logit_rows).
void require_input(const Checker& c, int i, const char* name) {
    const Node& input = c.m.nodes[c.node.operands[i]];
    if (input.kind != OpKind::Input || input.name != name)
        c.error(fmt::format("operand {} (%{}) must be the input %{}", i, input.name, name));
}

}  // namespace

bool is_k_pair_panels(const Module& m, int node) {
    const Node& n = m.nodes[node];
    return n.kind == OpKind::PackWeight && n.has_attr("k_pairs") && n.bool_attr("k_pairs");
}

bool is_k_quad_panels(const Module& m, int node) {
    const Node& n = m.nodes[node];
    return n.kind == OpKind::PackWeight && n.has_attr("k_quads") && n.bool_attr("k_quads");
}

Epilogue parse_epilogue(const Node& linear) {
    Epilogue e;
    std::string spec = linear.str_attr_or("epilogue", "");
    std::stringstream items(spec);
    std::string item;
    int stage = 0;  // enforces the order bias, activation, residual
    while (std::getline(items, item, ',')) {
        if (item == "bias" && stage < 1) {
            e.bias = true;
            stage = 1;
        } else if (item == "residual" && stage < 3) {
            e.residual = true;
            stage = 3;
        } else if (parse_activation(item) && stage < 2) {
            e.activation = item;
            stage = 2;
        } else {
            fail("IR verifier: %{} (linear): bad epilogue \"{}\": expected a subset of bias,<activation>,residual in "
                 "that order",
                 linear.name, spec);
        }
    }
    return e;
}

std::string format_epilogue(const Epilogue& e) {
    std::string s;
    auto add = [&](const std::string& item) { s += (s.empty() ? "" : ",") + item; };
    if (e.bias) add("bias");
    if (!e.activation.empty()) add(e.activation);
    if (e.residual) add("residual");
    return s;
}

LinearDims linear_dims(const Module& m, const Node& node) {
    const TensorType& w = m.nodes[node.operands.at(1)].type;
    std::string layout = node.str_attr_or("w_layout", "kn");
    auto need_rank = [&](size_t r) {
        if (w.dims.size() != r || !std::all_of(w.dims.begin(), w.dims.end(), [](Dim d) { return d.is_const(); }))
            fail("IR verifier: %{} (linear): weight of layout \"{}\" must be a constant rank-{} tensor, found {}",
                 node.name, layout, r, format_type(w));
    };
    if (layout == "kn") {
        need_rank(2);
        return {w.dims[0].value, w.dims[1].value};
    }
    if (layout == "nk") {
        need_rank(2);
        return {w.dims[1].value, w.dims[0].value};
    }
    if (layout == "panels") {
        need_rank(3);
        int64_t n = node.int_attr("n");
        int64_t nr = w.dims[2].value;
        if (n <= 0 || nr <= 0 || ceil_div(n, nr) != w.dims[0].value)
            fail("IR verifier: %{} (linear): attribute n = {} does not fit panels {}", node.name, n, format_type(w));
        // int8 panels carry their nr float32 column scales in 4 leading rows.
        int64_t k = w.dims[1].value - (w.elem == ElemType::I8 ? kInt8ScaleRows : 0);
        if (k <= 0) fail("IR verifier: %{} (linear): panels {} hold no rows", node.name, format_type(w));
        return {k, n};
    }
    fail("IR verifier: %{} (linear): unknown w_layout \"{}\" (expected kn, nk or panels)", node.name, layout);
}

TensorType infer_type(const Module& m, int index) {
    const Node& node = m.nodes[index];
    Checker c{m, node};
    const OpInfo& info = op_info(node.kind);
    int n_ops = int(node.operands.size());
    if (n_ops < info.min_operands || n_ops > info.max_operands)
        c.error(fmt::format("takes {} to {} operands, found {}", info.min_operands, info.max_operands, n_ops));
    for (int op : node.operands)
        if (op < 0 || op >= index) c.error("operand defined after its use");

    switch (node.kind) {
    case OpKind::Input: {
        // Row i of a call is token tokens[i] at position positions[i] of the sequence in
        // slot slots[i]; logit_rows lists the rows whose logits the call returns.
        if (node.name == "tokens" || node.name == "positions" || node.name == "slots")
            return TensorType{ElemType::I32, {Dim::t()}};
        if (node.name == "logit_rows") return TensorType{ElemType::I32, {Dim::l()}};
        c.error("an input is named %tokens, %positions, %slots or %logit_rows");
    }
    case OpKind::Weight: {
        if (!node.has_attr("tensor")) c.error("missing attribute 'tensor'");
        for (Dim d : node.type.dims)
            if (!d.is_const() || d.value <= 0) c.error("weights have positive constant dimensions");
        if (node.type.elem != ElemType::F32) c.error("weights are f32");
        return node.type;
    }
    case OpKind::Embed: {
        require_input(c, 0, "tokens");
        require_input(c, 1, "positions");
        c.rank(2, 2);
        c.rank(3, 2);
        c.constant(2);
        c.constant(3);
        c.same_dim(3, 1, c.operand(2).dims[1]);
        return f32({Dim::t(), c.operand(2).dims[1]});
    }
    case OpKind::LayerNorm:
    case OpKind::Normalize: {
        c.rank(0, 2);
        Dim width = c.operand(0).dims[1];
        if (!width.is_const()) c.error("the normalized axis must be constant");
        for (int i = 1; i < n_ops; ++i) {
            c.rank(i, 1);
            c.constant(i);
            c.same_dim(i, 0, width);
        }
        if (!node.has_attr("eps") || !(node.float_attr("eps") > 0)) c.error("attribute 'eps' must be positive");
        return c.operand(0);
    }
    case OpKind::Linear: {
        const bool quads = is_k_quad_panels(m, node.operands[1]);
        if (is_k_pair_panels(m, node.operands[1]))
            c.rank(0, 2, ElemType::BF16, " (the weight holds bf16 k-pairs: convert x with to_bf16)");
        else if (quads)
            c.rank(0, 2, ElemType::I8, " (the weight holds int8 k-quads: convert x with quantize_rows)");
        else
            c.rank(0, 2);
        c.constant(1);
        LinearDims d = linear_dims(m, node);
        c.same_dim(0, 1, Dim::c(quads ? quantized_row_bytes(d.k) : d.k));
        Epilogue e = parse_epilogue(node);
        int want = 2 + int(e.bias) + int(e.residual);
        if (n_ops != want) c.error(fmt::format("epilogue \"{}\" needs {} operands, found {}", format_epilogue(e), want, n_ops));
        int next = 2;
        if (e.bias) {
            c.rank(next, 1);
            c.constant(next);
            c.same_dim(next, 0, Dim::c(d.n));
            ++next;
        }
        TensorType out = f32({c.operand(0).dims[0], Dim::c(d.n)});
        if (e.residual && !(c.operand(next) == out))
            c.error(fmt::format("residual %{} must be {}, found {}", c.operand_name(next), format_type(out),
                                format_type(c.operand(next))));
        return out;
    }
    case OpKind::Activation: {
        if (!parse_activation(node.str_attr_or("fn", ""))) c.error("attribute 'fn' must name an activation");
        c.rank(0, c.operand(0).dims.size());
        return c.operand(0);
    }
    case OpKind::Add: {
        c.rank(0, c.operand(0).dims.size());
        if (!(c.operand(0) == c.operand(1)))
            c.error(fmt::format("operands differ in type: {} and {}", format_type(c.operand(0)), format_type(c.operand(1))));
        return c.operand(0);
    }
    case OpKind::KvAppend: {
        int64_t width = c.qkv_width(0);
        c.same_dim(0, 0, Dim::t());
        require_input(c, 1, "positions");
        require_input(c, 2, "slots");
        int64_t layer = node.int_attr("layer");
        if (layer < 0 || layer >= m.int_attr("n_layer")) c.error(fmt::format("layer {} out of range", layer));
        std::string part = node.str_attr("part");
        if (part != "k" && part != "v") c.error("attribute 'part' must be \"k\" or \"v\"");
        // The cache's element type: f32, bf16 or int8 (--kv-dtype; the readers widen it back to f32).
        const std::string dtype = node.str_attr_or("dtype", "f32");
        if (dtype != "f32" && dtype != "bf16" && dtype != "int8")
            c.error(fmt::format("attribute 'dtype' must be \"f32\", \"bf16\" or \"int8\", found \"{}\"", dtype));
        const ElemType elem = dtype == "bf16" ? ElemType::BF16 : dtype == "int8" ? ElemType::I8 : ElemType::F32;
        return TensorType{elem, {Dim::s(), Dim::c(width)}};
    }
    case OpKind::AttnScores: {
        int64_t width = c.qkv_width(0);
        c.kv_cache(1, width);
        require_input(c, 2, "positions");
        require_input(c, 3, "slots");
        int64_t h = c.n_head();
        if (width % h) c.error("n_head must divide the width");
        return f32({Dim::c(h), c.operand(0).dims[0], Dim::s()});
    }
    case OpKind::Scale:
        c.rank(0, c.operand(0).dims.size());
        if (!node.has_attr("factor")) c.error("missing attribute 'factor'");
        return c.operand(0);
    case OpKind::CausalMask:
    case OpKind::Softmax: {
        c.rank(0, 3);
        c.same_dim(0, 2, Dim::s());
        if (node.kind == OpKind::CausalMask) require_input(c, 1, "positions");
        return c.operand(0);
    }
    case OpKind::AttnValues: {
        c.rank(0, 3);
        c.kv_cache(1, c.operand(1).dims.size() == 2 && c.operand(1).dims[1].is_const() ? c.operand(1).dims[1].value : 0);
        require_input(c, 2, "positions");
        require_input(c, 3, "slots");
        int64_t h = c.n_head();
        c.same_dim(0, 0, Dim::c(h));
        c.same_dim(0, 2, Dim::s());
        return f32({c.operand(0).dims[1], c.operand(1).dims[1]});
    }
    case OpKind::Attention: {
        int64_t width = c.qkv_width(0);
        for (int i = 1; i <= 2; ++i) c.kv_cache(i, width);
        require_input(c, 3, "positions");
        require_input(c, 4, "slots");
        int64_t h = c.n_head();
        if (width % h) c.error("n_head must divide the width");
        if (!node.has_attr("scale")) c.error("missing attribute 'scale'");
        return f32({c.operand(0).dims[0], Dim::c(width)});
    }
    case OpKind::GatherRows: {
        c.rank(0, 2);
        c.same_dim(0, 0, Dim::t());
        require_input(c, 1, "logit_rows");
        return f32({Dim::l(), c.operand(0).dims[1]});
    }
    case OpKind::ToBf16: {
        c.rank(0, 2);
        Dim k = c.operand(0).dims[1];
        if (!k.is_const()) c.error("the converted axis must be constant");
        return TensorType{ElemType::BF16, {c.operand(0).dims[0], Dim::c(k.value + k.value % 2)}};
    }
    case OpKind::QuantizeRows: {
        c.rank(0, 2);
        Dim k = c.operand(0).dims[1];
        if (!k.is_const()) c.error("the quantized axis must be constant");
        if (k.value > (int64_t(1) << 30)) c.error(fmt::format("K = {} is too large to quantize", k.value));
        return TensorType{ElemType::I8, {c.operand(0).dims[0], Dim::c(quantized_row_bytes(k.value))}};
    }
    case OpKind::FoldLnWeight: {
        c.constant(0);
        c.constant(1);
        std::string layout = node.str_attr_or("w_layout", "");
        if (!is_weight_layout(layout)) c.error("attribute 'w_layout' must be \"kn\" or \"nk\"");
        c.rank(0, 2);
        c.rank(1, 1);
        c.same_dim(1, 0, c.operand(0).dims[layout == "kn" ? 0 : 1]);
        return c.operand(0);
    }
    case OpKind::FoldLnBias: {
        for (int i = 0; i < n_ops; ++i) c.constant(i);
        std::string layout = node.str_attr_or("w_layout", "");
        if (!is_weight_layout(layout)) c.error("attribute 'w_layout' must be \"kn\" or \"nk\"");
        c.rank(0, 2);
        c.rank(1, 1);
        Dim k = c.operand(0).dims[layout == "kn" ? 0 : 1];
        Dim n = c.operand(0).dims[layout == "kn" ? 1 : 0];
        c.same_dim(1, 0, k);
        if (n_ops == 3) {
            c.rank(2, 1);
            c.same_dim(2, 0, n);
        }
        return f32({n});
    }
    case OpKind::PackWeight: {
        for (int i = 0; i < n_ops; ++i) c.constant(i);
        c.rank(0, 2);
        std::string layout = node.str_attr_or("w_layout", "");
        if (!is_weight_layout(layout)) c.error("attribute 'w_layout' must be \"kn\" or \"nk\"");
        c.positive_attr("nr");
        int64_t nr = node.int_attr("nr");
        if (nr % 16 != 0 || nr > 64) c.error(fmt::format("attribute 'nr' must be 16, 32, 48 or 64 (the micro-kernel widths), found {}", nr));
        int64_t k = c.operand(0).dims[layout == "kn" ? 0 : 1].value;
        if (n_ops == 2) {  // gamma: one factor per row k
            c.rank(1, 1);
            c.same_dim(1, 0, Dim::c(k));
        }
        int64_t n = c.operand(0).dims[layout == "kn" ? 1 : 0].value;
        std::string dtype = node.str_attr_or("dtype", "f32");
        const int64_t panels = ceil_div(n, nr);
        if (node.has_attr("k_pairs") && node.bool_attr("k_pairs")) {
            // Rows k and k+1 interleaved per column, for bf16 dot products; odd K gets a zero row.
            if (dtype != "bf16") c.error("attribute 'k_pairs' needs dtype = \"bf16\"");
            return TensorType{ElemType::BF16, {Dim::c(panels), Dim::c(k + k % 2), Dim::c(nr)}};
        }
        if (node.has_attr("k_quads") && node.bool_attr("k_quads")) {
            // Rows 4i..4i+3 side by side per column, for int8 dot products; K padded with zero rows.
            if (dtype != "int8" && dtype != "q4") c.error("attribute 'k_quads' needs dtype = \"int8\" or \"q4\"");
            if (k > (int64_t(1) << 30)) c.error(fmt::format("K = {} is too large for k-quad panels", k));
            if (dtype == "q4") return TensorType{ElemType::Q4, {Dim::c(panels), Dim::c(k), Dim::c(nr)}};
            return TensorType{ElemType::I8, {Dim::c(panels), Dim::c(k_quad_rows(k) + kInt8ScaleRows), Dim::c(nr)}};
        }
        if (dtype == "f32") return f32({Dim::c(panels), Dim::c(k), Dim::c(nr)});
        if (dtype == "bf16") return TensorType{ElemType::BF16, {Dim::c(panels), Dim::c(k), Dim::c(nr)}};
        if (dtype == "int8") {
            if (k > INT64_MAX - kInt8ScaleRows) c.error(fmt::format("K = {} is too large for int8 panels", k));
            return TensorType{ElemType::I8, {Dim::c(panels), Dim::c(k + kInt8ScaleRows), Dim::c(nr)}};
        }
        if (dtype == "q4") return TensorType{ElemType::Q4, {Dim::c(panels), Dim::c(k), Dim::c(nr)}};
        c.error(fmt::format("attribute 'dtype' must be \"f32\", \"bf16\", \"int8\" or \"q4\", found \"{}\"", dtype));
    }
    }
    c.error("unknown op");
}

void verify(const Module& m) {
    for (const char* key : {"n_layer", "n_head", "n_embd", "n_positions", "vocab_size"}) {
        auto it = m.attrs.find(key);
        if (it == m.attrs.end() || !std::holds_alternative<int64_t>(it->second) || std::get<int64_t>(it->second) <= 0)
            fail("IR verifier: module attribute '{}' must be a positive integer", key);
    }
    for (size_t i = 0; i < m.nodes.size(); ++i) {
        TensorType want = infer_type(m, int(i));
        if (!(want == m.nodes[i].type))
            fail("IR verifier: %{} ({}): declared type {} but its operands give {}", m.nodes[i].name,
                 op_info(m.nodes[i].kind).name, format_type(m.nodes[i].type), format_type(want));
    }
    // One KV cache holds every layer, so all of it has one element type.
    const Node* first_kv = nullptr;
    for (const Node& n : m.nodes) {
        if (n.kind != OpKind::KvAppend) continue;
        if (!first_kv) first_kv = &n;
        else if (n.type.elem != first_kv->type.elem)
            fail("IR verifier: %{} (kv_append) stores {} but %{} stores {}: the KV cache has one element type",
                 n.name, format_type(n.type), first_kv->name, format_type(first_kv->type));
    }
    if (m.result < 0 || m.result >= int(m.nodes.size())) fail("IR verifier: the module returns no value");
    TensorType logits = f32({Dim::l(), Dim::c(m.int_attr("vocab_size"))});
    const Node& r = m.nodes[m.result];
    if (!(r.type == logits))
        fail("IR verifier: returned value %{} ({}) must be {}, found {}", r.name, op_info(r.kind).name,
             format_type(logits), format_type(r.type));
}

}  // namespace gpt2c::ir
