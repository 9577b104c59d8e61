// backend/kernels/kernel_abi.h - how generated code calls a kernel.
//
// Kernels are ordinary C++ compiled to LLVM bitcode at build time and linked
// into every generated module (the Glow "libjit" idea). Each kernel NAME has
//   int64_t gpt2c_k_NAME_tasks(const KernelArgs*, scalars...)  -- units of parallel work
//   void    gpt2c_k_NAME(const KernelArgs*, int64_t begin, int64_t end, scalars...)
// The code generator calls them with compile-time constants wherever the
// graph knows a value, so after inlining each call site is a kernel
// specialized for its shapes. Buffers travel in `p`; the runtime sizes
// (T, S, L) travel in the struct so a task function can read them.
// A task's results never depend on which other tasks share its thread.
#pragma once

#include <stdint.h>

struct KernelArgs {
    void* p[6];
    int64_t T;      // rows in this call
    int64_t S;      // positions each slot of the KV cache holds
    int64_t L;      // rows that need logits
    int64_t layer;  // the KV cache layer of an attention or kv_append (not folded in: see Scalar::Kind::Layer)
};


// Activation codes shared with backend/codegen.cpp.
enum KernelActivation : int64_t {
    kActNone = 0,
    kActGeluTanh = 1,  // gelu_new, gelu_pytorch_tanh, gelu_fast
    kActGeluErf = 2,   // gelu
    kActRelu = 3,
    kActQuickGelu = 4,
    kActSilu = 5,
};

// Weight layouts shared with backend/codegen.cpp.
enum KernelLayout : int64_t {
    kLayoutKN = 0,      // [K, N]: Conv1D, y = x W
    kLayoutNK = 1,      // [N, K]: nn.Linear / tied LM head, y = x W^T
    kLayoutPanels = 2,  // [ceil(N/nr), K, nr]: see pack_weight
};

#define GPT2C_KERNEL extern "C" __attribute__((used))
#define GPT2C_INLINE static inline __attribute__((always_inline))
#define GPT2C_MEMBER_INLINE __attribute__((always_inline))  // for static member functions

// The KV cache holds the slots one after another, each [n_layer][k|v] parts of
// Sp * C elements E (float, or uint16_t holding bfloat16 with --kv-dtype=bf16),
// Sp = S rounded up to kKvTile positions. Within a part the heads lie apart, so
// the positions one head reads are contiguous:
//   keys   [H][Sp / kKvTile][D][kKvTile]: dimension d of 16 positions side by
//          side, so a score for 16 keys is an FMA chain over d, one load per d;
//   values [H][Sp][D].
// include/gpt2c/abi.h documents the same layout for hosts.
static const int64_t kKvTile = 16;  // GPT2C_KV_TILE_POSITIONS
GPT2C_INLINE int64_t kv_padded(int64_t S) { return (S + kKvTile - 1) / kKvTile * kKvTile; }
// Where head h's keys (part 0) or values (part 1) of `layer` for `slot` start.
template <typename E>
GPT2C_INLINE E* kv_head(void* kv, int64_t slot, int64_t layer, int64_t part, int64_t n_layer, int64_t S, int64_t C,
                        int64_t h, int64_t D) {
    const int64_t Sp = kv_padded(S);
    return (E*)kv + ((slot * n_layer + layer) * 2 + part) * Sp * C + h * Sp * D;
}
// Offset of (position s, dimension d) in a head's keys; of position s in its values.
GPT2C_INLINE int64_t kv_key_offset(int64_t s, int64_t d, int64_t D) {
    return (s / kKvTile * D + d) * kKvTile + s % kKvTile;
}
GPT2C_INLINE int64_t kv_value_offset(int64_t s, int64_t D) { return s * D; }
