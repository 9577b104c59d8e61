// backend/kernels/attention.cpp - the KV cache and causal multi-head attention, unfused and fused.
//
// qkv rows hold [q | k | v], each C = H * D wide, head h in columns h*D..h*D+D.
// The layer's cache holds keys then values, each [n_positions, C]; rows
// 0..S-1 are in use after this call's append.
#include "activation_math.h"

#include <math.h>

// p: qkv [T,3C], cache part [n_positions, C]. Writes rows past..past+T-1.
GPT2C_KERNEL int64_t gpt2c_k_kv_append_tasks(const KernelArgs* a, int64_t T, int64_t C, int64_t part, int64_t past) {
    return T;
}
GPT2C_KERNEL void gpt2c_k_kv_append(const KernelArgs* a, int64_t begin, int64_t end, int64_t T, int64_t C,
                                    int64_t part, int64_t past) {
    const float* qkv = (const float*)a->p[0];
    float* cache = (float*)a->p[1];
    for (int64_t t = begin; t < end; ++t) {
        const float* src = qkv + t * 3 * C + (1 + part) * C;
        float* dst = cache + (past + t) * C;
        for (int64_t c = 0; c < C; ++c) dst[c] = src[c];
    }
}

// p: qkv [T,3C], keys [S,C], out [H,T,S]. One task per (head, row).
GPT2C_KERNEL int64_t gpt2c_k_attn_scores_tasks(const KernelArgs* a, int64_t T, int64_t S, int64_t C, int64_t H) {
    return H * T;
}
GPT2C_KERNEL void gpt2c_k_attn_scores(const KernelArgs* a, int64_t begin, int64_t end, int64_t T, int64_t S, int64_t C,
                                      int64_t H) {
    const float* qkv = (const float*)a->p[0];
    const float* keys = (const float*)a->p[1];
    float* out = (float*)a->p[2];
    const int64_t D = C / H;
    for (int64_t task = begin; task < end; ++task) {
        int64_t h = task / T, t = task % T;
        const float* q = qkv + t * 3 * C + h * D;
        for (int64_t s = 0; s < S; ++s) {
            const float* k = keys + s * C + h * D;
            float acc = 0.0f;
            for (int64_t d = 0; d < D; ++d) acc += q[d] * k[d];
            out[(h * T + t) * S + s] = acc;
        }
    }
}

// p: x [H,T,S], out [H,T,S]: -inf above the causal diagonal (s > past + t).
GPT2C_KERNEL int64_t gpt2c_k_causal_mask_tasks(const KernelArgs* a, int64_t H, int64_t T, int64_t S, int64_t past) {
    return H * T;
}
GPT2C_KERNEL void gpt2c_k_causal_mask(const KernelArgs* a, int64_t begin, int64_t end, int64_t H, int64_t T, int64_t S,
                                      int64_t past) {
    const float* x = (const float*)a->p[0];
    float* out = (float*)a->p[1];
    for (int64_t row = begin; row < end; ++row) {
        int64_t t = row % T;
        for (int64_t s = 0; s < S; ++s) out[row * S + s] = s > past + t ? -INFINITY : x[row * S + s];
    }
}

// p: x [d0,d1,d2], out [d0,d1,d2]: softmax over d2.
GPT2C_KERNEL int64_t gpt2c_k_softmax_tasks(const KernelArgs* a, int64_t d0, int64_t d1, int64_t d2) { return d0 * d1; }
GPT2C_KERNEL void gpt2c_k_softmax(const KernelArgs* a, int64_t begin, int64_t end, int64_t d0, int64_t d1, int64_t d2) {
    const int64_t cols = d2;
    const float* x = (const float*)a->p[0];
    float* out = (float*)a->p[1];
    for (int64_t r = begin; r < end; ++r) {
        const float* xr = x + r * cols;
        float* yr = out + r * cols;
        float max = -INFINITY;
        for (int64_t c = 0; c < cols; ++c) max = xr[c] > max ? xr[c] : max;
        float sum = 0.0f;
        for (int64_t c = 0; c < cols; ++c) {
            yr[c] = fast_exp(xr[c] - max);
            sum += yr[c];
        }
        float inv = 1.0f / sum;
        for (int64_t c = 0; c < cols; ++c) yr[c] *= inv;
    }
}

// p: probs [H,T,S], values [S,C], out [T,C]. One task per (row, head).
GPT2C_KERNEL int64_t gpt2c_k_attn_values_tasks(const KernelArgs* a, int64_t T, int64_t S, int64_t C, int64_t H) {
    return T * H;
}
GPT2C_KERNEL void gpt2c_k_attn_values(const KernelArgs* a, int64_t begin, int64_t end, int64_t T, int64_t S, int64_t C,
                                      int64_t H) {
    const float* probs = (const float*)a->p[0];
    const float* values = (const float*)a->p[1];
    float* out = (float*)a->p[2];
    const int64_t D = C / H;
    for (int64_t task = begin; task < end; ++task) {
        int64_t t = task / H, h = task % H;
        float* o = out + t * C + h * D;
        for (int64_t d = 0; d < D; ++d) o[d] = 0.0f;
        const float* p = probs + (h * T + t) * S;
        for (int64_t s = 0; s < S; ++s) {
            const float* v = values + s * C + h * D;
            for (int64_t d = 0; d < D; ++d) o[d] += p[s] * v[d];
        }
    }
}

// Fused attention: p: qkv [T,3C], keys [S,C], values [S,C], out [T,C].
// One task per (block of query rows, head). Keys are visited in tiles; each
// tile is transposed once into [D][tile] so the scores of all its keys are
// computed with vector FMAs across keys (no horizontal sums), and reused by
// every row of the block. An online softmax (running max and sum rescale the
// partial output, kept in `out`) means the scores are never materialized.
// A row's result depends only on its own keys, in a fixed order: prefill,
// decode and any thread count compute it the same way.
static const int64_t kRowBlock = 8;
static const int64_t kTileFloats = 8192;  // 32 KB of transposed keys on the stack

GPT2C_INLINE int64_t key_tile(int64_t D) {
    int64_t tile = kTileFloats / D;
    return tile > 64 ? 64 : (tile < 1 ? 1 : tile);
}

GPT2C_KERNEL int64_t gpt2c_k_attention_tasks(const KernelArgs* a, int64_t T, int64_t S, int64_t C, int64_t H,
                                             int64_t past, float scale) {
    return H * ((T + kRowBlock - 1) / kRowBlock);
}
GPT2C_KERNEL void gpt2c_k_attention(const KernelArgs* a, int64_t begin, int64_t end, int64_t T, int64_t S, int64_t C,
                                    int64_t H, int64_t past, float scale) {
    const float* qkv = (const float*)a->p[0];
    const float* keys = (const float*)a->p[1];
    const float* values = (const float*)a->p[2];
    float* out = (float*)a->p[3];
    const int64_t D = C / H;
    const int64_t KT = key_tile(D);
    float kt[kTileFloats] __attribute__((aligned(64)));
    float scores[64] __attribute__((aligned(64)));
    float running_max[kRowBlock], running_sum[kRowBlock];
    for (int64_t task = begin; task < end; ++task) {
        const int64_t h = task % H, t0 = (task / H) * kRowBlock;
        const int64_t t1 = t0 + kRowBlock < T ? t0 + kRowBlock : T;
        for (int64_t t = t0; t < t1; ++t) {
            float* o = out + t * C + h * D;
            for (int64_t d = 0; d < D; ++d) o[d] = 0.0f;
            running_max[t - t0] = -INFINITY;
            running_sum[t - t0] = 0.0f;
        }
        const int64_t visible_end = past + t1;  // the block's last row sees keys 0..past+t1-1
        for (int64_t s0 = 0; s0 < visible_end; s0 += KT) {
            const int64_t n = visible_end - s0 < KT ? visible_end - s0 : KT;
            for (int64_t j = 0; j < n; ++j) {
                const float* k = keys + (s0 + j) * C + h * D;
                for (int64_t d = 0; d < D; ++d) kt[d * KT + j] = k[d];
            }
            for (int64_t t = t0; t < t1; ++t) {
                const int64_t visible = past + t + 1;
                if (s0 >= visible) continue;
                const int64_t nn = visible - s0 < n ? visible - s0 : n;
                const float* q = qkv + t * 3 * C + h * D;
                for (int64_t j = 0; j < nn; ++j) scores[j] = 0.0f;
                for (int64_t d = 0; d < D; ++d) {
                    const float qd = q[d];
                    const float* row = kt + d * KT;
                    for (int64_t j = 0; j < nn; ++j) scores[j] += qd * row[j];
                }
                float tile_max = -INFINITY;
                for (int64_t j = 0; j < nn; ++j) {
                    scores[j] *= scale;
                    tile_max = scores[j] > tile_max ? scores[j] : tile_max;
                }
                float* o = out + t * C + h * D;
                const int64_t r = t - t0;
                const float new_max = tile_max > running_max[r] ? tile_max : running_max[r];
                const float correction = fast_exp(running_max[r] - new_max);
                running_sum[r] *= correction;
                for (int64_t d = 0; d < D; ++d) o[d] *= correction;
                for (int64_t j = 0; j < nn; ++j) {
                    const float p = fast_exp(scores[j] - new_max);
                    running_sum[r] += p;
                    const float* v = values + (s0 + j) * C + h * D;
                    for (int64_t d = 0; d < D; ++d) o[d] += p * v[d];
                }
                running_max[r] = new_max;
            }
        }
        for (int64_t t = t0; t < t1; ++t) {
            float* o = out + t * C + h * D;
            const float inv = 1.0f / running_sum[t - t0];
            for (int64_t d = 0; d < D; ++d) o[d] *= inv;
        }
    }
}
