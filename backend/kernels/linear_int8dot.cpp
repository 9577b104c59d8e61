// backend/kernels/linear_int8dot.cpp - int8 and q4 projections with x86's integer dot product (vpdpbusd).
//
// The policies are linear_int_dot.h's; this file gives them x86 lanes: one
// zmm register (AVX512_VNNI: linear_int8dot, linear_q4dot) or two ymm
// (AVX-VNNI, for CPUs without AVX-512: linear_int8dot_ymm, linear_q4dot_ymm).
// vpdpbusd multiplies unsigned bytes by signed ones, which is why int8
// weights are stored as w + 128. CPUs without either still multiply q4 in
// integers (linear_q4dot_madd, AVX512BW; linear_q4dot_madd_ymm, AVX2):
// vpmaddubsw sums pairs of nibble-times-int8 products into 16-bit lanes,
// where a whole group fits (8 x 2 x 15 x 127 = 30480 < 32768, no
// saturation), and vpmaddwd widens the group's sums to int32 once: the same
// exact integers vpdpbusd gives, so the same logits bit for bit. The pragma below lets clang accept both
// instruction sets; the backend references only the kernels the target has
// (kernel_call.cpp) and drops the others before instruction selection.
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,avxvnni"))), apply_to = function)

#include "linear_int_dot.h"

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
    static const int32_t kInt8Offset = 128;  // vpdpbusd takes the stored bytes as they are
    static const bool kSums16 = false;
    static const int kQ4Rows = 4;             // 32 zmm registers
    static I int8_weights(I raw) { return raw; }
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
    static const int32_t kInt8Offset = 128;
    static const bool kSums16 = false;
    static const int kQ4Rows = 2;  // 16 ymm registers, two per 16 lanes
    static I int8_weights(I raw) { return raw; }
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

// q4 lanes without vpdpbusd: a group's dots accumulate in 16-bit lanes
// (kSums16: int8 weights would overflow them) and widen in add_scaled.
struct ZmmMadd : Zmm {
    static const bool kSums16 = true;
    static I dot(I acc, I u, I s) { return _mm512_add_epi16(acc, _mm512_maddubs_epi16(u, s)); }
    static F add_scaled(F acc, I sum16, I x_sum8, F d) {
        return Zmm::add_scaled(acc, _mm512_madd_epi16(sum16, _mm512_set1_epi16(1)), x_sum8, d);
    }
};
struct Ymm2Madd : Ymm2 {
    static const bool kSums16 = true;
    static I dot(I acc, I u, I s) {
        return {_mm256_add_epi16(acc.lo, _mm256_maddubs_epi16(u.lo, s.lo)),
                _mm256_add_epi16(acc.hi, _mm256_maddubs_epi16(u.hi, s.hi))};
    }
    static F add_scaled(F acc, I sum16, I x_sum8, F d) {
        const __m256i ones = _mm256_set1_epi16(1);
        return Ymm2::add_scaled(acc, {_mm256_madd_epi16(sum16.lo, ones), _mm256_madd_epi16(sum16.hi, ones)}, x_sum8, d);
    }
};

// x: quantized rows [M, quant_row_bytes(K)] (quantize_rows).
// *_int8dot: W int8 k-quad panels (K a multiple of 4); *_q4dot: W q4 k-quad panels.
GPT2C_LINEAR_PANELS_KERNEL(linear_int8dot, Int8QuadPanels<Zmm>)
GPT2C_LINEAR_PANELS_KERNEL(linear_q4dot, Q4QuadPanels<Zmm>)
GPT2C_LINEAR_PANELS_KERNEL(linear_int8dot_ymm, Int8QuadPanels<Ymm2>)
GPT2C_LINEAR_PANELS_KERNEL(linear_q4dot_ymm, Q4QuadPanels<Ymm2>)
GPT2C_LINEAR_PANELS_KERNEL(linear_q4dot_madd, Q4QuadPanels<ZmmMadd>)
GPT2C_LINEAR_PANELS_KERNEL(linear_q4dot_madd_ymm, Q4QuadPanels<Ymm2Madd>)

#pragma clang attribute pop
