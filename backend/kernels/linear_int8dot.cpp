// backend/kernels/linear_int8dot.cpp - int8 and q4 projections with the CPU's integer dot product (vpdpbusd).
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
// Each policy is written once over Lanes, 16 columns of 32-bit lanes: one zmm
// register (AVX512_VNNI: linear_int8dot, linear_q4dot) or two ymm (AVX-VNNI,
// for CPUs without AVX-512: linear_int8dot_ymm, linear_q4dot_ymm). The pragma
// below lets clang accept both instruction sets; the backend references only
// the kernels the target has (kernel_call.cpp) and drops the others before
// instruction selection.
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,avxvnni"))), apply_to = function)

#include "linear_panels.h"

// 16 columns in one zmm register.
struct Zmm {
    typedef __m512i I;
    typedef __m512 F;
    static I zero() { return _mm512_setzero_si512(); }
    static F zero_f() { return _mm512_setzero_ps(); }
    static I load(const void* p) { return _mm512_loadu_si512(p); }
    static F load_f(const float* p) { return _mm512_loadu_ps(p); }
    static void store(void* p, I v) { _mm512_storeu_si512(p, v); }
    static void store_f(float* p, F v) { _mm512_storeu_ps(p, v); }
    static I set1(int32_t v) { return _mm512_set1_epi32(v); }
    // acc + the sums of 4 products of unsigned bytes u and signed bytes s, per 32-bit lane.
    static I dot(I acc, I u, I s) { return _mm512_dpbusd_epi32(acc, u, s); }
    static I low_nibbles(I v) { return _mm512_and_si512(v, _mm512_set1_epi8(15)); }
    static I high_nibbles(I v) { return _mm512_and_si512(_mm512_srli_epi16(v, 4), _mm512_set1_epi8(15)); }
    static I times8(I v) { return _mm512_slli_epi32(v, 3); }
    // 16 bf16 values as float32.
    static F widen_bf16(const char* p) {
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)p)), 16));
    }
    // acc + d * (sum - x_sum8), the int32 difference converted once.
    static F add_scaled(F acc, I sum, I x_sum8, F d) {
        return _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(sum, x_sum8)), d, acc);
    }
};

// 16 columns in two ymm registers (lo: columns 0..7, hi: 8..15).
struct Ymm2 {
    struct I {
        __m256i lo, hi;
    };
    struct F {
        __m256 lo, hi;
    };
    static I zero() { return {_mm256_setzero_si256(), _mm256_setzero_si256()}; }
    static F zero_f() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
    static I load(const void* p) {
        return {_mm256_loadu_si256((const __m256i*)p), _mm256_loadu_si256((const __m256i*)p + 1)};
    }
    static F load_f(const float* p) { return {_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)}; }
    static void store(void* p, I v) {
        _mm256_storeu_si256((__m256i*)p, v.lo);
        _mm256_storeu_si256((__m256i*)p + 1, v.hi);
    }
    static void store_f(float* p, F v) {
        _mm256_storeu_ps(p, v.lo);
        _mm256_storeu_ps(p + 8, v.hi);
    }
    static I set1(int32_t v) { return {_mm256_set1_epi32(v), _mm256_set1_epi32(v)}; }
    static I dot(I acc, I u, I s) { return {_mm256_dpbusd_avx_epi32(acc.lo, u.lo, s.lo), _mm256_dpbusd_avx_epi32(acc.hi, u.hi, s.hi)}; }
    static I low_nibbles(I v) {
        const __m256i m = _mm256_set1_epi8(15);
        return {_mm256_and_si256(v.lo, m), _mm256_and_si256(v.hi, m)};
    }
    static I high_nibbles(I v) {
        const __m256i m = _mm256_set1_epi8(15);
        return {_mm256_and_si256(_mm256_srli_epi16(v.lo, 4), m), _mm256_and_si256(_mm256_srli_epi16(v.hi, 4), m)};
    }
    static I times8(I v) { return {_mm256_slli_epi32(v.lo, 3), _mm256_slli_epi32(v.hi, 3)}; }
    static F widen_bf16(const char* p) {
        const __m128i* h = (const __m128i*)p;
        return {_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(h)), 16)),
                _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(h + 1)), 16))};
    }
    static F add_scaled(F acc, I sum, I x_sum8, F d) {
        return {_mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(sum.lo, x_sum8.lo)), d.lo, acc.lo),
                _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(sum.hi, x_sum8.hi)), d.hi, acc.hi)};
    }
};

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
// The int32 starting at p (4 bytes of x, or a group's sum).
GPT2C_INLINE int32_t int32_at(const unsigned char* p) {
    int32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}

// int8 weights: [K/4][nr][4] bytes w + 128 after nr float32 column scales
// (K: a multiple of 4). The accumulators travel in float buffers as int32 bits.
template <class V>
struct Int8QuadPanels {
    typedef unsigned char Input;
    typedef typename V::I I;
    static const int64_t k_step = 4;
    static const bool k_row_loop = false;
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
    static I load_quads(const char* B, int64_t p, int64_t nr, int v) { return V::load(B + (p * nr + v * 16) * 4); }

    template <int MR, int NV, bool PF>
    static GPT2C_MEMBER_INLINE void micro(const unsigned char* A, int64_t lda, const char* B, int64_t kc, float* C,
                                          int64_t ldc, bool accumulate) {
        const int64_t nr = NV * 16;
        I acc[MR][NV];
        for (int m = 0; m < MR; ++m)
            for (int v = 0; v < NV; ++v) acc[m][v] = accumulate ? V::load(C + m * ldc + v * 16) : V::zero();
        for (int64_t p = 0; p < kc / 4; ++p) {
            if (PF) prefetch_ahead(B + p * nr * 4, nr * 4);
            I b[NV];
            for (int v = 0; v < NV; ++v) b[v] = load_quads(B, p, nr, v);
            for (int m = 0; m < MR; ++m) {
                const I a = V::set1(int32_at(A + m * lda + 4 * p));
                for (int v = 0; v < NV; ++v) acc[m][v] = V::dot(acc[m][v], b[v], a);
            }
        }
        for (int m = 0; m < MR; ++m)
            for (int v = 0; v < NV; ++v) V::store(C + m * ldc + v * 16, acc[m][v]);
    }

    // Decode: G panels at a time, G * NV independent accumulators, a prefetch
    // ~3 KB ahead in each stream.
    template <int NV, int G>
    static GPT2C_MEMBER_INLINE void gemv(const unsigned char* x, int64_t K, const char* const* values,
                                         float (*y)[NV * 16]) {
        const int64_t nr = NV * 16;
        I acc[G][NV];
        for (int g = 0; g < G; ++g)
            for (int v = 0; v < NV; ++v) acc[g][v] = V::zero();
        for (int64_t p = 0; p < K / 4; ++p) {
            for (int g = 0; g < G; ++g)
                for (int v = 0; v < NV; ++v) __builtin_prefetch(values[g] + ((p + 16) * nr + v * 16) * 4);
            const I xq = V::set1(int32_at(x + 4 * p));
            for (int g = 0; g < G; ++g)
                for (int v = 0; v < NV; ++v) acc[g][v] = V::dot(acc[g][v], load_quads(values[g], p, nr, v), xq);
        }
        for (int g = 0; g < G; ++g)
            for (int v = 0; v < NV; ++v) V::store(y[g] + v * 16, acc[g][v]);
    }
};

// q4 weights, per group of 32 rows: nr bf16 scales d, then 4 quad-pairs
// [4][nr][4 bytes], byte b of column j holding rows 8i + b (low nibble) and
// 8i + 4 + b (high) as n = q in [0, 15] (value (n - 8) d). A group's int32 sum
// becomes float32 once, times d, added to a float32 accumulator per column:
// the same chain of operations in micro and gemv, so decode equals prefill.
template <class V>
struct Q4QuadPanels {
    typedef unsigned char Input;
    typedef typename V::I I;
    typedef typename V::F F;
    static const int64_t k_step = kQ4Group;
    static const bool k_row_loop = true;
    static int64_t bytes(int64_t K, int64_t nr) { return q4_panel_bytes(K, nr); }
    static int64_t row_bytes(int64_t nr) { return q4_group_bytes(nr) / kQ4Group; }  // exact at group starts
    static const char* values(const char* panel, int64_t nr) { return panel; }
    static const float* scales(const char* panel) { return nullptr; }
    static int64_t lda(int64_t K) { return quant_row_bytes(K); }
    static float total(float acc, const unsigned char* x_row, int64_t K, const char* panel, int64_t nr, int64_t j) {
#pragma clang fp contract(off)
        return acc * row_scale(x_row, K);
    }

    // 16 columns' group sum of quad-pair i: rows 8i..8i+3 times xa, rows 8i+4..8i+7 times xb.
    static I add_pair(I sum, const char* group, int64_t nr, int64_t i, int v, I xa, I xb) {
        const I raw = V::load(group + 2 * nr + (i * nr + v * 16) * 4);
        return V::dot(V::dot(sum, V::low_nibbles(raw), xa), V::high_nibbles(raw), xb);
    }

    // Rows in 2s: 2 x NV int32 and float32 accumulators, the unpacked nibbles
    // and the scales fit the registers. One loop for any number of rows (and a
    // plain prefetch flag), not a copy per row count and prefetch choice:
    // inlined into every task function, the copies took a 124M q4 compile from
    // 3.6 s to 7.2 s.
    template <int NV>
    static GPT2C_MEMBER_INLINE void micro_rows(const unsigned char* A, int64_t lda, const char* B, int64_t kc, float* C,
                                               int64_t ldc, int64_t n_rows, bool accumulate, bool prefetch) {
        int64_t m = 0;
        for (; m + 2 <= n_rows; m += 2) rows<2, NV>(A + m * lda, lda, B, kc, C + m * ldc, ldc, accumulate, prefetch && m == 0);
        if (m < n_rows) rows<1, NV>(A + m * lda, lda, B, kc, C + m * ldc, ldc, accumulate, prefetch && m == 0);
    }
    template <int MR, int NV, bool PF>
    static GPT2C_MEMBER_INLINE void micro(const unsigned char* A, int64_t lda, const char* B, int64_t kc, float* C,
                                          int64_t ldc, bool accumulate) {
        micro_rows<NV>(A, lda, B, kc, C, ldc, MR, accumulate, PF);
    }
    // A's group sums lie (lda + 8) / 2 bytes past each group's bytes (Kp + 8, linear_common.h).
    template <int MR, int NV>
    static GPT2C_MEMBER_INLINE void rows(const unsigned char* A, int64_t lda, const char* B, int64_t kc, float* C,
                                         int64_t ldc, bool accumulate, bool prefetch) {
        const int64_t nr = NV * 16, group_bytes = q4_group_bytes(nr), sums = (lda + 8) / 2;
        F acc[MR][NV];
        for (int m = 0; m < MR; ++m)
            for (int v = 0; v < NV; ++v) acc[m][v] = accumulate ? V::load_f(C + m * ldc + v * 16) : V::zero_f();
        for (int64_t g0 = 0; g0 < kc; g0 += kQ4Group) {
            const char* group = B + g0 / kQ4Group * group_bytes;
            if (prefetch) prefetch_ahead(group, group_bytes);
            I sum[MR][NV];
            for (int m = 0; m < MR; ++m)
                for (int v = 0; v < NV; ++v) sum[m][v] = V::zero();
            for (int64_t i = 0; i < 4; ++i) {
                I low[NV], high[NV];  // unpacked once for the MR rows
                for (int v = 0; v < NV; ++v) {
                    const I raw = V::load(group + 2 * nr + (i * nr + v * 16) * 4);
                    low[v] = V::low_nibbles(raw);
                    high[v] = V::high_nibbles(raw);
                }
                for (int m = 0; m < MR; ++m) {
                    const I xa = V::set1(int32_at(A + m * lda + g0 + 8 * i));
                    const I xb = V::set1(int32_at(A + m * lda + g0 + 8 * i + 4));
                    for (int v = 0; v < NV; ++v) sum[m][v] = V::dot(V::dot(sum[m][v], low[v], xa), high[v], xb);
                }
            }
            for (int m = 0; m < MR; ++m) {
                const I x_sum8 = V::times8(V::set1(int32_at(A + m * lda + sums + g0)));
                for (int v = 0; v < NV; ++v)
                    acc[m][v] = V::add_scaled(acc[m][v], sum[m][v], x_sum8, V::widen_bf16(group + v * 32));
            }
        }
        for (int m = 0; m < MR; ++m)
            for (int v = 0; v < NV; ++v) V::store_f(C + m * ldc + v * 16, acc[m][v]);
    }

    // Decode: the G panels' NV column vectors one after another within each
    // group (each an 8-deep int32 chain), the float32 accumulators in registers.
    template <int NV, int G>
    static GPT2C_MEMBER_INLINE void gemv(const unsigned char* x, int64_t K, const char* const* values,
                                         float (*y)[NV * 16]) {
        const int64_t nr = NV * 16, group_bytes = q4_group_bytes(nr), sums = quant_padded(K) + 8;
        F acc[G][NV];
        for (int g = 0; g < G; ++g)
            for (int v = 0; v < NV; ++v) acc[g][v] = V::zero_f();
        for (int64_t g0 = 0; g0 < K; g0 += kQ4Group) {
            const int64_t offset = g0 / kQ4Group * group_bytes;
            for (int g = 0; g < G; ++g)
                for (int64_t off = 0; off < group_bytes; off += 64) __builtin_prefetch(values[g] + offset + 2 * group_bytes + off);
            I xq[8];
            for (int i = 0; i < 8; ++i) xq[i] = V::set1(int32_at(x + g0 + 4 * i));
            const I x_sum8 = V::times8(V::set1(int32_at(x + sums + g0)));
            for (int g = 0; g < G; ++g)
                for (int v = 0; v < NV; ++v) {
                    const char* group = values[g] + offset;
                    I sum = V::zero();
                    for (int64_t i = 0; i < 4; ++i) sum = add_pair(sum, group, nr, i, v, xq[2 * i], xq[2 * i + 1]);
                    acc[g][v] = V::add_scaled(acc[g][v], sum, x_sum8, V::widen_bf16(group + v * 32));
                }
        }
        for (int g = 0; g < G; ++g)
            for (int v = 0; v < NV; ++v) V::store_f(y[g] + v * 16, acc[g][v]);
    }
};

// x: quantized rows [M, quant_row_bytes(K)] (quantize_rows).
// *_int8dot: W int8 k-quad panels (K a multiple of 4); *_q4dot: W q4 k-quad panels.
GPT2C_LINEAR_PANELS_KERNEL(linear_int8dot, Int8QuadPanels<Zmm>)
GPT2C_LINEAR_PANELS_KERNEL(linear_q4dot, Q4QuadPanels<Zmm>)
GPT2C_LINEAR_PANELS_KERNEL(linear_int8dot_ymm, Int8QuadPanels<Ymm2>)
GPT2C_LINEAR_PANELS_KERNEL(linear_q4dot_ymm, Q4QuadPanels<Ymm2>)

#pragma clang attribute pop
