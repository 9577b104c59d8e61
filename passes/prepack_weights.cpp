// passes/prepack_weights.cpp - puts each tiled projection's weight in the layout its kernel reads.
//
// For a linear with tile_nr whose weight is in a checkpoint layout (kn or nk)
// it inserts `pack_weight(W){nr}`: W cut into column panels of nr, each
// stored k-major ([N/nr, K, nr], zero-padded), so the micro-kernel reads one
// contiguous stream per panel. pack_weight's operand is a weight (or a
// weight transform such as a folded layer norm), so it runs once in the
// library's prepare function when weights are loaded, never per token. The
// linear then reads the panels (w_layout = "panels", n = N). Linears without
// a tiling (choose-tiles did not run) are left alone.
// A weight that is a folded layer norm, fold_ln_weight(W, gamma) read by this
// linear only, is packed as pack_weight(W, gamma): the fold happens in the
// same pass over W, so loading never holds the folded copy (for GPT-2's tied
// LM head that copy is as big as the embedding table).
// With --weights-dtype=bf16 the panels hold bfloat16 (round to nearest even);
// with int8 each panel starts with its nr float32 column scales (absmax/127)
// followed by the int8 values; with q4 every group of 32 rows has a bf16 scale
// per column and 4-bit values (docs/Q4_WEIGHTS.md). Kernels widen to float32 as they load, so only
// the bytes streamed per token shrink. On a target with bf16 dot products
// (AVX512_BF16) bf16 panels are packed as k-pairs instead (k_pairs = true,
// rows k and k+1 interleaved, K rounded up to even) and the linear's input
// goes through `to_bf16` first: the kernel then multiplies pairs of bf16 into
// float32 accumulators at twice the float32 FMA rate, at the cost of rounding
// the activations that enter a projection to bf16 too. Likewise on a target
// with int8 dot products (AVX512_VNNI or AVX-VNNI) int8 and q4 panels are packed as
// k-quads (k_quads = true: rows 4i..4i+3 side by side, as unsigned bytes or
// nibbles) and the linear's input goes through `quantize_rows`: each row
// becomes int8 with its own scale (max |x| / 127), and the kernel multiplies
// bytes into int32 sums, four products per lane and instruction, exact in any
// order.
#include "passes/pass.h"

#include "ir/verifier.h"
#include "support/error.h"

namespace gpt2c::passes {

namespace {

// Inserts `node` at `position`; indices at or after it shift by one.
int insert_node(ir::Module& m, int position, ir::Node node) {
    for (ir::Node& n : m.nodes)
        for (int& op : n.operands)
            if (op >= position) ++op;
    if (m.result >= position) ++m.result;
    m.nodes.insert(m.nodes.begin() + position, std::move(node));
    return position;
}

std::string unique_name(const ir::Module& m, std::string name) {
    if (!m.find(name)) return name;
    int i = 1;
    while (m.find(name + "." + std::to_string(i))) ++i;
    return name + "." + std::to_string(i);
}

}  // namespace

void run_prepack_weights(ir::Module& module, const PassContext& context) {
    const std::string& dtype = context.weights_dtype;
    if (dtype != "f32" && dtype != "bf16" && dtype != "int8" && dtype != "q4")
        fail("--weights-dtype={}: expected f32, bf16, int8 or q4", dtype);
    ir::ElemType elem = dtype == "bf16"   ? ir::ElemType::BF16
                        : dtype == "int8" ? ir::ElemType::I8
                        : dtype == "q4"   ? ir::ElemType::Q4
                                          : ir::ElemType::F32;
    int64_t extra_rows = dtype == "int8" ? ir::kInt8ScaleRows : 0;
    for (size_t i = 0; i < module.nodes.size(); ++i) {
        ir::Node& linear = module.nodes[i];
        if (linear.kind != ir::OpKind::Linear || !linear.has_attr("tile_nr")) continue;
        std::string layout = linear.str_attr_or("w_layout", "kn");
        if (layout != "kn" && layout != "nk") continue;
        ir::LinearDims dims = ir::linear_dims(module, linear);
        int64_t nr = linear.int_attr("tile_nr");
        int weight = linear.operands[1];
        std::vector<int> operands{weight};
        const ir::Node& w = module.nodes[weight];
        if (w.kind == ir::OpKind::FoldLnWeight && module.use_counts()[weight] == 1)
            operands = {w.operands[0], w.operands[1]};
        ir::Node pack{ir::OpKind::PackWeight,
                      unique_name(module, w.name + ".packed"),
                      ir::TensorType{elem, {ir::Dim::c((dims.n + nr - 1) / nr), ir::Dim::c(dims.k + extra_rows),
                                            ir::Dim::c(nr)}},
                      operands,
                      {{"w_layout", layout}, {"nr", nr}}};
        if (dtype != "f32") pack.attrs["dtype"] = dtype;
        const bool native = context.arithmetic == "native";
        const bool k_pairs = native && dtype == "bf16" && context.target.bf16_dot;
        if (k_pairs) {
            pack.attrs["k_pairs"] = true;
            pack.type.dims[1] = ir::Dim::c(dims.k + dims.k % 2);
        }
        // int32 sums of K products of at most 255 * 127 cannot overflow up to K = 65536.
        const int dot_bytes = dtype == "int8" ? context.target.int8_dot_bytes : dtype == "q4" ? context.target.q4_dot_bytes : 0;
        const bool k_quads = native && dot_bytes > 0 && dims.k <= 65536;
        if (k_quads) {
            pack.attrs["k_quads"] = true;
            if (dtype == "int8") pack.type.dims[1] = ir::Dim::c(ir::k_quad_rows(dims.k) + ir::kInt8ScaleRows);
        }
        int packed = insert_node(module, int(i), std::move(pack));
        ++i;  // the linear, shifted by the insertion
        if (k_pairs || k_quads) {
            const ir::Node& x = module.nodes[module.nodes[i].operands[0]];
            ir::Node convert =
                k_pairs ? ir::Node{ir::OpKind::ToBf16, unique_name(module, x.name + ".bf16"),
                                   ir::TensorType{ir::ElemType::BF16, {x.type.dims[0], ir::Dim::c(dims.k + dims.k % 2)}},
                                   {module.nodes[i].operands[0]},
                                   {}}
                        : ir::Node{ir::OpKind::QuantizeRows, unique_name(module, x.name + ".q8"),
                                   ir::TensorType{ir::ElemType::I8, {x.type.dims[0], ir::Dim::c(ir::quantized_row_bytes(dims.k))}},
                                   {module.nodes[i].operands[0]},
                                   {}};
            int converted = insert_node(module, int(i), std::move(convert));
            ++i;
            module.nodes[i].operands[0] = converted;
        }
        ir::Node& moved = module.nodes[i];
        moved.operands[1] = packed;
        moved.attrs["w_layout"] = std::string("panels");
        moved.attrs["n"] = dims.n;
    }
    module.compact();  // drops raw weights and folds nothing reads any more
}

}  // namespace gpt2c::passes
