// passes/pass.h - what a graph pass is, and what it may know about the target.
#pragma once

#include "ir/ir.h"

#include <cstdint>
#include <string>

namespace gpt2c::passes {

// Facts about the target CPU that tiling and packing decisions use.
struct TargetInfo {
    int vector_bytes = 64;            // 64 with AVX-512, 32 with AVX2, 16 otherwise
    int64_t l2_bytes = 1024 * 1024;   // per core; sizes tile_kc
    bool bf16_dot = false;            // AVX512_BF16: bf16 pairs multiplied into float32 (vdpbf16ps)
    // Integer dot products (byte quads multiplied and summed into int32 lanes:
    // x86 vpdpbusd, AArch64 sdot) on registers of this many bytes: 64 with
    // AVX512_VNNI, 32 with AVX-VNNI, 16 with AArch64 DotProd, 0 without.
    int int8_dot_bytes = 0;
    // The same for 4-bit weights, whose products of a nibble and an int8 fit
    // 16 bits: int8_dot_bytes where the CPU has a dot product, else on x86-64
    // vpmaddubsw + vpmaddwd (64 with AVX512BW, 32 with AVX2), else 0.
    int q4_dot_bytes = 0;
};

struct PassContext {
    TargetInfo target;
    // Storage of packed projection weights: "f32", "bf16" or "int8" (weight-only
    // quantization with per-output-channel scales; arithmetic stays float32).
    // bf16 on a target with bf16_dot also rounds each projection's input to
    // bf16 and multiplies with the CPU's bf16 dot product (fp32 accumulation);
    // int8 on a target with int8_dot quantizes each projection's input rows to
    // int8 and multiplies with the CPU's integer dot product (int32 accumulation).
    std::string weights_dtype = "f32";
    // "native": bf16, int8 and q4 weights multiply with the dot products the
    // target has (above); "float32": they widen to float32 and multiply float32
    // inputs, whatever the target (--arithmetic).
    std::string arithmetic = "native";
    // Element type of the KV cache: "f32" or "bf16" (kv-dtype pass).
    std::string kv_dtype = "f32";
};

// Every pass: rewrites `module` in place; leaves it verifiable.
#define GPT2C_PASS(function, name, summary) void function(ir::Module& module, const PassContext& context);
#include "passes/passes.def"

}  // namespace gpt2c::passes
