// backend/kernels/activation_math.h - exp and the activation functions, in float32, vectorizable.
//
// libm's expf/tanhf are calls the loop vectorizer cannot widen; these are
// branch-free (selects only) so loops over them become AVX-512/AVX2 code.
// fast_exp is within ~2 ulp of expf over the float range; tanh is computed
// from it (absolute error < 1e-7), which keeps every activation well inside
// the 1e-5 logit tolerance the end-to-end tests hold.
#pragma once

#include "kernel_abi.h"

#include <math.h>
#include <string.h>

GPT2C_INLINE float fast_exp(float x) {
    const float log2e = 1.44269504088896341f;
    const float ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
    float xc = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
    float n = __builtin_rintf(xc * log2e);
    float r = xc - n * ln2_hi - n * ln2_lo;
    // exp(r) on |r| <= ln2/2: Taylor to degree 7 (error < 3e-9 relative).
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.6666667e-1f + r * (4.1666667e-2f +
              r * (8.3333333e-3f + r * (1.3888889e-3f + r * 1.9841270e-4f))))));
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    float result = p * scale;
    return x < -87.3f ? 0.0f : result;
}

GPT2C_INLINE float fast_tanh(float x) {
    float ax = x < 0.0f ? -x : x;
    float t = fast_exp(-2.0f * ax);
    float y = (1.0f - t) / (1.0f + t);
    return x < 0.0f ? -y : y;
}

GPT2C_INLINE float apply_activation(float x, int64_t act) {
    switch (act) {
    case kActGeluTanh: {
        const float k = 0.7978845608028654f;  // sqrt(2/pi)
        return 0.5f * x * (1.0f + fast_tanh(k * (x + 0.044715f * x * x * x)));
    }
    case kActGeluErf: return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
    case kActRelu: return x > 0.0f ? x : 0.0f;
    case kActQuickGelu: return x / (1.0f + fast_exp(-1.702f * x));
    case kActSilu: return x / (1.0f + fast_exp(-x));
    default: return x;
    }
}
