// backend/kernels/layer_norm.cpp - layer norm over the last axis (two-pass mean/variance).
//
// Each row's sums keep 16 partial sums (one per vector lane) and add them up
// at the end: a single chain of dependent adds would make the sums, not the
// memory traffic, the cost of the kernel. The order is fixed by C alone, so
// the result of a row never depends on the other rows or the thread count.
#include "vectors.h"

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
        vf16 lanes = (vf16)0.0f;
        int64_t c = 0;
        for (; c + 16 <= C; c += 16) lanes += load16(xr + c);
        float sum = hsum16(lanes);
        for (; c < C; ++c) sum += xr[c];
        const float mean = sum / (float)C;
        lanes = (vf16)0.0f;
        for (c = 0; c + 16 <= C; c += 16) {
            const vf16 d = load16(xr + c) - mean;
            lanes += d * d;
        }
        float var = hsum16(lanes);
        for (; c < C; ++c) {
            const float d = xr[c] - mean;
            var += d * d;
        }
        const float inv = 1.0f / sqrtf(var / (float)C + eps);
        if (affine) {
            for (c = 0; c < C; ++c) yr[c] = (xr[c] - mean) * inv * gamma[c] + beta[c];
        } else {
            for (c = 0; c < C; ++c) yr[c] = (xr[c] - mean) * inv;
        }
    }
}
