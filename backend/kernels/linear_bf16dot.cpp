// backend/kernels/linear_bf16dot.cpp - projections with the CPU's bf16 dot product (AVX512_BF16 vdpbf16ps).
//
// x arrives as bf16 rows (to_bf16), W as bf16 panels whose rows k and k+1
// are interleaved per column (pack_weight k_pairs = true): one vdpbf16ps
// multiplies 16 columns by a pair (x[k], x[k+1]) and adds both products to
// float32 accumulators, twice the multiply rate of float32 FMAs and half the
// bytes. The loop nest is linear_panels.h's, shared with the float32 path.
//
// Every function here is compiled for AVX512_BF16 (the pragma below). The
// backend references this kernel only for targets that have it
// (prepack-weights packs k-pairs only then) and drops it otherwise.
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))), apply_to = function)

#include "linear_panels.h"

struct Bf16PairPanels {
    typedef uint16_t Input;
    static const int64_t k_step = 2;
    static const int64_t gemv_panels = kGemvPanels;
    static const bool k_row_loop = false;
    static int64_t bytes(int64_t K, int64_t nr) { return K * nr * 2; }  // K is even (to_bf16 pads it)
    static int64_t row_bytes(int64_t nr) { return nr * 2; }
    static const char* values(const char* panel, int64_t nr) { return panel; }
    static const float* scales(const char* panel) { return nullptr; }
    static int64_t lda(int64_t K) { return K; }
    static float total(float acc, const uint16_t* x_row, int64_t K, const char* panel, int64_t nr, int64_t j) {
        return acc;
    }

    // Columns v*16..v*16+15 of pair-row p: 32 bf16 (k, k+1 for each column).
    static __m512bh load_pairs(const char* B, int64_t p, int64_t nr, int v) {
        return (__m512bh)_mm512_loadu_si512(B + (p * nr + v * 16) * 4);
    }
    // (A[2p], A[2p+1]) in every 32-bit lane.
    static __m512bh broadcast_pair(const uint16_t* A, int64_t p) {
        int32_t pair;
        __builtin_memcpy(&pair, A + 2 * p, 4);
        return (__m512bh)_mm512_set1_epi32(pair);
    }

    template <int MR, int NV, bool PF>
    static GPT2C_MEMBER_INLINE void micro(const uint16_t* A, int64_t lda, const char* B, int64_t kc, float* C, int64_t ldc,
                                   bool accumulate) {
        const int64_t nr = NV * 16;
        __m512 acc[MR][NV];
        for (int m = 0; m < MR; ++m)
            for (int v = 0; v < NV; ++v) acc[m][v] = accumulate ? _mm512_loadu_ps(C + m * ldc + v * 16) : _mm512_setzero_ps();
        for (int64_t p = 0; p < kc / 2; ++p) {
            if (PF) prefetch_ahead(B + p * nr * 4, nr * 4);
            __m512bh b[NV];
            for (int v = 0; v < NV; ++v) b[v] = load_pairs(B, p, nr, v);
            for (int m = 0; m < MR; ++m) {
                const __m512bh a = broadcast_pair(A + m * lda, p);
                for (int v = 0; v < NV; ++v) acc[m][v] = _mm512_dpbf16_ps(acc[m][v], a, b[v]);
            }
        }
        for (int m = 0; m < MR; ++m)
            for (int v = 0; v < NV; ++v) _mm512_storeu_ps(C + m * ldc + v * 16, acc[m][v]);
    }

    // Decode: G panels at a time, each column one chain over the pairs as in
    // micro<1, NV> (so decode computes what prefill does), ~2 KB prefetch per stream.
    template <int NV, int G>
    static GPT2C_MEMBER_INLINE void gemv(const uint16_t* x, int64_t K, const char* const* values, float (*y)[NV * 16]) {
        const int64_t nr = NV * 16;
        __m512 acc[G][NV];
        for (int g = 0; g < G; ++g)
            for (int v = 0; v < NV; ++v) acc[g][v] = _mm512_setzero_ps();
        for (int64_t p = 0; p < K / 2; ++p) {
            if (p % 2 == 0)
                for (int g = 0; g < G; ++g) {
                    __builtin_prefetch(values[g] + (p + 16) * nr * 4);
                    __builtin_prefetch(values[g] + (p + 16) * nr * 4 + 64);
                }
            const __m512bh xp = broadcast_pair(x, p);
            for (int g = 0; g < G; ++g)
                for (int v = 0; v < NV; ++v) acc[g][v] = _mm512_dpbf16_ps(acc[g][v], xp, load_pairs(values[g], p, nr, v));
        }
        for (int g = 0; g < G; ++g)
            for (int v = 0; v < NV; ++v) _mm512_storeu_ps(y[g] + v * 16, acc[g][v]);
    }
};

// x: bf16 rows [M,K] (K even, to_bf16); W: bf16 k-pair panels.
GPT2C_LINEAR_PANELS_KERNEL(linear_bf16dot, Bf16PairPanels)

#pragma clang attribute pop
