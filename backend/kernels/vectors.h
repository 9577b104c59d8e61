// backend/kernels/vectors.h - 16-lane float vectors for kernels that block by hand.
//
// Clang's ext_vector_type is target-neutral: a vf16 is one zmm register with
// AVX-512, two ymm with AVX2, four xmm otherwise, so kernels written with it
// stay correct on every target while the backend's per-model -O3 picks the
// instructions. Loads and stores go through memcpy (no alignment assumed).
#pragma once

#include "kernel_abi.h"

typedef float vf16 __attribute__((ext_vector_type(16)));
typedef int32_t vi16 __attribute__((ext_vector_type(16)));
typedef unsigned short vu16x16 __attribute__((ext_vector_type(16)));
typedef unsigned int vu32x16 __attribute__((ext_vector_type(16)));
typedef signed char vi8x16 __attribute__((ext_vector_type(16)));
typedef unsigned char vu8x16 __attribute__((ext_vector_type(16)));

GPT2C_INLINE vf16 load16(const float* p) {
    vf16 v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}
GPT2C_INLINE void store16(float* p, vf16 v) { __builtin_memcpy(p, &v, sizeof v); }

// float32 -> bfloat16, round to nearest even (NaN stays NaN).
GPT2C_INLINE uint16_t to_bf16(float f) {
    uint32_t bits;
    __builtin_memcpy(&bits, &f, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40);  // keep NaN a NaN
    return (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}
// bfloat16 -> float32: exact (the bf16 bits are the float's top half).
GPT2C_INLINE float from_bf16(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    __builtin_memcpy(&f, &bits, 4);
    return f;
}
GPT2C_INLINE vf16 load16_bf16(const uint16_t* p) {
    vu16x16 h;
    __builtin_memcpy(&h, p, sizeof h);
    return (vf16)(__builtin_convertvector(h, vu32x16) << 16);
}

GPT2C_INLINE float hsum16(vf16 v) {
    vf16 a = v + __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
    a = a + __builtin_shufflevector(a, a, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11);
    a = a + __builtin_shufflevector(a, a, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
    a = a + __builtin_shufflevector(a, a, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
    return a[0];
}

GPT2C_INLINE float hmax16(vf16 v) { return __builtin_reduce_max(v); }

// fast_exp (activation_math.h) on 16 lanes: the same operations in the same
// order, so a lane gives exactly what the scalar function gives.
GPT2C_INLINE vf16 fast_exp16(vf16 x) {
    const float log2e = 1.44269504088896341f;
    const float ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
    vf16 xc = x < -87.3f ? (vf16)-87.3f : (x > 88.7f ? (vf16)88.7f : x);
    vf16 n = __builtin_elementwise_rint(xc * log2e);
    vf16 r = xc - n * ln2_hi - n * ln2_lo;
    vf16 p = 1.0f + r * (1.0f + r * (0.5f + r * (1.6666667e-1f + r * (4.1666667e-2f +
             r * (8.3333333e-3f + r * (1.3888889e-3f + r * 1.9841270e-4f))))));
    vi16 bits = (__builtin_convertvector(n, vi16) + 127) << 23;
    vf16 result = p * (vf16)bits;
    return x < -87.3f ? (vf16)0.0f : result;
}
