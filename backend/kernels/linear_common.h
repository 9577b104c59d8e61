// backend/kernels/linear_common.h - what the projection kernels share: weight indexing, the epilogue, bf16 rounding.
#pragma once

#include "activation_math.h"
#include "vectors.h"

static const int64_t kColumnBlock = 64;

// int8 panels start with nr float32 column scales: 4 rows of nr bytes (ir/verifier.h: kInt8ScaleRows).
static const int64_t kInt8ScaleRows = 4;

// q4 panels: per group of kQ4Group rows, nr bf16 scales then kQ4Group/2 rows of nr bytes.
static const int64_t kQ4Group = 32;
GPT2C_INLINE int64_t q4_group_bytes(int64_t nr) { return (2 + kQ4Group / 2) * nr; }
GPT2C_INLINE int64_t q4_panel_bytes(int64_t K, int64_t nr) { return (K + kQ4Group - 1) / kQ4Group * q4_group_bytes(nr); }

// Quantized rows (quantize_rows, ir/verifier.h quantized_row_bytes): Kp = K rounded
// up to kQuantGroup signed bytes, the row's float32 scale, the int32 sum of its
// bytes, then a plane of Kp bytes with the int32 sum of group g at offset g * 32.
static const int64_t kQuantGroup = 32;
GPT2C_INLINE int64_t quant_padded(int64_t K) { return (K + kQuantGroup - 1) / kQuantGroup * kQuantGroup; }
GPT2C_INLINE int64_t quant_row_bytes(int64_t K) { return 2 * quant_padded(K) + 8; }

// How far ahead the first row block of a projection prefetches its panel.
// That block streams the panel from memory, one stream per thread, and its
// loads were where batched decode stalled (perf annotate); later row blocks
// find the slice in cache. 8 KiB measured best of 2, 8 and 16 KiB (within
// noise of 16), a few percent per batched step.
static const int64_t kPanelPrefetchBytes = 8192;

// Prefetches the row of `row_bytes` bytes that starts kPanelPrefetchBytes after `row`.
// Past the end of the weights it is a no-op: a prefetch never faults.
GPT2C_INLINE void prefetch_ahead(const char* row, int64_t row_bytes) {
    for (int64_t off = 0; off < row_bytes; off += 64) __builtin_prefetch(row + kPanelPrefetchBytes + off);
}

GPT2C_INLINE float weight_at(const float* w, int64_t k, int64_t n, int64_t K, int64_t N, int64_t layout, int64_t nr) {
    if (layout == kLayoutKN) return w[k * N + n];
    if (layout == kLayoutNK) return w[n * K + k];
    return w[(n / nr) * K * nr + k * nr + n % nr];
}

// The bias and residual adds are not contracted into the multiplies around
// them (see scaled() in linear_panels.h): decode and prefill round alike.
GPT2C_INLINE float epilogue(float acc, const float* bias, const float* residual, int64_t m, int64_t n, int64_t N,
                            int64_t has_bias, int64_t act, int64_t has_residual) {
#pragma clang fp contract(off)
    if (has_bias) acc += bias[n];
    acc = apply_activation(acc, act);
    if (has_residual) acc += residual[m * N + n];
    return acc;
}

