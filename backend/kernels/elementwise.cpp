// backend/kernels/elementwise.cpp - embedding, residual add, activation, scale, row copies.
#include "linear_common.h"
#include "quantize_int8.h"

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

// p: x [R,K] f32, out [R, quant_row_bytes(K)]: each row quantized to signed
// bytes with its own scale s (quantize_int8.h), zero-padded to Kp (K rounded
// up to 32), then s as float32, the int32 sum of the q, and the plane of group
// sums (linear_common.h). The sums undo the offsets of unsigned weights
// (linear_int8dot.cpp).
GPT2C_KERNEL int64_t gpt2c_k_quantize_rows_tasks(const KernelArgs* a, int64_t R, int64_t K, int64_t row_bytes) {
    return R;
}
GPT2C_KERNEL void gpt2c_k_quantize_rows(const KernelArgs* a, int64_t begin, int64_t end, int64_t R, int64_t K,
                                        int64_t row_bytes) {
    const float* x = (const float*)a->p[0];
    char* out = (char*)a->p[1];
    const int64_t Kp = quant_padded(K);
    for (int64_t r = begin; r < end; ++r) {
        const float* row = x + r * K;
        signed char* q = (signed char*)out + r * row_bytes;
        float inv;
        const float scale = int8_row_scale(row, K, &inv);
        quantize_int8_row(row, K, inv, q);
        for (int64_t k = K; k < Kp; ++k) q[k] = 0;
        int32_t total = 0;
        for (int64_t g = 0; g < Kp; g += kQuantGroup) {
            int32_t sum = 0;
            for (int64_t k = g; k < g + kQuantGroup; ++k) sum += q[k];
            __builtin_memcpy(q + Kp + 8 + g, &sum, 4);
            total += sum;
        }
        __builtin_memcpy(q + Kp, &scale, 4);
        __builtin_memcpy(q + Kp + 4, &total, 4);
    }
}
