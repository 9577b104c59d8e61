// backend/kernels/linear_int8dot_neon.cpp - int8 and q4 projections with AArch64's dot product (sdot).
//
// The policies are linear_int_dot.h's; this file gives them NEON lanes: 16
// columns in four q registers (ARMv8.2 DotProd: linear_int8dot_neon,
// linear_q4dot_neon). sdot multiplies signed bytes by signed bytes, so q4's
// nibbles (0..15) go in as they are and int8's stored bytes w + 128 are
// flipped back to w with one exclusive or (kInt8Offset = 0). The layouts are
// x86's, so a library's packed weights mean the same on both. The pragma
// lets clang accept sdot; the backend references these kernels only for
// targets with dotprod (kernel_call.cpp) and drops them otherwise.
#include <arm_neon.h>

#pragma clang attribute push(__attribute__((target("dotprod"))), apply_to = function)

#include "linear_int_dot.h"

// 16 columns in four q registers (r[i]: columns 4i..4i+3).
struct Neon4 {
    struct I {
        int32x4_t r[4];
    };
    struct F {
        float32x4_t r[4];
    };
    static I zero() { return set1(0); }
    static F zero_f() {
        const float32x4_t z = vdupq_n_f32(0.0f);
        return {{z, z, z, z}};
    }
    static I load(const void* p) {
        const int32_t* q = (const int32_t*)p;
        return {{vld1q_s32(q), vld1q_s32(q + 4), vld1q_s32(q + 8), vld1q_s32(q + 12)}};
    }
    static F load_f(const float* p) { return {{vld1q_f32(p), vld1q_f32(p + 4), vld1q_f32(p + 8), vld1q_f32(p + 12)}}; }
    static void store(void* p, I v) {
        int32_t* q = (int32_t*)p;
        for (int i = 0; i < 4; ++i) vst1q_s32(q + 4 * i, v.r[i]);
    }
    static void store_f(float* p, F v) {
        for (int i = 0; i < 4; ++i) vst1q_f32(p + 4 * i, v.r[i]);
    }
    static I set1(int32_t v) {
        const int32x4_t d = vdupq_n_s32(v);
        return {{d, d, d, d}};
    }
    static const int32_t kInt8Offset = 0;  // int8_weights() takes the + 128 back off
    static const bool kSums16 = false;
    static const int kQ4Rows = 2;          // 32 q registers, four per 16 lanes
    static I int8_weights(I raw) {
        const uint8x16_t flip = vdupq_n_u8(0x80);
        I w;
        for (int i = 0; i < 4; ++i)
            w.r[i] = vreinterpretq_s32_u8(veorq_u8(vreinterpretq_u8_s32(raw.r[i]), flip));
        return w;
    }
    static I dot(I acc, I w, I x) {
        for (int i = 0; i < 4; ++i)
            acc.r[i] = vdotq_s32(acc.r[i], vreinterpretq_s8_s32(w.r[i]), vreinterpretq_s8_s32(x.r[i]));
        return acc;
    }
    static I low_nibbles(I v) {
        const uint8x16_t m = vdupq_n_u8(15);
        for (int i = 0; i < 4; ++i) v.r[i] = vreinterpretq_s32_u8(vandq_u8(vreinterpretq_u8_s32(v.r[i]), m));
        return v;
    }
    static I high_nibbles(I v) {
        for (int i = 0; i < 4; ++i) v.r[i] = vreinterpretq_s32_u8(vshrq_n_u8(vreinterpretq_u8_s32(v.r[i]), 4));
        return v;
    }
    static I times8(I v) {
        for (int i = 0; i < 4; ++i) v.r[i] = vshlq_n_s32(v.r[i], 3);
        return v;
    }
    static F widen_bf16(const char* p) {
        const uint16_t* h = (const uint16_t*)p;
        F f;
        for (int i = 0; i < 4; ++i) f.r[i] = vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(h + 4 * i), 16));
        return f;
    }
    // acc + d * (sum - x_sum8), fused as x86's vfmadd is: the same float32 result.
    static F add_scaled(F acc, I sum, I x_sum8, F d) {
        for (int i = 0; i < 4; ++i)
            acc.r[i] = vfmaq_f32(acc.r[i], vcvtq_f32_s32(vsubq_s32(sum.r[i], x_sum8.r[i])), d.r[i]);
        return acc;
    }
};

// x: quantized rows [M, quant_row_bytes(K)] (quantize_rows).
// linear_int8dot_neon: W int8 k-quad panels (K a multiple of 4); linear_q4dot_neon: W q4 k-quad panels.
GPT2C_LINEAR_PANELS_KERNEL(linear_int8dot_neon, Int8QuadPanels<Neon4>)
GPT2C_LINEAR_PANELS_KERNEL(linear_q4dot_neon, Q4QuadPanels<Neon4>)

#pragma clang attribute pop
