// backend/kernels/activation_math.h - the activation functions, in float32.
#pragma once

#include "kernel_abi.h"

#include <math.h>

GPT2C_INLINE float apply_activation(float x, int64_t act) {
    switch (act) {
    case kActGeluTanh: {
        const float k = 0.7978845608028654f;  // sqrt(2/pi)
        return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
    }
    case kActGeluErf: return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
    case kActRelu: return x > 0.0f ? x : 0.0f;
    case kActQuickGelu: return x / (1.0f + expf(-1.702f * x));
    case kActSilu: return x / (1.0f + expf(-x));
    default: return x;
    }
}
