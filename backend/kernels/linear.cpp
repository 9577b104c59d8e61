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

typedef float vf16 __attribute__((ext_vector_type(16)));

GPT2C_INLINE vf16 load16(const float* p) {
    vf16 v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}
GPT2C_INLINE void store16(float* p, vf16 v) { __builtin_memcpy(p, &v, sizeof v); }

// C[MR, NV*16] (+)= A[MR, kc] * B[kc, NV*16] where B is a panel slice (row
// stride NV*16) and A has row stride lda. Accumulators live in registers:
// MR * NV vectors (AVX-512: 8 * 2 = 16 of the 32 zmm registers).
template <int MR, int NV>
GPT2C_INLINE void micro_kernel(const float* A, int64_t lda, const float* B, int64_t kc, float* C, int64_t ldc,
                               bool accumulate) {
    vf16 acc[MR][NV];
    for (int m = 0; m < MR; ++m)
        for (int v = 0; v < NV; ++v) acc[m][v] = accumulate ? load16(C + m * ldc + v * 16) : (vf16)0.0f;
    for (int64_t k = 0; k < kc; ++k) {
        vf16 b[NV];
        for (int v = 0; v < NV; ++v) b[v] = load16(B + k * NV * 16 + v * 16);
        for (int m = 0; m < MR; ++m) {
            vf16 a = A[m * lda + k];
            for (int v = 0; v < NV; ++v) acc[m][v] += a * b[v];
        }
    }
    for (int m = 0; m < MR; ++m)
        for (int v = 0; v < NV; ++v) store16(C + m * ldc + v * 16, acc[m][v]);
}

// C[rows, nr] (+)= A[rows, kb] * panel slice, rows of A at stride K, in
// register blocks of mr (8), then 4, 2, 1 rows for the remainder.
template <int NV>
GPT2C_INLINE void block_rows(const float* A, int64_t K, const float* B, int64_t kb, float* C, int64_t ldc, int64_t rows,
                             int64_t mr, bool accumulate) {
    int64_t m = 0;
    if (mr >= 8)
        for (; m + 8 <= rows; m += 8) micro_kernel<8, NV>(A + m * K, K, B, kb, C + m * ldc, ldc, accumulate);
    for (; m + 4 <= rows; m += 4) micro_kernel<4, NV>(A + m * K, K, B, kb, C + m * ldc, ldc, accumulate);
    for (; m + 2 <= rows; m += 2) micro_kernel<2, NV>(A + m * K, K, B, kb, C + m * ldc, ldc, accumulate);
    for (; m < rows; ++m) micro_kernel<1, NV>(A + m * K, K, B, kb, C + m * ldc, ldc, accumulate);
}

// Packed path: one task per panel of nr columns. Loop nest panel > k block >
// row block > micro-kernel: a kc x nr slice of the panel stays in L1 while
// every row block streams past it, accumulating straight into `out`. A last
// panel narrower than nr (N % nr != 0) goes through a small scratch tile.
template <int NV>
GPT2C_INLINE void linear_panels(const KernelArgs* a, int64_t begin, int64_t end, int64_t M, int64_t K, int64_t N,
                                int64_t mr, int64_t kc, int64_t has_bias, int64_t act, int64_t has_residual) {
    const float* x = (const float*)a->p[0];
    const float* w = (const float*)a->p[1];
    const float* bias = (const float*)a->p[2];
    const float* residual = (const float*)a->p[3];
    float* out = (float*)a->p[4];
    const int64_t nr = NV * 16;
    float tile[8 * NV * 16] __attribute__((aligned(64)));
    for (int64_t panel = begin; panel < end; ++panel) {
        const float* pw = w + panel * K * nr;
        const int64_t n0 = panel * nr;
        const int64_t width = N - n0 < nr ? N - n0 : nr;
        if (width == nr) {
            for (int64_t k0 = 0; k0 < K; k0 += kc) {
                int64_t kb = K - k0 < kc ? K - k0 : kc;
                for (int64_t m0 = 0; m0 < M; m0 += 8) {
                    int64_t rows = M - m0 < 8 ? M - m0 : 8;
                    block_rows<NV>(x + m0 * K + k0, K, pw + k0 * nr, kb, out + m0 * N + n0, N, rows, mr, k0 > 0);
                }
            }
            for (int64_t m = 0; m < M; ++m)
                for (int64_t j = 0; j < nr; ++j)
                    out[m * N + n0 + j] =
                        epilogue(out[m * N + n0 + j], bias, residual, m, n0 + j, N, has_bias, act, has_residual);
        } else {
            for (int64_t m0 = 0; m0 < M; m0 += 8) {
                int64_t rows = M - m0 < 8 ? M - m0 : 8;
                for (int64_t k0 = 0; k0 < K; k0 += kc) {
                    int64_t kb = K - k0 < kc ? K - k0 : kc;
                    block_rows<NV>(x + m0 * K + k0, K, pw + k0 * nr, kb, tile, nr, rows, mr, k0 > 0);
                }
                for (int64_t m = 0; m < rows; ++m)
                    for (int64_t j = 0; j < width; ++j)
                        out[(m0 + m) * N + n0 + j] =
                            epilogue(tile[m * nr + j], bias, residual, m0 + m, n0 + j, N, has_bias, act, has_residual);
            }
        }
    }
}

// p: x [M,K], W (layout), bias [N] | null, residual [M,N] | null, out [M,N].
// Packed weights ("panels", nr = 16, 32 or 48) take the register-blocked
// path; kn/nk (unpacked, -O0) take the plain loops.
GPT2C_KERNEL int64_t gpt2c_k_linear_tasks(const KernelArgs* a, int64_t M, int64_t K, int64_t N, int64_t layout,
                                          int64_t nr, int64_t mr, int64_t kc, int64_t has_bias, int64_t act,
                                          int64_t has_residual) {
    if (layout == kLayoutPanels) return (N + nr - 1) / nr;
    return (N + kColumnBlock - 1) / kColumnBlock;
}
GPT2C_KERNEL void gpt2c_k_linear(const KernelArgs* a, int64_t begin, int64_t end, int64_t M, int64_t K, int64_t N,
                                 int64_t layout, int64_t nr, int64_t mr, int64_t kc, int64_t has_bias, int64_t act,
                                 int64_t has_residual) {
    if (layout == kLayoutPanels) {
        if (kc <= 0 || kc > K) kc = K;
        if (nr == 16) return linear_panels<1>(a, begin, end, M, K, N, mr, kc, has_bias, act, has_residual);
        if (nr == 32) return linear_panels<2>(a, begin, end, M, K, N, mr, kc, has_bias, act, has_residual);
        if (nr == 48) return linear_panels<3>(a, begin, end, M, K, N, mr, kc, has_bias, act, has_residual);
    }
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
