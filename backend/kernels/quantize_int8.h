// backend/kernels/quantize_int8.h - symmetric int8 quantization of a float32 row.
//
// One scale per row, s = max |x| / 127, and bytes q = round(x / s) in
// [-127, 127]: x = s * q, up to s / 2. A row with a NaN or an infinity gets
// s = NaN, so whatever is computed from it is NaN, as it would be in float32,
// not quietly finite. quantize_rows (the inputs of integer dot products) and
// an int8 KV cache (kv_append) both quantize this way.
#pragma once

#include "vectors.h"

// The row's scale s; *inv = 1 / s (0 for a row of zeros).
GPT2C_INLINE float int8_row_scale(const float* row, int64_t K, float* inv) {
    const int64_t K16 = K / 16 * 16;
    // 16 lanes of max |x| and of x - x (0, or NaN for a NaN or an infinity):
    // float adds do not reassociate, so the vector is written out by hand.
    vf16 absmax = 0.0f, nonfinite = 0.0f;
    for (int64_t k = 0; k < K16; k += 16) {
        const vf16 v = load16(row + k);
        absmax = __builtin_elementwise_max(absmax, __builtin_elementwise_abs(v));
        nonfinite += v - v;
    }
    float m = __builtin_reduce_max(absmax), bad = hsum16(nonfinite);
    for (int64_t k = K16; k < K; ++k) {
        const float v = __builtin_fabsf(row[k]);
        m = v > m ? v : m;
        bad += row[k] - row[k];
    }
    *inv = m > 0.0f ? 127.0f / m : 0.0f;
    return m / 127.0f + bad;
}

GPT2C_INLINE signed char quantize_int8(float x, float inv) {
    float v = __builtin_rintf(x * inv);
    v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;
    return (signed char)(int32_t)v;
}

// q[k] = quantize_int8(row[k], inv) for k < K, 16 at a time.
GPT2C_INLINE void quantize_int8_row(const float* row, int64_t K, float inv, signed char* q) {
    const int64_t K16 = K / 16 * 16;
    for (int64_t k = 0; k < K16; k += 16) {
        vf16 v = __builtin_elementwise_rint(load16(row + k) * inv);
        v = __builtin_elementwise_min(__builtin_elementwise_max(v, (vf16)-127.0f), (vf16)127.0f);
        const vi8x16 bytes = __builtin_convertvector(__builtin_convertvector(v, vi16), vi8x16);
        __builtin_memcpy(q + k, &bytes, 16);
    }
    for (int64_t k = K16; k < K; ++k) q[k] = quantize_int8(row[k], inv);
}
