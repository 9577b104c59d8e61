// backend/kernels/layer_norm.cpp - layer norm over the last axis (two-pass mean/variance).
#include "kernel_abi.h"

#include <math.h>

// p: x [rows,C], gamma [C] (or null), beta [C] (or null), out [rows,C].
GPT2C_KERNEL int64_t gpt2c_k_layer_norm_tasks(const KernelArgs* a, int64_t rows, int64_t C, int64_t affine,
                                              float eps) {
    return rows;
}
GPT2C_KERNEL void gpt2c_k_layer_norm(const KernelArgs* a, int64_t begin, int64_t end, int64_t rows, int64_t C,
                                     int64_t affine, float eps) {
    const float* x = (const float*)a->p[0];
    const float* gamma = (const float*)a->p[1];
    const float* beta = (const float*)a->p[2];
    float* out = (float*)a->p[3];
    for (int64_t r = begin; r < end; ++r) {
        const float* xr = x + r * C;
        float* yr = out + r * C;
        float sum = 0.0f;
        for (int64_t c = 0; c < C; ++c) sum += xr[c];
        float mean = sum / (float)C;
        float var = 0.0f;
        for (int64_t c = 0; c < C; ++c) {
            float d = xr[c] - mean;
            var += d * d;
        }
        float inv = 1.0f / sqrtf(var / (float)C + eps);
        if (affine) {
            for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - mean) * inv * gamma[c] + beta[c];
        } else {
            for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - mean) * inv;
        }
    }
}
