// backend/kernel_call.cpp - maps each IR op to its kernel's arguments.
#include "backend/kernel_call.h"

#include "ir/verifier.h"
#include "support/error.h"

namespace gpt2c::backend {

using ir::OpKind;

Scalar Scalar::of(ir::Dim d) {
    switch (d.kind) {
    case ir::Dim::Kind::Const: return integer(d.value);
    case ir::Dim::Kind::T: return {Kind::T};
    case ir::Dim::Kind::S: return {Kind::S};
    case ir::Dim::Kind::L: return {Kind::L};
    }
    return integer(0);
}

int64_t activation_code(const std::string& name) {
    if (name.empty() || name == "none") return 0;
    if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return 1;
    if (name == "gelu") return 2;
    if (name == "relu") return 3;
    if (name == "quick_gelu") return 4;
    if (name == "silu") return 5;
    fail("backend: unknown activation \"{}\"", name);
}

namespace {

int64_t layout_code(const std::string& layout) {
    if (layout == "kn") return 0;
    if (layout == "nk") return 1;
    if (layout == "panels") return 2;
    fail("backend: unknown weight layout \"{}\"", layout);
}

// [d0, d1, d2] view of an elementwise operand (rank 2 -> [1, d0, d1]).
std::vector<Scalar> three_dims(const ir::TensorType& type) {
    std::vector<Scalar> dims;
    for (size_t i = type.dims.size(); i < 3; ++i) dims.push_back(Scalar::integer(1));
    for (ir::Dim d : type.dims) dims.push_back(Scalar::of(d));
    return dims;
}

}  // namespace

KernelCall describe_kernel_call(const ir::Module& m, int index, const passes::TargetInfo& target) {
    const ir::Node& n = m.nodes[index];
    auto op = [&](int i) { return n.operands[i]; };
    auto dim = [&](int operand, int d) { return Scalar::of(m.nodes[op(operand)].type.dims[d]); };
    auto I = Scalar::integer;
    const Scalar T{Scalar::Kind::T}, S{Scalar::Kind::S}, L{Scalar::Kind::L};
    const int64_t C = m.int_attr("n_embd");
    const Scalar n_layer = I(m.int_attr("n_layer"));
    // The layer of the KV cache operand i (a kv_append).
    auto layer_of = [&](int i) { return Scalar::layer(m.nodes[op(i)].int_attr("layer")); };
    // The KV cache's element type (KernelKvType: 0 f32, 1 bf16, 2 int8); the verifier makes the whole cache one type.
    auto kv_type_of = [&](const ir::Node& kv) {
        return I(kv.type.elem == ir::ElemType::BF16 ? 1 : kv.type.elem == ir::ElemType::I8 ? 2 : 0);
    };
    auto kv_type = [&](int i) { return kv_type_of(m.nodes[op(i)]); };

    switch (n.kind) {
    case OpKind::Embed: return {"embed", {op(0), op(1), op(2), op(3), index}, {T, dim(2, 1)}};
    case OpKind::LayerNorm:
        return {"layer_norm", {op(0), op(1), op(2), index}, {dim(0, 0), dim(0, 1), I(1), Scalar::real(n.float_attr("eps"))}};
    case OpKind::Normalize:
        return {"layer_norm", {op(0), -1, -1, index}, {dim(0, 0), dim(0, 1), I(0), Scalar::real(n.float_attr("eps"))}};
    case OpKind::Linear: {
        ir::Epilogue e = ir::parse_epilogue(n);
        ir::LinearDims d = ir::linear_dims(m, n);
        std::string layout = n.str_attr_or("w_layout", "kn");
        int64_t nr = layout == "panels" ? m.nodes[op(1)].type.dims[2].value : 1;
        ir::ElemType welem = m.nodes[op(1)].type.elem;
        int64_t wdtype = welem == ir::ElemType::BF16 ? 1 : welem == ir::ElemType::I8 ? 2 : welem == ir::ElemType::Q4 ? 3 : 0;
        int next = 2;
        int bias = e.bias ? op(next++) : -1;
        int residual = e.residual ? op(next++) : -1;
        const int64_t mr = n.has_attr("tile_mr") ? n.int_attr("tile_mr") : 8;
        const int64_t kc = n.has_attr("tile_kc") ? n.int_attr("tile_kc") : d.k;
        if (ir::is_k_pair_panels(m, op(1)))
            return {"linear_bf16dot", {op(0), op(1), bias, residual, index},
                    {dim(0, 0), I(d.k), I(d.n), I(nr), I(mr), I(kc), I(e.bias), I(activation_code(e.activation)),
                     I(e.residual)}};
        if (ir::is_k_quad_panels(m, op(1))) {
            // AVX512_VNNI multiplies 16 columns per zmm register; AVX-VNNI (no AVX-512) in
            // two ymm; AArch64 DotProd in four q registers. q4 without them: vpmaddubsw and
            // vpmaddwd (AVX512BW in zmm, AVX2 in two ymm).
            const bool q4 = welem == ir::ElemType::Q4;
            const int bytes = q4 ? target.q4_dot_bytes : target.int8_dot_bytes;
            if (bytes == 0)
                fail("backend: %{} (linear) reads k-quad panels (integer dot products), but the target has none "
                     "(AVX512_VNNI or AVX-VNNI on x86-64, or AVX2 for q4; dotprod on AArch64)", n.name);
            const std::string madd = q4 && target.int8_dot_bytes == 0 ? "_madd" : "";
            const std::string width = bytes == 32 ? "_ymm" : bytes == 16 ? "_neon" : "";
            return {(q4 ? "linear_q4dot" : "linear_int8dot") + madd + width,
                    {op(0), op(1), bias, residual, index},
                    {dim(0, 0), I(d.k), I(d.n), I(nr), I(mr), I(kc), I(e.bias), I(activation_code(e.activation)),
                     I(e.residual)}};
        }
        return {"linear", {op(0), op(1), bias, residual, index},
                {dim(0, 0), I(d.k), I(d.n), I(layout_code(layout)), I(nr), I(wdtype), I(mr), I(kc), I(e.bias),
                 I(activation_code(e.activation)), I(e.residual)}};
    }
    case OpKind::Activation: {
        auto s = three_dims(n.type);
        s.push_back(I(activation_code(n.str_attr("fn"))));
        return {"activation", {op(0), index}, s};
    }
    case OpKind::Add: return {"add", {op(0), op(1), index}, three_dims(n.type)};
    case OpKind::Scale: {
        auto s = three_dims(n.type);
        s.push_back(Scalar::real(n.float_attr("factor")));
        return {"scale", {op(0), index}, s};
    }
    case OpKind::Softmax: return {"softmax", {op(0), index}, three_dims(n.type)};
    case OpKind::KvAppend:
        return {"kv_append", {op(0), op(1), op(2), index},
                {T, S, I(C), I(m.int_attr("n_head")), I(n.str_attr("part") == "v" ? 1 : 0),
                 Scalar::layer(n.int_attr("layer")), n_layer, kv_type_of(n)}};
    case OpKind::AttnScores:
        return {"attn_scores", {op(0), op(1), op(2), op(3), index},
                {T, S, I(C), I(n.int_attr("n_head")), layer_of(1), n_layer, kv_type(1)}};
    case OpKind::CausalMask: return {"causal_mask", {op(0), op(1), index}, {dim(0, 0), T, S}};
    case OpKind::AttnValues:
        return {"attn_values", {op(0), op(1), op(2), op(3), index},
                {T, S, I(C), I(n.int_attr("n_head")), layer_of(1), n_layer, kv_type(1)}};
    case OpKind::Attention:
        return {"attention", {op(0), op(1), op(2), op(3), op(4), index},
                {T, S, I(C), I(n.int_attr("n_head")), Scalar::real(n.float_attr("scale")), layer_of(1), n_layer,
                 kv_type(1)}};
    case OpKind::GatherRows: return {"gather_rows", {op(0), op(1), index}, {T, L, dim(0, 1)}};
    case OpKind::ToBf16: return {"to_bf16", {op(0), index}, {dim(0, 0), dim(0, 1), Scalar::of(n.type.dims[1])}};
    case OpKind::QuantizeRows:
        return {"quantize_rows", {op(0), index}, {dim(0, 0), dim(0, 1), Scalar::of(n.type.dims[1])}};
    case OpKind::FoldLnWeight: {
        std::string layout = n.str_attr("w_layout");
        const auto& w = m.nodes[op(0)].type.dims;
        int64_t k = layout == "kn" ? w[0].value : w[1].value, nn = layout == "kn" ? w[1].value : w[0].value;
        return {"fold_ln_weight", {op(0), op(1), index}, {I(k), I(nn), I(layout_code(layout))}};
    }
    case OpKind::FoldLnBias: {
        std::string layout = n.str_attr("w_layout");
        const auto& w = m.nodes[op(0)].type.dims;
        int64_t k = layout == "kn" ? w[0].value : w[1].value, nn = layout == "kn" ? w[1].value : w[0].value;
        bool has_bias = n.operands.size() == 3;
        return {"fold_ln_bias", {op(0), op(1), has_bias ? op(2) : -1, index},
                {I(k), I(nn), I(layout_code(layout)), I(has_bias)}};
    }
    case OpKind::PackWeight: {
        std::string layout = n.str_attr("w_layout");
        const auto& w = m.nodes[op(0)].type.dims;
        int64_t k = layout == "kn" ? w[0].value : w[1].value, nn = layout == "kn" ? w[1].value : w[0].value;
        std::string dtype = n.str_attr_or("dtype", "f32");
        int64_t wdtype = dtype == "bf16" ? 1 : dtype == "int8" ? 2 : dtype == "q4" ? 3 : 0;
        bool has_gamma = n.operands.size() == 2;
        return {"pack_weight", {op(0), has_gamma ? op(1) : -1, index},
                {I(k), I(nn), I(layout_code(layout)), I(n.int_attr("nr")), I(wdtype), I(has_gamma),
                 I(ir::is_k_pair_panels(m, index) ? 2 : ir::is_k_quad_panels(m, index) ? 4 : 1)}};
    }
    case OpKind::Input:
    case OpKind::Weight: break;
    }
    fail("backend: %{} ({}) has no kernel", n.name, ir::op_info(n.kind).name);
}

}  // namespace gpt2c::backend
