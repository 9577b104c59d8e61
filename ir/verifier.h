// ir/verifier.h - checks that a Module is well formed.
//
// Operand counts, operand kinds (weights where a weight is required), the
// result type of every node against the type its op derives from its
// operands and attributes, attribute presence and ranges, and the returned
// value. The first violation throws gpt2c::Error naming the node and its op.
#pragma once

#include "ir/ir.h"

namespace gpt2c::ir {

void verify(const Module& module);

// The type `node` must have, derived from its operands and attributes.
// Throws gpt2c::Error when the operands do not fit the op.
TensorType infer_type(const Module& module, int node);

// Epilogue of a linear node, parsed from its "epilogue" attribute
// ("bias,gelu_new,residual": any subset, in that order).
struct Epilogue {
    bool bias = false;
    std::string activation;  // empty: none
    bool residual = false;
};
Epilogue parse_epilogue(const Node& linear);
std::string format_epilogue(const Epilogue& epilogue);

// K and N of a linear node's weight operand, from its layout.
struct LinearDims {
    int64_t k = 0;
    int64_t n = 0;
};
LinearDims linear_dims(const Module& module, const Node& linear);

// True when `node` is a pack_weight of bf16 k-pairs (k_pairs = true): rows k and
// k+1 of each column interleaved, as bf16 dot products (vdpbf16ps) read them.
// A linear reading such a weight takes a bf16 input (to_bf16).
bool is_k_pair_panels(const Module& module, int node);

// Rows of nr bytes at the start of each int8 panel that hold its nr float32 column scales.
constexpr int64_t kInt8ScaleRows = 4;

// True when `node` is a pack_weight of k-quads (k_quads = true, int8 or q4):
// rows 4i..4i+3 of each column side by side, as integer dot products
// (vpdpbusd) read them: int8 as unsigned bytes w + 128 after the usual column
// scales (i8[panels, K4 + 4, nr], K4 = K rounded up to 4); q4 as nibbles in
// groups of 32 rows (docs/Q4_WEIGHTS.md). A linear reading such a weight takes
// quantized rows (quantize_rows).
bool is_k_quad_panels(const Module& module, int node);
// K rounded up to a whole k-quad.
constexpr int64_t k_quad_rows(int64_t k) { return (k + 3) / 4 * 4; }
// Bytes of a quantized row of K values (quantize_rows): Kp = K rounded up to 32
// signed bytes, its float32 scale and int32 sum, then a plane of Kp bytes
// holding each group of 32 bytes' int32 sum at the group's offset in it, so a
// kernel finds a group's sum at a fixed distance (Kp + 8) from the group.
constexpr int64_t kQuantGroup = 32;
constexpr int64_t quantized_row_bytes(int64_t k) {
    return 2 * ((k + kQuantGroup - 1) / kQuantGroup * kQuantGroup) + 8;
}

}  // namespace gpt2c::ir
