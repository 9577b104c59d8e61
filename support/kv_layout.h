// support/kv_layout.h - how many bytes the KV cache takes per position, for each --kv-dtype.
//
// The compiler records kv_cache_bytes in a library's metadata and the runtime
// checks it against the config, so both compute it here. The layout itself is
// in include/gpt2c/abi.h (for hosts) and backend/kernels/kernel_abi.h (for the
// kernels).
#pragma once

#include <cstdint>
#include <string_view>

namespace gpt2c {

// Bytes one position of one head takes in the keys or the values of one layer:
// D elements of the dtype, plus a float32 scale for int8. 0 for an unknown dtype.
inline int64_t kv_head_position_bytes(std::string_view kv_dtype, int64_t head_dim) {
    if (kv_dtype == "f32") return 4 * head_dim;
    if (kv_dtype == "bf16") return 2 * head_dim;
    if (kv_dtype == "int8") return head_dim + 4;
    return 0;
}

// One slot at the full context: [n_layer][k|v] parts of n_positions positions of every head.
inline int64_t kv_cache_bytes(std::string_view kv_dtype, int64_t n_layer, int64_t n_positions, int64_t n_embd,
                              int64_t n_head) {
    return n_layer * 2 * n_positions * n_head * kv_head_position_bytes(kv_dtype, n_embd / n_head);
}

}  // namespace gpt2c
