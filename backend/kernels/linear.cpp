// backend/kernels/linear.cpp - projections (x @ W with a fused epilogue) and their weight transforms.
//
// Work is split by blocks of output columns, so each thread streams its own
// slice of W once per call; every output element sums over k in the same
// order whatever the split.
#include "activation_math.h"

static const int64_t kColumnBlock = 64;

GPT2C_INLINE float weight_at(const float* w, int64_t k, int64_t n, int64_t K, int64_t N, int64_t layout, int64_t nr) {
    if (layout == kLayoutKN) return w[k * N + n];
    if (layout == kLayoutNK) return w[n * K + k];
    return w[(n / nr) * K * nr + k * nr + n % nr];
}

GPT2C_INLINE float epilogue(float acc, const float* bias, const float* residual, int64_t m, int64_t n, int64_t N,
                            int64_t has_bias, int64_t act, int64_t has_residual) {
    if (has_bias) acc += bias[n];
    acc = apply_activation(acc, act);
    if (has_residual) acc += residual[m * N + n];
    return acc;
}

// p: x [M,K], W (layout), bias [N] | null, residual [M,N] | null, out [M,N].
GPT2C_KERNEL int64_t gpt2c_k_linear_tasks(const KernelArgs* a, int64_t M, int64_t K, int64_t N, int64_t layout,
                                          int64_t nr, int64_t has_bias, int64_t act, int64_t has_residual) {
    return (N + kColumnBlock - 1) / kColumnBlock;
}
GPT2C_KERNEL void gpt2c_k_linear(const KernelArgs* a, int64_t begin, int64_t end, int64_t M, int64_t K, int64_t N,
                                 int64_t layout, int64_t nr, int64_t has_bias, int64_t act, int64_t has_residual) {
    const float* x = (const float*)a->p[0];
    const float* w = (const float*)a->p[1];
    const float* bias = (const float*)a->p[2];
    const float* residual = (const float*)a->p[3];
    float* out = (float*)a->p[4];
    int64_t n_begin = begin * kColumnBlock;
    int64_t n_end = end * kColumnBlock < N ? end * kColumnBlock : N;
    for (int64_t m = 0; m < M; ++m) {
        const float* xm = x + m * K;
        if (layout == kLayoutNK) {
            for (int64_t n = n_begin; n < n_end; ++n) {
                const float* wn = w + n * K;
                float acc = 0.0f;
                for (int64_t k = 0; k < K; ++k) acc += xm[k] * wn[k];
                out[m * N + n] = epilogue(acc, bias, residual, m, n, N, has_bias, act, has_residual);
            }
        } else {
            // Accumulate a row of the block, k outermost, so W is read along n.
            float acc[kColumnBlock];
            for (int64_t nb = n_begin; nb < n_end; nb += kColumnBlock) {
                int64_t width = n_end - nb < kColumnBlock ? n_end - nb : kColumnBlock;
                for (int64_t j = 0; j < width; ++j) acc[j] = 0.0f;
                for (int64_t k = 0; k < K; ++k) {
                    float xv = xm[k];
                    for (int64_t j = 0; j < width; ++j) acc[j] += xv * weight_at(w, k, nb + j, K, N, layout, nr);
                }
                for (int64_t j = 0; j < width; ++j)
                    out[m * N + nb + j] = epilogue(acc[j], bias, residual, m, nb + j, N, has_bias, act, has_residual);
            }
        }
    }
}

// p: W (layout), gamma [K], out (same layout): W'[k, n] = gamma[k] W[k, n].
GPT2C_KERNEL int64_t gpt2c_k_fold_ln_weight_tasks(const KernelArgs* a, int64_t K, int64_t N, int64_t layout) {
    return layout == kLayoutKN ? K : N;
}
GPT2C_KERNEL void gpt2c_k_fold_ln_weight(const KernelArgs* a, int64_t begin, int64_t end, int64_t K, int64_t N,
                                         int64_t layout) {
    const float* w = (const float*)a->p[0];
    const float* gamma = (const float*)a->p[1];
    float* out = (float*)a->p[2];
    for (int64_t i = begin; i < end; ++i) {
        if (layout == kLayoutKN) {
            for (int64_t n = 0; n < N; ++n) out[i * N + n] = w[i * N + n] * gamma[i];
        } else {
            for (int64_t k = 0; k < K; ++k) out[i * K + k] = w[i * K + k] * gamma[k];
        }
    }
}

// p: W (layout), beta [K], bias [N] | null, out [N]: b'[n] = sum_k beta[k] W[k, n] + b[n].
GPT2C_KERNEL int64_t gpt2c_k_fold_ln_bias_tasks(const KernelArgs* a, int64_t K, int64_t N, int64_t layout,
                                                int64_t has_bias) {
    return N;
}
GPT2C_KERNEL void gpt2c_k_fold_ln_bias(const KernelArgs* a, int64_t begin, int64_t end, int64_t K, int64_t N,
                                       int64_t layout, int64_t has_bias) {
    const float* w = (const float*)a->p[0];
    const float* beta = (const float*)a->p[1];
    const float* bias = (const float*)a->p[2];
    float* out = (float*)a->p[3];
    for (int64_t n = begin; n < end; ++n) {
        double acc = 0.0;  // once per load: spend the precision
        for (int64_t k = 0; k < K; ++k) acc += (double)beta[k] * (double)weight_at(w, k, n, K, N, layout, 1);
        out[n] = (float)(acc + (has_bias ? (double)bias[n] : 0.0));
    }
}

// p: W (layout kn or nk), out [ceil(N/nr), K, nr]: column panels, zero-padded.
GPT2C_KERNEL int64_t gpt2c_k_pack_weight_tasks(const KernelArgs* a, int64_t K, int64_t N, int64_t layout, int64_t nr) {
    return (N + nr - 1) / nr;
}
GPT2C_KERNEL void gpt2c_k_pack_weight(const KernelArgs* a, int64_t begin, int64_t end, int64_t K, int64_t N,
                                      int64_t layout, int64_t nr) {
    const float* w = (const float*)a->p[0];
    float* out = (float*)a->p[1];
    for (int64_t panel = begin; panel < end; ++panel) {
        float* dst = out + panel * K * nr;
        for (int64_t k = 0; k < K; ++k) {
            for (int64_t j = 0; j < nr; ++j) {
                int64_t n = panel * nr + j;
                dst[k * nr + j] = n < N ? weight_at(w, k, n, K, N, layout, 1) : 0.0f;
            }
        }
    }
}
