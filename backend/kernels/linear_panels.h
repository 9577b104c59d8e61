// backend/kernels/linear_panels.h - the packed-panel GEMM/GEMV loop nest, over a micro-kernel policy.
//
// One task per panel of nr columns. A policy says how a panel is stored and
// how a block of rows is multiplied by it; the loop nest around it is shared:
//   M == 1 (decode):  Policy::gemv_panels panels at a time through Policy::gemv, one
//                     stream each (bandwidth-bound: the independent streams
//                     and accumulator chains keep loads and FMAs in flight);
//   M > 1 (prefill):  k blocks > row blocks of 8 > Policy::micro, accumulating
//                     straight into `out`, then the epilogue over the panel's
//                     columns while they are still in L1/L2.
// A last panel narrower than nr (N % nr != 0) goes through a small scratch
// tile. Column scales (int8) are applied once per output, before the epilogue.
// Every output element is one chain of multiply-adds over k in order, in
// gemv and in micro alike: decode computes exactly what prefill computes,
// and no split of the tasks across threads changes a bit.
//
// A policy provides:
//   typedef ... Input;                                 element of x (float, uint16_t bf16, or
//                                                      unsigned char: quantized rows)
//   static const int64_t k_step;                       k blocks are multiples of this
//   static int64_t lda(K);                             elements per row of x
//   static float total(acc, x_row, K, panel, nr, j);   what micro/gemv accumulated for
//                                                      column j (kept in a float's bits),
//                                                      as the float sum the column scale
//                                                      multiplies (int8 dot: int32 sums)
//   static int64_t bytes(K, nr), row_bytes(nr);        panel size, panel bytes per row k
//   static const char* values(panel, nr);              where row 0 starts
//   static const float* scales(panel);                 column scales, or null
//   template <int NV, int G> static void gemv(x, K, values[G], y[G][nr]);
//   template <int MR, int NV, bool PF> static void micro(A, lda, B, kb, C, ldc, accumulate);
//   static const int64_t gemv_panels;                  panels per decode task and gemv call
//   static const bool k_row_loop;                      true: block_rows hands all its rows to
//   template <int NV> static void micro_rows(A, lda, B, kb, C, ldc, rows, accumulate, prefetch)
//                                                      instead (one inlined copy of a large
//                                                      micro-kernel, not one per row count)
#pragma once

#include "linear_common.h"

// How many panels decode streams at once, unless a policy says otherwise.
static const int64_t kGemvPanels = 4;

// Tasks of a projection over panels of nr columns: one panel each, and in
// decode (M == 1) gemv_panels panels each, so that every task streams that
// many panels at once. With a panel per task, a projection of 16 panels on 2
// threads read one stream at a time (8 chunks per thread); grouping them took
// 124M decode from 2.84 to 2.66 ms (int8, 4 panels) and 2.18 to 2.08 ms (q4,
// 2 panels: 4 took 2.21 ms), medians of 5 alternating runs.
GPT2C_INLINE int64_t panel_tasks(int64_t M, int64_t N, int64_t nr, int64_t gemv_panels) {
    const int64_t panels = (N + nr - 1) / nr;
    return M == 1 ? (panels + gemv_panels - 1) / gemv_panels : panels;
}

// An accumulated sum times its column's scale (int8), never fused with the
// epilogue's bias add: how LLVM contracts a multiply and an add depends on the
// code around them, and decode and prefill must round the same way.
GPT2C_INLINE float scaled(float sum, const float* scale, int64_t j) {
#pragma clang fp contract(off)
    return scale ? sum * scale[j] : sum;
}

// C[rows, nr] (+)= A[rows, kb] * panel slice, rows of A at stride lda, in
// register blocks of mr (8), then 4, 2, 1 rows for the remainder. PF: this is
// the first pass over the slice, which prefetches it (the first micro call only).
template <class Policy, int NV, bool PF>
GPT2C_INLINE void block_rows(const typename Policy::Input* A, int64_t lda, const char* B, int64_t kb, float* C,
                             int64_t ldc, int64_t rows, int64_t mr, bool accumulate) {
    if constexpr (Policy::k_row_loop) {
        Policy::template micro_rows<NV>(A, lda, B, kb, C, ldc, rows, accumulate, PF);
        return;
    }
    int64_t m = 0;
    if (PF) {  // the first block of 8, 4, 2 or 1 rows streams the slice
        const int64_t first = mr >= 8 && rows >= 8 ? 8 : rows >= 4 ? 4 : rows >= 2 ? 2 : 1;
        if (first == 8) Policy::template micro<8, NV, true>(A, lda, B, kb, C, ldc, accumulate);
        if (first == 4) Policy::template micro<4, NV, true>(A, lda, B, kb, C, ldc, accumulate);
        if (first == 2) Policy::template micro<2, NV, true>(A, lda, B, kb, C, ldc, accumulate);
        if (first == 1) Policy::template micro<1, NV, true>(A, lda, B, kb, C, ldc, accumulate);
        m = first;
    }
    if (mr >= 8)
        for (; m + 8 <= rows; m += 8)
            Policy::template micro<8, NV, false>(A + m * lda, lda, B, kb, C + m * ldc, ldc, accumulate);
    for (; m + 4 <= rows; m += 4) Policy::template micro<4, NV, false>(A + m * lda, lda, B, kb, C + m * ldc, ldc, accumulate);
    for (; m + 2 <= rows; m += 2) Policy::template micro<2, NV, false>(A + m * lda, lda, B, kb, C + m * ldc, ldc, accumulate);
    for (; m < rows; ++m) Policy::template micro<1, NV, false>(A + m * lda, lda, B, kb, C + m * ldc, ldc, accumulate);
}

// p: x [M,K], panels, bias [N] | null, residual [M,N] | null, out [M,N].
template <class Policy, int NV>
GPT2C_INLINE void linear_panels(const KernelArgs* a, int64_t begin, int64_t end, int64_t M, int64_t K, int64_t N,
                                int64_t mr, int64_t kc, int64_t has_bias, int64_t act, int64_t has_residual) {
    typedef typename Policy::Input Input;
    const Input* x = (const Input*)a->p[0];
    const char* w = (const char*)a->p[1];
    const float* bias = (const float*)a->p[2];
    const float* residual = (const float*)a->p[3];
    float* out = (float*)a->p[4];
    const int64_t nr = NV * 16;
    const int64_t panel_bytes = Policy::bytes(K, nr);
    const int64_t row_bytes = Policy::row_bytes(nr);
    const int64_t lda = Policy::lda(K);
    kc = kc <= 0 || kc > K ? K : (kc + Policy::k_step - 1) / Policy::k_step * Policy::k_step;
    float tile[8 * NV * 16] __attribute__((aligned(64)));
    if (M == 1) {
        const int64_t G = Policy::gemv_panels;
        const int64_t panels = (N + nr - 1) / nr;
        begin *= G;
        end = end * G < panels ? end * G : panels;
        for (int64_t first = begin; first < end; first += G) {
            const char* values[G];
            float y[G][NV * 16] __attribute__((aligned(64)));
            const int64_t group = end - first < G ? end - first : G;
            for (int64_t g = 0; g < G; ++g) values[g] = Policy::values(w + (first + (g < group ? g : 0)) * panel_bytes, nr);
            if (group == G) Policy::template gemv<NV, G>(x, K, values, y);
            else for (int64_t g = 0; g < group; ++g) Policy::template gemv<NV, 1>(x, K, values + g, y + g);
            for (int64_t g = 0; g < group; ++g) {
                const char* pw = w + (first + g) * panel_bytes;
                const float* scale = Policy::scales(pw);
                const int64_t n0 = (first + g) * nr, width = N - n0 < nr ? N - n0 : nr;
                for (int64_t j = 0; j < width; ++j)
                    out[n0 + j] = epilogue(scaled(Policy::total(y[g][j], x, K, pw, nr, j), scale, j), bias,
                                           residual, 0, n0 + j, N, has_bias, act, has_residual);
            }
        }
        return;
    }
    for (int64_t panel = begin; panel < end; ++panel) {
        const char* pw = w + panel * panel_bytes;
        const char* values = Policy::values(pw, nr);
        const float* scale = Policy::scales(pw);
        const int64_t n0 = panel * nr;
        const int64_t width = N - n0 < nr ? N - n0 : nr;
        if (width == nr) {
            for (int64_t k0 = 0; k0 < K; k0 += kc) {
                int64_t kb = K - k0 < kc ? K - k0 : kc;
                for (int64_t m0 = 0; m0 < M; m0 += 8) {
                    int64_t rows = M - m0 < 8 ? M - m0 : 8;
                    if (m0 == 0)
                        block_rows<Policy, NV, true>(x + k0, lda, values + k0 * row_bytes, kb, out + n0, N, rows, mr,
                                                     k0 > 0);
                    else
                        block_rows<Policy, NV, false>(x + m0 * lda + k0, lda, values + k0 * row_bytes, kb,
                                                      out + m0 * N + n0, N, rows, mr, k0 > 0);
                }
            }
            for (int64_t m = 0; m < M; ++m)
                for (int64_t j = 0; j < nr; ++j) {
                    float v = Policy::total(out[m * N + n0 + j], x + m * lda, K, pw, nr, j);
                    out[m * N + n0 + j] =
                        epilogue(scaled(v, scale, j), bias, residual, m, n0 + j, N, has_bias, act, has_residual);
                }
        } else {
            for (int64_t m0 = 0; m0 < M; m0 += 8) {
                int64_t rows = M - m0 < 8 ? M - m0 : 8;
                for (int64_t k0 = 0; k0 < K; k0 += kc) {
                    int64_t kb = K - k0 < kc ? K - k0 : kc;
                    block_rows<Policy, NV, false>(x + m0 * lda + k0, lda, values + k0 * row_bytes, kb, tile, nr,
                                                  rows, mr, k0 > 0);
                }
                for (int64_t m = 0; m < rows; ++m)
                    for (int64_t j = 0; j < width; ++j) {
                        float v = Policy::total(tile[m * nr + j], x + (m0 + m) * lda, K, pw, nr, j);
                        out[(m0 + m) * N + n0 + j] = epilogue(scaled(v, scale, j), bias, residual, m0 + m, n0 + j,
                                                              N, has_bias, act, has_residual);
                    }
            }
        }
    }
}

// The panel width as a template argument: nr = 16, 32, 48 or 64 (the verifier allows no other).
template <class Policy>
GPT2C_INLINE void linear_panels_nr(const KernelArgs* a, int64_t begin, int64_t end, int64_t M, int64_t K, int64_t N,
                                   int64_t nr, int64_t mr, int64_t kc, int64_t has_bias, int64_t act,
                                   int64_t has_residual) {
    if (nr == 16) return linear_panels<Policy, 1>(a, begin, end, M, K, N, mr, kc, has_bias, act, has_residual);
    if (nr == 32) return linear_panels<Policy, 2>(a, begin, end, M, K, N, mr, kc, has_bias, act, has_residual);
    if (nr == 48) return linear_panels<Policy, 3>(a, begin, end, M, K, N, mr, kc, has_bias, act, has_residual);
    if (nr == 64) return linear_panels<Policy, 4>(a, begin, end, M, K, N, mr, kc, has_bias, act, has_residual);
}

// The entry points of a dot-product projection kernel NAME over POLICY (one
// task per panel): p: x [M, POLICY::lda(K)], W panels, bias [N] | null,
// residual [M,N] | null, out [M,N] f32.
#define GPT2C_LINEAR_PANELS_KERNEL(NAME, POLICY)                                                                 \
    GPT2C_KERNEL int64_t gpt2c_k_##NAME##_tasks(const KernelArgs* a, int64_t M, int64_t K, int64_t N, int64_t nr, \
                                                int64_t mr, int64_t kc, int64_t has_bias, int64_t act,           \
                                                int64_t has_residual) {                                          \
        return panel_tasks(M, N, nr, POLICY::gemv_panels);                                                       \
    }                                                                                                            \
    GPT2C_KERNEL void gpt2c_k_##NAME(const KernelArgs* a, int64_t begin, int64_t end, int64_t M, int64_t K,      \
                                     int64_t N, int64_t nr, int64_t mr, int64_t kc, int64_t has_bias, int64_t act, \
                                     int64_t has_residual) {                                                     \
        linear_panels_nr<POLICY>(a, begin, end, M, K, N, nr, mr, kc, has_bias, act, has_residual);               \
    }
