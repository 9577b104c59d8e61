// backend/kernels/linear_int8dot.cpp - int8 projections with the CPU's integer dot product (AVX512_VNNI vpdpbusd).
//
// x arrives as quantized rows (quantize_rows: bytes q + 128 with a float32
// scale per row), W as int8 panels whose rows 4i..4i+3 are side by side per
// column (pack_weight interleave = 4), after the column scales and each
// column's sum of values. One vpdpbusd multiplies 16 columns by a quad
// (x[4i..4i+3]) and adds the four products to int32 accumulators: four times
// the multiply rate of float32 FMAs, and integer sums are exact in any order,
// so decode equals prefill and the thread split changes nothing. Since the
// bytes of x carry +128, a column's sum is sum (q + 128) w = sum q w + 128
// sum w; total() takes 128 times the column sum back off, then applies the
// row's scale (the column's is applied by the shared loop nest,
// linear_panels.h). The accumulators travel in float buffers as int32 bits.
//
// Every function here is compiled for AVX512_VNNI (the pragma below). The
// backend references this kernel only for targets that have it
// (prepack-weights packs k-quads only then) and drops it otherwise.
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))), apply_to = function)

#include "linear_panels.h"

struct Int8QuadPanels {
    typedef unsigned char Input;
    static const int64_t k_step = 4;
    static int64_t bytes(int64_t K, int64_t nr) { return (K + kInt8QuadHeaderRows) * nr; }  // K: a multiple of 4
    static int64_t row_bytes(int64_t nr) { return nr; }
    static const char* values(const char* panel, int64_t nr) { return panel + kInt8QuadHeaderRows * nr; }
    static const float* scales(const char* panel) { return (const float*)panel; }
    static int64_t lda(int64_t K) { return K + 4; }  // the row's scale follows its K bytes
    static float total(float acc, const unsigned char* x_row, int64_t K, const char* panel, int64_t nr, int64_t j) {
#pragma clang fp contract(off)
        int32_t sum, column_sum;
        float row_scale;
        __builtin_memcpy(&sum, &acc, 4);
        __builtin_memcpy(&column_sum, panel + kInt8ScaleRows * nr + j * 4, 4);
        __builtin_memcpy(&row_scale, x_row + K, 4);
        return (float)(sum - 128 * column_sum) * row_scale;
    }

    // Columns v*16..v*16+15 of quad-row p: 64 bytes (k = 4p..4p+3 for each column).
    static __m512i load_quads(const char* B, int64_t p, int64_t nr, int v) {
        return _mm512_loadu_si512(B + (p * nr + v * 16) * 4);
    }
    // A[4p..4p+3] in every 32-bit lane.
    static __m512i broadcast_quad(const unsigned char* A, int64_t p) {
        int32_t quad;
        __builtin_memcpy(&quad, A + 4 * p, 4);
        return _mm512_set1_epi32(quad);
    }

    template <int MR, int NV, bool PF>
    static GPT2C_MEMBER_INLINE void micro(const unsigned char* A, int64_t lda, const char* B, int64_t kc, float* C,
                                          int64_t ldc, bool accumulate) {
        const int64_t nr = NV * 16;
        __m512i acc[MR][NV];
        for (int m = 0; m < MR; ++m)
            for (int v = 0; v < NV; ++v)
                acc[m][v] = accumulate ? _mm512_loadu_si512(C + m * ldc + v * 16) : _mm512_setzero_si512();
        for (int64_t p = 0; p < kc / 4; ++p) {
            if (PF) prefetch_ahead(B + p * nr * 4, nr * 4);
            __m512i b[NV];
            for (int v = 0; v < NV; ++v) b[v] = load_quads(B, p, nr, v);
            for (int m = 0; m < MR; ++m) {
                const __m512i a = broadcast_quad(A + m * lda, p);
                for (int v = 0; v < NV; ++v) acc[m][v] = _mm512_dpbusd_epi32(acc[m][v], a, b[v]);
            }
        }
        for (int m = 0; m < MR; ++m)
            for (int v = 0; v < NV; ++v) _mm512_storeu_si512(C + m * ldc + v * 16, acc[m][v]);
    }

    // Decode: G panels at a time, G * NV independent accumulators, a prefetch
    // ~4 KB ahead in each stream.
    template <int NV, int G>
    static GPT2C_MEMBER_INLINE void gemv(const unsigned char* x, int64_t K, const char* const* values,
                                         float (*y)[NV * 16]) {
        const int64_t nr = NV * 16;
        __m512i acc[G][NV];
        for (int g = 0; g < G; ++g)
            for (int v = 0; v < NV; ++v) acc[g][v] = _mm512_setzero_si512();
        for (int64_t p = 0; p < K / 4; ++p) {
            for (int g = 0; g < G; ++g)
                for (int v = 0; v < NV; ++v) __builtin_prefetch(values[g] + ((p + 16) * nr + v * 16) * 4);
            const __m512i xq = broadcast_quad(x, p);
            for (int g = 0; g < G; ++g)
                for (int v = 0; v < NV; ++v) acc[g][v] = _mm512_dpbusd_epi32(acc[g][v], xq, load_quads(values[g], p, nr, v));
        }
        for (int g = 0; g < G; ++g)
            for (int v = 0; v < NV; ++v) _mm512_storeu_si512(y[g] + v * 16, acc[g][v]);
    }
};

// x: quantized rows [M, K+4] (K a multiple of 4, quantize_rows); W: int8 k-quad panels.
GPT2C_LINEAR_PANELS_KERNEL(linear_int8dot, Int8QuadPanels)

#pragma clang attribute pop
