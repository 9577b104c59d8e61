// backend/kernels/linear_int8dot.cpp - int8 and q4 projections with the CPU's integer dot product (AVX512_VNNI vpdpbusd).
//
// x arrives as quantized rows (quantize_rows: signed bytes q with a float32
// scale per row, the row's sum of q and each 32-byte group's sum), W as
// panels whose rows 4i..4i+3 are side by side per column (pack_weight
// interleave = 4) as unsigned values: int8 w + 128, q4 nibbles. One vpdpbusd
// multiplies 16 columns' unsigned quads by a signed quad of x and adds the
// four products to int32 accumulators: four times the multiply rate of
// float32 FMAs, and integer sums are exact in any order, so decode equals
// prefill and the thread split changes nothing. The unsigned offsets come
// back off through x's sums: sum (w + 128) q = sum w q + 128 sum q, and a q4
// group's sum (n - 8) q = sum n q - 8 sum q. The loop nest is
// linear_panels.h's, shared with the float32 path.
//
// Every function here is compiled for AVX512_VNNI (the pragma below). The
// backend references these kernels only for targets that have it
// (prepack-weights packs k-quads only then) and drops them otherwise.
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))), apply_to = function)

#include "linear_panels.h"

// What every quantized row holds after its Kp bytes (linear_common.h).
GPT2C_INLINE float row_scale(const unsigned char* row, int64_t K) {
    float s;
    __builtin_memcpy(&s, row + quant_padded(K), 4);
    return s;
}
GPT2C_INLINE int32_t row_sum(const unsigned char* row, int64_t K) {
    int32_t sum;
    __builtin_memcpy(&sum, row + quant_padded(K) + 4, 4);
    return sum;
}
// The int32 starting at p in every lane (4 bytes of x, or a group's sum).
GPT2C_INLINE __m512i broadcast32(const unsigned char* p) {
    int32_t v;
    __builtin_memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

// int8 weights: [K/4][nr][4] bytes w + 128 after nr float32 column scales
// (K: a multiple of 4). The accumulators travel in float buffers as int32 bits.
struct Int8QuadPanels {
    typedef unsigned char Input;
    static const int64_t k_step = 4;
    static int64_t bytes(int64_t K, int64_t nr) { return (K + kInt8ScaleRows) * nr; }
    static int64_t row_bytes(int64_t nr) { return nr; }
    static const char* values(const char* panel, int64_t nr) { return panel + kInt8ScaleRows * nr; }
    static const float* scales(const char* panel) { return (const float*)panel; }
    static int64_t lda(int64_t K) { return quant_row_bytes(K); }
    static float total(float acc, const unsigned char* x_row, int64_t K, const char* panel, int64_t nr, int64_t j) {
#pragma clang fp contract(off)
        int32_t sum;
        __builtin_memcpy(&sum, &acc, 4);
        return (float)(sum - 128 * row_sum(x_row, K)) * row_scale(x_row, K);
    }

    // Columns v*16..v*16+15 of quad-row p: 64 bytes (k = 4p..4p+3 for each column).
    static __m512i load_quads(const char* B, int64_t p, int64_t nr, int v) {
        return _mm512_loadu_si512(B + (p * nr + v * 16) * 4);
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
                const __m512i a = broadcast32(A + m * lda + 4 * p);
                for (int v = 0; v < NV; ++v) acc[m][v] = _mm512_dpbusd_epi32(acc[m][v], b[v], a);
            }
        }
        for (int m = 0; m < MR; ++m)
            for (int v = 0; v < NV; ++v) _mm512_storeu_si512(C + m * ldc + v * 16, acc[m][v]);
    }

    // Decode: G panels at a time, G * NV independent accumulators, a prefetch
    // ~3 KB ahead in each stream.
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
            const __m512i xq = broadcast32(x + 4 * p);
            for (int g = 0; g < G; ++g)
                for (int v = 0; v < NV; ++v) acc[g][v] = _mm512_dpbusd_epi32(acc[g][v], load_quads(values[g], p, nr, v), xq);
        }
        for (int g = 0; g < G; ++g)
            for (int v = 0; v < NV; ++v) _mm512_storeu_si512(y[g] + v * 16, acc[g][v]);
    }
};

// q4 weights, per group of 32 rows: nr bf16 scales d, then 4 quad-pairs
// [4][nr][4 bytes], byte b of column j holding rows 8i + b (low nibble) and
// 8i + 4 + b (high) as n = q in [0, 15] (value (n - 8) d). A group's int32 sum
// becomes float32 once, times d, added to a float32 accumulator per column:
// the same chain of operations in micro and gemv, so decode equals prefill.
struct Q4QuadPanels {
    typedef unsigned char Input;
    static const int64_t k_step = kQ4Group;
    static int64_t bytes(int64_t K, int64_t nr) { return q4_panel_bytes(K, nr); }
    static int64_t row_bytes(int64_t nr) { return q4_group_bytes(nr) / kQ4Group; }  // exact at group starts
    static const char* values(const char* panel, int64_t nr) { return panel; }
    static const float* scales(const char* panel) { return nullptr; }
    static int64_t lda(int64_t K) { return quant_row_bytes(K); }
    static float total(float acc, const unsigned char* x_row, int64_t K, const char* panel, int64_t nr, int64_t j) {
#pragma clang fp contract(off)
        return acc * row_scale(x_row, K);
    }

    // The 16 columns' bf16 scales of a group (starting at `group`), as float32.
    static __m512 scales16(const char* group, int v) {
        return _mm512_castsi512_ps(_mm512_slli_epi32(
            _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)(group + v * 32))), 16));
    }
    // The nibbles of 16 columns' quad-pair i of a group: low = rows 8i..8i+3, high = 8i+4..8i+7.
    static void load_nibbles(const char* group, int64_t nr, int64_t i, int v, __m512i* low, __m512i* high) {
        const __m512i raw = _mm512_loadu_si512(group + 2 * nr + (i * nr + v * 16) * 4);
        const __m512i mask = _mm512_set1_epi8(15);
        *low = _mm512_and_si512(raw, mask);
        *high = _mm512_and_si512(_mm512_srli_epi16(raw, 4), mask);
    }
    // acc + d * (sum - 8 * (x's group sum)): one group's contribution.
    static __m512 add_group(__m512 acc, __m512i sum, __m512i x_sum8, __m512 d) {
        return _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(sum, x_sum8)), d, acc);
    }

    // Rows in 2s: 2 x NV int32 and float32 accumulators, the unpacked nibbles
    // and the scales fit the 32 registers. A loop over the pairs, not MR / 2
    // inlined copies, keeps the compile time of a q4 library near the float
    // path's. PF (prefetch) is a plain argument for the same reason.
    template <int MR, int NV, bool PF>
    static GPT2C_MEMBER_INLINE void micro(const unsigned char* A, int64_t lda, const char* B, int64_t kc, float* C,
                                          int64_t ldc, bool accumulate) {
        for (int m = 0; m + 2 <= MR; m += 2) rows<2, NV>(A + m * lda, lda, B, kc, C + m * ldc, ldc, accumulate, PF && m == 0);
        if (MR % 2) rows<1, NV>(A + (MR - 1) * lda, lda, B, kc, C + (MR - 1) * ldc, ldc, accumulate, PF && MR == 1);
    }
    // A's group sums lie (lda + 8) / 2 bytes past each group's bytes (Kp + 8, linear_common.h).
    template <int MR, int NV>
    static GPT2C_MEMBER_INLINE void rows(const unsigned char* A, int64_t lda, const char* B, int64_t kc, float* C,
                                         int64_t ldc, bool accumulate, bool prefetch) {
        const int64_t nr = NV * 16, group_bytes = q4_group_bytes(nr), sums = (lda + 8) / 2;
        __m512 acc[MR][NV];
        for (int m = 0; m < MR; ++m)
            for (int v = 0; v < NV; ++v) acc[m][v] = accumulate ? _mm512_loadu_ps(C + m * ldc + v * 16) : _mm512_setzero_ps();
        for (int64_t g0 = 0; g0 < kc; g0 += kQ4Group) {
            const char* group = B + g0 / kQ4Group * group_bytes;
            if (prefetch) prefetch_ahead(group, group_bytes);
            __m512i sum[MR][NV];
            for (int m = 0; m < MR; ++m)
                for (int v = 0; v < NV; ++v) sum[m][v] = _mm512_setzero_si512();
            for (int64_t i = 0; i < 4; ++i) {
                __m512i low[NV], high[NV];
                for (int v = 0; v < NV; ++v) load_nibbles(group, nr, i, v, low + v, high + v);
                for (int m = 0; m < MR; ++m) {
                    const __m512i xa = broadcast32(A + m * lda + g0 + 8 * i);
                    const __m512i xb = broadcast32(A + m * lda + g0 + 8 * i + 4);
                    for (int v = 0; v < NV; ++v)
                        sum[m][v] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(sum[m][v], low[v], xa), high[v], xb);
                }
            }
            for (int m = 0; m < MR; ++m) {
                const __m512i x_sum8 = _mm512_slli_epi32(broadcast32(A + m * lda + sums + g0), 3);
                for (int v = 0; v < NV; ++v) acc[m][v] = add_group(acc[m][v], sum[m][v], x_sum8, scales16(group, v));
            }
        }
        for (int m = 0; m < MR; ++m)
            for (int v = 0; v < NV; ++v) _mm512_storeu_ps(C + m * ldc + v * 16, acc[m][v]);
    }

    // Decode: the G panels' NV column vectors one after another within each
    // group (each an 8-deep int32 chain), the float32 accumulators in registers.
    template <int NV, int G>
    static GPT2C_MEMBER_INLINE void gemv(const unsigned char* x, int64_t K, const char* const* values,
                                         float (*y)[NV * 16]) {
        const int64_t nr = NV * 16, group_bytes = q4_group_bytes(nr), sums = quant_padded(K) + 8;
        __m512 acc[G][NV];
        for (int g = 0; g < G; ++g)
            for (int v = 0; v < NV; ++v) acc[g][v] = _mm512_setzero_ps();
        for (int64_t g0 = 0; g0 < K; g0 += kQ4Group) {
            const int64_t offset = g0 / kQ4Group * group_bytes;
            for (int g = 0; g < G; ++g)
                for (int64_t off = 0; off < group_bytes; off += 64) __builtin_prefetch(values[g] + offset + 2 * group_bytes + off);
            __m512i xq[8];
            for (int i = 0; i < 8; ++i) xq[i] = broadcast32(x + g0 + 4 * i);
            const __m512i x_sum8 = _mm512_slli_epi32(broadcast32(x + sums + g0), 3);
            for (int g = 0; g < G; ++g)
                for (int v = 0; v < NV; ++v) {
                    const char* group = values[g] + offset;
                    __m512i sum = _mm512_setzero_si512();
                    for (int64_t i = 0; i < 4; ++i) {
                        __m512i low, high;
                        load_nibbles(group, nr, i, v, &low, &high);
                        sum = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(sum, low, xq[2 * i]), high, xq[2 * i + 1]);
                    }
                    acc[g][v] = add_group(acc[g][v], sum, x_sum8, scales16(group, v));
                }
        }
        for (int g = 0; g < G; ++g)
            for (int v = 0; v < NV; ++v) _mm512_storeu_ps(y[g] + v * 16, acc[g][v]);
    }
};

// x: quantized rows [M, quant_row_bytes(K)] (quantize_rows).
// linear_int8dot: W int8 k-quad panels (K a multiple of 4); linear_q4dot: W q4 k-quad panels.
GPT2C_LINEAR_PANELS_KERNEL(linear_int8dot, Int8QuadPanels)
GPT2C_LINEAR_PANELS_KERNEL(linear_q4dot, Q4QuadPanels)

#pragma clang attribute pop
