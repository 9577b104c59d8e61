// backend/kernels/elementwise.cpp - embedding, residual add, activation, scale, row copies.
#include "linear_common.h"

// p: tokens i32[T], positions i32[T], wte [V,C], wpe [P,C], out [T,C]. One task per row.
GPT2C_KERNEL int64_t gpt2c_k_embed_tasks(const KernelArgs* a, int64_t rows, int64_t C) { return rows; }
GPT2C_KERNEL void gpt2c_k_embed(const KernelArgs* a, int64_t begin, int64_t end, int64_t rows, int64_t C) {
    const int32_t* tokens = (const int32_t*)a->p[0];
    const int32_t* positions = (const int32_t*)a->p[1];
    const float* wte = (const float*)a->p[2];
    const float* wpe = (const float*)a->p[3];
    float* out = (float*)a->p[4];
    for (int64_t i = begin; i < end; ++i) {
        const float* e = wte + (int64_t)tokens[i] * C;
        const float* p = wpe + (int64_t)positions[i] * C;
        for (int64_t c = 0; c < C; ++c) out[i * C + c] = e[c] + p[c];
    }
}

// Elementwise kernels see their operands as [d0, d1, d2] (rank 2 is [1, d0, d1])
// and run one task per row of d2 elements.

// p: x, y, out.
GPT2C_KERNEL int64_t gpt2c_k_add_tasks(const KernelArgs* a, int64_t d0, int64_t d1, int64_t d2) { return d0 * d1; }
GPT2C_KERNEL void gpt2c_k_add(const KernelArgs* a, int64_t begin, int64_t end, int64_t d0, int64_t d1, int64_t d2) {
    const float* x = (const float*)a->p[0];
    const float* y = (const float*)a->p[1];
    float* out = (float*)a->p[2];
    for (int64_t i = begin * d2; i < end * d2; ++i) out[i] = x[i] + y[i];
}

// p: x, out.
GPT2C_KERNEL int64_t gpt2c_k_activation_tasks(const KernelArgs* a, int64_t d0, int64_t d1, int64_t d2, int64_t act) {
    return d0 * d1;
}
GPT2C_KERNEL void gpt2c_k_activation(const KernelArgs* a, int64_t begin, int64_t end, int64_t d0, int64_t d1,
                                     int64_t d2, int64_t act) {
    const float* x = (const float*)a->p[0];
    float* out = (float*)a->p[1];
    for (int64_t i = begin * d2; i < end * d2; ++i) out[i] = apply_activation(x[i], act);
}

// p: x, out.
GPT2C_KERNEL int64_t gpt2c_k_scale_tasks(const KernelArgs* a, int64_t d0, int64_t d1, int64_t d2, float factor) {
    return d0 * d1;
}
GPT2C_KERNEL void gpt2c_k_scale(const KernelArgs* a, int64_t begin, int64_t end, int64_t d0, int64_t d1, int64_t d2,
                                float factor) {
    const float* x = (const float*)a->p[0];
    float* out = (float*)a->p[1];
    for (int64_t i = begin * d2; i < end * d2; ++i) out[i] = x[i] * factor;
}

// p: x [T,C], logit_rows i32[L], out [L,C]: out[i] = x[logit_rows[i]]. One task per row.
GPT2C_KERNEL int64_t gpt2c_k_gather_rows_tasks(const KernelArgs* a, int64_t T, int64_t L, int64_t C) { return L; }
GPT2C_KERNEL void gpt2c_k_gather_rows(const KernelArgs* a, int64_t begin, int64_t end, int64_t T, int64_t L,
                                      int64_t C) {
    const float* x = (const float*)a->p[0];
    const int32_t* rows = (const int32_t*)a->p[1];
    float* out = (float*)a->p[2];
    for (int64_t i = begin; i < end; ++i)
        for (int64_t c = 0; c < C; ++c) out[i * C + c] = x[(int64_t)rows[i] * C + c];
}

// p: x [R,K] f32, out [R,Kp] bf16 (Kp = K rounded up to even, the pad column zero).
GPT2C_KERNEL int64_t gpt2c_k_to_bf16_tasks(const KernelArgs* a, int64_t R, int64_t K, int64_t Kp) { return R; }
GPT2C_KERNEL void gpt2c_k_to_bf16(const KernelArgs* a, int64_t begin, int64_t end, int64_t R, int64_t K, int64_t Kp) {
    const float* x = (const float*)a->p[0];
    uint16_t* out = (uint16_t*)a->p[1];
    for (int64_t r = begin; r < end; ++r) {
        for (int64_t k = 0; k < K; ++k) out[r * Kp + k] = to_bf16(x[r * K + k]);
        for (int64_t k = K; k < Kp; ++k) out[r * Kp + k] = 0;
    }
}

// p: x [R,K] f32, out [R,Kq+4] bytes: each row quantized with its own scale
// s = max |x| / 127 to q = round(x / s) in [-127, 127], stored as q + 128 (the
// unsigned operand of vpdpbusd), zero-padded to Kq (K rounded up to 4) with
// q = 0, then s as float32. x = s * (byte - 128), up to s/2. A row with a NaN
// or an infinity gets s = NaN, so the projection's outputs are NaN, as the
// float32 path's would be, not quietly finite.
GPT2C_KERNEL int64_t gpt2c_k_quantize_rows_tasks(const KernelArgs* a, int64_t R, int64_t K, int64_t row_bytes) {
    return R;
}
GPT2C_KERNEL void gpt2c_k_quantize_rows(const KernelArgs* a, int64_t begin, int64_t end, int64_t R, int64_t K,
                                        int64_t row_bytes) {
    const float* x = (const float*)a->p[0];
    unsigned char* out = (unsigned char*)a->p[1];
    const int64_t Kq = row_bytes - 4;
    for (int64_t r = begin; r < end; ++r) {
        const float* row = x + r * K;
        unsigned char* q = out + r * row_bytes;
        float absmax = 0.0f, nonfinite = 0.0f;  // x - x is 0, or NaN for a NaN or an infinity
        for (int64_t k = 0; k < K; ++k) {
            const float v = __builtin_fabsf(row[k]);
            absmax = v > absmax ? v : absmax;
            nonfinite += row[k] - row[k];
        }
        const float scale = absmax / 127.0f + nonfinite;
        const float inv = absmax > 0.0f ? 127.0f / absmax : 0.0f;
        for (int64_t k = 0; k < K; ++k) {
            float v = __builtin_rintf(row[k] * inv);
            v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;
            q[k] = (unsigned char)((int32_t)v + 128);
        }
        for (int64_t k = K; k < Kq; ++k) q[k] = 128;
        __builtin_memcpy(q + Kq, &scale, 4);
    }
}
