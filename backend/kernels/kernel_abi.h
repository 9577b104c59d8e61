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

// The KV cache's element type, the kv_type scalar of the attention kernels (--kv-dtype).
enum KernelKvType : int64_t {
    kKvF32 = 0,
    kKvBf16 = 1,   // uint16_t holding bfloat16
    kKvInt8 = 2,   // int8_t, with a float32 scale per position of each head
};

// The KV cache holds the slots one after another, each [n_layer][k|v] parts of
// Sp positions, Sp = S rounded up to kKvTile. Within a part the heads lie apart,
// so the positions one head reads are contiguous: head h owns Sp * W elements E
// (float, uint16_t bf16, or int8_t) from h * Sp * W, W = kv_head_width<E>(D),
// in tiles of kKvTile positions, each tile kKvTile * W elements:
//   keys:   [D][kKvTile]: dimension d of 16 positions side by side, so a score
//           for 16 keys is an FMA chain over d, one load per d;
//   values: [kKvTile][D];
//   int8 only: then the 16 positions' float32 scales (x = scale * q), so
//           W = D + 4 bytes.
// include/gpt2c/abi.h documents the same layout for hosts.
static const int64_t kKvTile = 16;  // GPT2C_KV_TILE_POSITIONS
GPT2C_INLINE int64_t kv_padded(int64_t S) { return (S + kKvTile - 1) / kKvTile * kKvTile; }
template <typename E>
constexpr bool kv_scaled = sizeof(E) == 1;  // int8: each position of a head carries a scale
// Elements one position of one head takes: D, plus its scale's 4 bytes for int8.
template <typename E>
GPT2C_INLINE int64_t kv_head_width(int64_t D) {
    return kv_scaled<E> ? D + 4 : D;
}
// Where head h's keys (part 0) or values (part 1) of `layer` for `slot` start.
template <typename E>
GPT2C_INLINE E* kv_head(void* kv, int64_t slot, int64_t layer, int64_t part, int64_t n_layer, int64_t S, int64_t C,
                        int64_t h, int64_t D) {
    const int64_t Sp = kv_padded(S), W = kv_head_width<E>(D);
    return (E*)kv + (((slot * n_layer + layer) * 2 + part) * (C / D) + h) * Sp * W;
}
// Offset (in elements) of (position s, dimension d) in a head's keys; of position s in its values;
// of position s's float32 scale (int8 only).
template <typename E>
GPT2C_INLINE int64_t kv_key_offset(int64_t s, int64_t d, int64_t D) {
    return s / kKvTile * kKvTile * kv_head_width<E>(D) + d * kKvTile + s % kKvTile;
}
template <typename E>
GPT2C_INLINE int64_t kv_value_offset(int64_t s, int64_t D) {
    return s / kKvTile * kKvTile * kv_head_width<E>(D) + s % kKvTile * D;
}
template <typename E>
GPT2C_INLINE int64_t kv_scale_offset(int64_t s, int64_t D) {
    return s / kKvTile * kKvTile * kv_head_width<E>(D) + kKvTile * D + s % kKvTile * 4;
}
