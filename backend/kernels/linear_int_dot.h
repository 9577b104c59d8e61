// backend/kernels/linear_int_dot.h - int8 and q4 projections with integer dot products, over 16-column lanes.
//
// x arrives as quantized rows (quantize_rows: signed bytes q with a float32
// scale per row, the row's sum of q and each 32-byte group's sum), W as
// panels whose rows 4i..4i+3 are side by side per column (k-quads): int8 as
// w + 128, q4 as nibbles n in [0, 15]. One dot-product instruction multiplies
// 4 columns' quads by a quad of x and adds the four products to int32
// accumulators: four times the multiply rate of float32 FMAs, and integer
// sums are exact in any order, so decode equals prefill and the thread split
// changes nothing. Offsets come back off through x's sums: a q4 group's
// sum (n - 8) q = sum n q - 8 sum q, and on CPUs whose instruction takes
// unsigned weights (x86 vpdpbusd) sum (w + 128) q = sum w q + 128 sum q. The
// loop nest is linear_panels.h's, shared with the float32 path.
//
// The policies are written once over Lanes V, 16 columns of 32-bit lanes in
// the target's registers (linear_int8dot.cpp: one zmm or two ymm;
// linear_int8dot_neon.cpp: four NEON q registers). V provides:
//   I, F                         16 int32 / float32 lanes
//   zero, zero_f, set1(int32)    constants; set1 broadcasts x's 4 bytes
//   load, load_f, store, store_f 64 bytes, unaligned
//   dot(acc, w, x)               acc + per lane the sum of 4 byte products,
//                                w: weight bytes (nibbles, or int8_weights(raw));
//                                with kSums16 (q4 only) acc holds 16-bit sums of
//                                2 products, which add_scaled widens
//   kSums16                      whether dot() sums into 16-bit lanes
//   int8_weights(raw)            stored int8 bytes (w + 128) as dot() takes them
//   kInt8Offset                  what dot() sees added to each int8 weight (128 or 0)
//   low_nibbles, high_nibbles    each byte's nibble as a byte in [0, 15]
//   times8                       lanes * 8
//   widen_bf16(p)                16 bf16 values as float32
//   add_scaled(acc, sum, s8, d)  acc + d * float(sum - s8), fused (sum: a group's dots)
//   kQ4Rows                      rows per q4 prefill register block (2, or 4 with 32 registers)
#pragma once

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
    static_assert(!V::kSums16, "int8 products of 255 x 127 overflow 16-bit sums");
    typedef unsigned char Input;
    typedef typename V::I I;
    static const int64_t k_step = 4;
    static const int64_t gemv_panels = kGemvPanels;
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
        return (float)(sum - V::kInt8Offset * row_sum(x_row, K)) * row_scale(x_row, K);
    }

    // Columns v*16..v*16+15 of quad-row p: 64 bytes (k = 4p..4p+3 for each column).
    static I load_quads(const char* B, int64_t p, int64_t nr, int v) {
        return V::int8_weights(V::load(B + (p * nr + v * 16) * 4));
    }

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

    // Decode: G panels at a time, G * NV independent accumulators, two lines
    // prefetched every 4 quad-rows ~6 KB ahead in each stream (float32's
    // pattern; a prefetch of every line 3 KB ahead issued 6x the instructions
    // and streamed 3-6 % slower on Zen 5).
    template <int NV, int G>
    static GPT2C_MEMBER_INLINE void gemv(const unsigned char* x, int64_t K, const char* const* values,
                                         float (*y)[NV * 16]) {
        const int64_t nr = NV * 16;
        I acc[G][NV];
        for (int g = 0; g < G; ++g)
            for (int v = 0; v < NV; ++v) acc[g][v] = V::zero();
        for (int64_t p = 0; p < K / 4; ++p) {
            if (p % 4 == 0)
                for (int g = 0; g < G; ++g) {
                    __builtin_prefetch(values[g] + (p + 32) * nr * 4);
                    __builtin_prefetch(values[g] + (p + 32) * nr * 4 + 64);
                }
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
    static const int64_t gemv_panels = 2;  // measured best of 1, 2 and 4 (linear_panels.h)
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

    // Rows in blocks of V::kQ4Rows (2, or 4 with 32 vector registers): MR x NV
    // int32 and float32 accumulators, a set of unpacked nibbles and the scales
    // fit the registers, and each nibble unpacked serves MR rows. One loop for
    // any number of rows (and a plain prefetch flag), not a copy per row count
    // and prefetch choice: inlined into every task function, the copies took a
    // 124M q4 compile from 3.6 s to 7.2 s.
    template <int NV>
    static GPT2C_MEMBER_INLINE void micro_rows(const unsigned char* A, int64_t lda, const char* B, int64_t kc, float* C,
                                               int64_t ldc, int64_t n_rows, bool accumulate, bool prefetch) {
        const int R = V::kQ4Rows;
        int64_t m = 0;
        for (; m + R <= n_rows; m += R) rows<R, NV>(A + m * lda, lda, B, kc, C + m * ldc, ldc, accumulate, prefetch && m == 0);
        for (; m < n_rows; ++m) rows<1, NV>(A + m * lda, lda, B, kc, C + m * ldc, ldc, accumulate, prefetch && m == 0);
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
                for (int half = 0; half < 2; ++half) {  // low nibbles times xa, then high times xb
                    I nibbles[NV];  // unpacked once for the MR rows
                    for (int v = 0; v < NV; ++v) {
                        const I raw = V::load(group + 2 * nr + (i * nr + v * 16) * 4);
                        nibbles[v] = half == 0 ? V::low_nibbles(raw) : V::high_nibbles(raw);
                    }
                    for (int m = 0; m < MR; ++m) {
                        const I x = V::set1(int32_at(A + m * lda + g0 + 8 * i + 4 * half));
                        for (int v = 0; v < NV; ++v) sum[m][v] = V::dot(sum[m][v], nibbles[v], x);
                    }
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

