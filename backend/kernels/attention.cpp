// backend/kernels/attention.cpp - the KV cache and causal multi-head attention, unfused and fused.
//
// qkv rows hold [q | k | v], each C = H * D wide, head h in columns h*D..h*D+D.
// Row t of a call belongs to the sequence in slot slots[t], at position
// positions[t]. The cache holds the slots one after another, head by head,
// keys in tiles of 16 positions (kv_head, kernel_abi.h); kv_append stores row
// t at its position of its slot, and row t then attends to its slot's
// positions 0..positions[t]. Nothing reads a position beyond that as a
// number that counts, so a slot's unused positions may hold anything.
//
// The cache's element type E (--kv-dtype, the kv_type argument) is float, bf16
// (uint16_t) or int8_t: kv_append rounds or quantizes to it, and every reader
// widens it back to float32 as it loads, so only the storage (and the
// bandwidth) shrinks. An int8 position of a head carries its own scale
// (quantize_int8.h, kv_scale_offset); readers apply a key's scale to its score
// and fold a value's scale into its probability, so the sums over d stay
// float32 FMAs over the widened bytes. For float and bf16 every scale is 1 and
// the multiplications by it are dropped at compile time.
#include "activation_math.h"
#include "quantize_int8.h"
#include "vectors.h"

#include <math.h>

GPT2C_INLINE float kv_get(const float* p) { return *p; }
GPT2C_INLINE float kv_get(const uint16_t* p) { return from_bf16(*p); }
GPT2C_INLINE float kv_get(const int8_t* p) { return (float)*p; }
GPT2C_INLINE vf16 kv_load16(const float* p) { return load16(p); }
GPT2C_INLINE vf16 kv_load16(const uint16_t* p) { return load16_bf16(p); }
GPT2C_INLINE vf16 kv_load16(const int8_t* p) {
    vi8x16 bytes;
    __builtin_memcpy(&bytes, p, sizeof bytes);
    return __builtin_convertvector(bytes, vf16);
}
// `inv`: 1 / the position's scale (int8 only).
GPT2C_INLINE void kv_put(float* p, float v, float inv) { *p = v; }
GPT2C_INLINE void kv_put(uint16_t* p, float v, float inv) { *p = to_bf16(v); }
GPT2C_INLINE void kv_put(int8_t* p, float v, float inv) { *p = quantize_int8(v, inv); }

// Position s's scale in a head's keys or values (`head`: kv_head): 1 unless the cache is int8.
template <typename E>
GPT2C_INLINE float kv_scale(const E* head, int64_t s, int64_t D) {
    if constexpr (!kv_scaled<E>) return 1.0f;
    float f;
    __builtin_memcpy(&f, (const char*)head + kv_scale_offset<E>(s, D), 4);
    return f;
}
// The scales of the 16 positions from s0 (a multiple of kKvTile); int8 only.
template <typename E>
GPT2C_INLINE vf16 kv_scales16(const E* head, int64_t s0, int64_t D) {
    return load16((const float*)((const char*)head + kv_scale_offset<E>(s0, D)));
}

// fn<E>(args...) for the cache's element type (kv_type is a constant at every call site).
#define GPT2C_FOR_KV_ELEM(kv_type, fn, ...)                                   \
    ((kv_type) == kKvInt8   ? fn<int8_t>(__VA_ARGS__)                         \
     : (kv_type) == kKvBf16 ? fn<uint16_t>(__VA_ARGS__)                       \
                            : fn<float>(__VA_ARGS__))

// p: qkv [T,3C], positions [T], slots [T], cache (all slots). One task per row.
template <typename E>
GPT2C_INLINE void kv_append_rows(const KernelArgs* a, int64_t begin, int64_t end, int64_t S, int64_t C, int64_t H,
                                 int64_t part, int64_t layer, int64_t n_layer) {
    const float* qkv = (const float*)a->p[0];
    const int32_t* positions = (const int32_t*)a->p[1];
    const int32_t* slots = (const int32_t*)a->p[2];
    const int64_t D = C / H;
    for (int64_t t = begin; t < end; ++t) {
        const float* src = qkv + t * 3 * C + (1 + part) * C;
        const int64_t s = positions[t];
        for (int64_t h = 0; h < H; ++h) {
            E* head = kv_head<E>(a->p[3], slots[t], layer, part, n_layer, S, C, h, D);
            const float* x = src + h * D;
            float inv = 1.0f;
            if constexpr (kv_scaled<E>) {
                const float scale = int8_row_scale(x, D, &inv);
                __builtin_memcpy((char*)head + kv_scale_offset<E>(s, D), &scale, 4);
            }
            if (part == 0)
                for (int64_t d = 0; d < D; ++d) kv_put(head + kv_key_offset<E>(s, d, D), x[d], inv);
            else
                for (int64_t d = 0; d < D; ++d) kv_put(head + kv_value_offset<E>(s, D) + d, x[d], inv);
        }
    }
}
GPT2C_KERNEL int64_t gpt2c_k_kv_append_tasks(const KernelArgs* a, int64_t T, int64_t S, int64_t C, int64_t H,
                                             int64_t part, int64_t layer, int64_t n_layer, int64_t kv_type) {
    return T;
}
GPT2C_KERNEL void gpt2c_k_kv_append(const KernelArgs* a, int64_t begin, int64_t end, int64_t T, int64_t S, int64_t C,
                                    int64_t H, int64_t part, int64_t layer, int64_t n_layer, int64_t kv_type) {
    GPT2C_FOR_KV_ELEM(kv_type, kv_append_rows, a, begin, end, S, C, H, part, layer, n_layer);
}

// p: qkv [T,3C], cache, positions [T], slots [T], out [H,T,S]: the scores of row t
// against its slot's keys 0..positions[t]; the rest of the row is 0 (masked later).
// One task per (head, row).
template <typename E>
GPT2C_INLINE void attn_scores_rows(const KernelArgs* a, int64_t begin, int64_t end, int64_t T, int64_t S, int64_t C,
                                   int64_t H, int64_t layer, int64_t n_layer) {
    const float* qkv = (const float*)a->p[0];
    const int32_t* positions = (const int32_t*)a->p[2];
    const int32_t* slots = (const int32_t*)a->p[3];
    float* out = (float*)a->p[4];
    const int64_t D = C / H;
    for (int64_t task = begin; task < end; ++task) {
        int64_t h = task / T, t = task % T;
        const float* q = qkv + t * 3 * C + h * D;
        const E* keys = kv_head<E>(a->p[1], slots[t], layer, 0, n_layer, S, C, h, D);
        for (int64_t s = 0; s < S; ++s) {
            float acc = 0.0f;
            if (s <= positions[t]) {
                for (int64_t d = 0; d < D; ++d) acc += q[d] * kv_get(keys + kv_key_offset<E>(s, d, D));
                acc *= kv_scale(keys, s, D);
            }
            out[(h * T + t) * S + s] = acc;
        }
    }
}
// The unfused attn_scores and attn_values share their entry points: one task per
// (head, row), the scalars (T, S, C, H, layer, n_layer, kv_type), ROWS<E> doing the tasks.
#define GPT2C_UNFUSED_ATTENTION_KERNEL(NAME, ROWS)                                                                  \
    GPT2C_KERNEL int64_t gpt2c_k_##NAME##_tasks(const KernelArgs* a, int64_t T, int64_t S, int64_t C, int64_t H,   \
                                                int64_t layer, int64_t n_layer, int64_t kv_type) {                 \
        return H * T;                                                                                               \
    }                                                                                                               \
    GPT2C_KERNEL void gpt2c_k_##NAME(const KernelArgs* a, int64_t begin, int64_t end, int64_t T, int64_t S,        \
                                     int64_t C, int64_t H, int64_t layer, int64_t n_layer, int64_t kv_type) {      \
        GPT2C_FOR_KV_ELEM(kv_type, ROWS, a, begin, end, T, S, C, H, layer, n_layer);                               \
    }
GPT2C_UNFUSED_ATTENTION_KERNEL(attn_scores, attn_scores_rows)

// p: x [H,T,S], positions [T], out [H,T,S]: -inf above the causal diagonal (s > positions[t]).
GPT2C_KERNEL int64_t gpt2c_k_causal_mask_tasks(const KernelArgs* a, int64_t H, int64_t T, int64_t S) { return H * T; }
GPT2C_KERNEL void gpt2c_k_causal_mask(const KernelArgs* a, int64_t begin, int64_t end, int64_t H, int64_t T, int64_t S) {
    const float* x = (const float*)a->p[0];
    const int32_t* positions = (const int32_t*)a->p[1];
    float* out = (float*)a->p[2];
    for (int64_t row = begin; row < end; ++row) {
        int64_t t = row % T;
        for (int64_t s = 0; s < S; ++s) out[row * S + s] = s > positions[t] ? -INFINITY : x[row * S + s];
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

// p: probs [H,T,S], cache, positions [T], slots [T], out [T,C]: row t's probabilities
// times its slot's values 0..positions[t]. One task per (row, head).
template <typename E>
GPT2C_INLINE void attn_values_rows(const KernelArgs* a, int64_t begin, int64_t end, int64_t T, int64_t S, int64_t C,
                                   int64_t H, int64_t layer, int64_t n_layer) {
    const float* probs = (const float*)a->p[0];
    const int32_t* positions = (const int32_t*)a->p[2];
    const int32_t* slots = (const int32_t*)a->p[3];
    float* out = (float*)a->p[4];
    const int64_t D = C / H;
    for (int64_t task = begin; task < end; ++task) {
        int64_t t = task / H, h = task % H;
        const E* values = kv_head<E>(a->p[1], slots[t], layer, 1, n_layer, S, C, h, D);
        float* o = out + t * C + h * D;
        for (int64_t d = 0; d < D; ++d) o[d] = 0.0f;
        const float* p = probs + (h * T + t) * S;
        for (int64_t s = 0; s <= positions[t]; ++s) {
            const E* v = values + kv_value_offset<E>(s, D);
            const float weight = p[s] * kv_scale(values, s, D);
            for (int64_t d = 0; d < D; ++d) o[d] += weight * kv_get(v + d);
        }
    }
}
GPT2C_UNFUSED_ATTENTION_KERNEL(attn_values, attn_values_rows)

// Fused attention: p: qkv [T,3C], cache (keys), cache (values), positions [T], slots [T], out [T,C].
// One task per (group of kRowGroup query rows, head); a group is cut where the
// slot changes or positions stop being consecutive, and each run of rows of one
// sequence (a prompt chunk, or a decode row) is attended as below, with `past`
// chosen so that row t is at position past + t. Keys are visited in tiles of
// kKeyTile, blocks of kRowBlock rows at a time (one row in decode). A row's
// score for a key is one chain of FMAs over d in order, computed 16 keys at a
// time across vector lanes straight from the cache's key tiles (dimension d of
// 16 positions is one load), so no transposes and no horizontal sums are
// needed; an online softmax (running max and sum rescale the partial output,
// kept in `out`) means the scores are never materialized. A row's result
// depends only on its own query and its keys, visited tile by tile in a fixed
// order: prefill, decode and any thread count agree bit for bit.
static const int64_t kKeyTile = 64;  // keys per tile: 4 vectors
static const int64_t kKeyVectors = kKeyTile / 16;
static const int64_t kRowBlock = 4;  // query rows whose scores live in registers together
static const int64_t kRowGroup = 32;  // query rows per task
static const int64_t kOneRowMaxD = 128;  // head widths whose whole output row a decode step keeps in registers
static_assert(kKeyTile % kKvTile == 0 && kKvTile == 16, "a key vector is one tile of the cache");

// Scores of rows q[0..R-1] against the n keys of the tile at s0 (head base `keys`).
// Key vectors wholly past n are left 0 (their positions may lie beyond the cache).
template <int R, typename E>
GPT2C_INLINE void tile_scores(vf16 (*s)[kKeyVectors], const float* const* q, const E* keys, int64_t D, int64_t s0,
                              int64_t n) {
    if (n == kKeyTile) {
        // All four vectors, d outermost: four independent FMA chains even for one row (decode),
        // where one chain at a time would wait on each FMA's latency.
        const E* tile = keys + kv_key_offset<E>(s0, 0, D);
        const int64_t W = kv_head_width<E>(D);
        for (int64_t d = 0; d < D; ++d)
            for (int64_t v = 0; v < kKeyVectors; ++v) {
                const vf16 k = kv_load16(tile + v * kKvTile * W + d * kKvTile);
                for (int64_t i = 0; i < R; ++i) s[i][v] += q[i][d] * k;
            }
    } else {
        for (int64_t v = 0; v < kKeyVectors && v * 16 < n; ++v) {
            const E* tile = keys + kv_key_offset<E>(s0 + v * 16, 0, D);
            for (int64_t d = 0; d < D; ++d) {
                const vf16 k = kv_load16(tile + d * kKvTile);
                for (int64_t i = 0; i < R; ++i) s[i][v] += q[i][d] * k;
            }
        }
    }
    if constexpr (kv_scaled<E>)
        for (int64_t v = 0; v < kKeyVectors && v * 16 < n; ++v) {
            const vf16 scales = kv_scales16(keys, s0 + v * 16, D);
            for (int64_t i = 0; i < R; ++i) s[i][v] *= scales;
        }
}

// Given the scores of rows r0..r0+rows-1 (rows <= R) against the tile of n
// keys at s0: the online softmax update and out rows = out rows * correction + P.V
// (`values`: head h's values).
template <int R, typename E>
GPT2C_INLINE void softmax_and_values(vf16 (*s)[kKeyVectors], const E* values, float* out, int64_t C, int64_t D,
                                     int64_t h, int64_t past, int64_t r0, int64_t rows, int64_t s0, int64_t n,
                                     float scale, float* running_max, float* running_sum) {
    vf16 lane;
    for (int j = 0; j < 16; ++j) lane[j] = (float)j;
    float p[R][kKeyTile] __attribute__((aligned(64)));
    float correction[R];
    for (int64_t i = 0; i < R; ++i) {
        // Row r0 + i sees keys up to past + r0 + i; the tile holds n keys.
        const float last = (float)((past + r0 + i - s0 < n - 1) ? past + r0 + i - s0 : n - 1);
        vf16 tile_max = (vf16)(-INFINITY);
        for (int64_t v = 0; v < kKeyVectors; ++v) {
            s[i][v] = lane + (float)(v * 16) <= last ? s[i][v] * scale : (vf16)(-INFINITY);
            tile_max = __builtin_elementwise_max(tile_max, s[i][v]);
        }
        const float tile_peak = hmax16(tile_max);
        const float new_max = tile_peak > running_max[i] ? tile_peak : running_max[i];
        vf16 sum = (vf16)0.0f;
        for (int64_t v = 0; v < kKeyVectors; ++v) {
            vf16 e = fast_exp16(s[i][v] - new_max);
            sum += e;
            store16(p[i] + v * 16, e);
        }
        correction[i] = fast_exp(running_max[i] - new_max);
        running_sum[i] = running_sum[i] * correction[i] + hsum16(sum);
        running_max[i] = new_max;
        // The softmax sums the probabilities; the values take them times their own scales.
        if constexpr (kv_scaled<E>)
            for (int64_t v = 0; v < kKeyVectors && v * 16 < n; ++v)
                store16(p[i] + v * 16, load16(p[i] + v * 16) * kv_scales16(values, s0 + v * 16, D));
    }
    if (R == 1 && D <= kOneRowMaxD) {
        // One row (decode): the whole output row in registers and the dimensions innermost, so
        // each key's values are one contiguous read and D/16 independent FMA chains run at once.
        // Every lane still sums over the keys in order: the same bits as the loop below.
        const int64_t nd = (D + 15) / 16;
        vf16 o[kOneRowMaxD / 16];
        float* row = out + r0 * C + h * D;
        for (int64_t dv = 0; dv < nd; ++dv) {
            o[dv] = (vf16)0.0f;
            for (int64_t c = 0; c < 16 && dv * 16 + c < D; ++c) o[dv][c] = row[dv * 16 + c] * correction[0];
        }
        for (int64_t j = 0; j < n; ++j) {
            const E* vrow = values + kv_value_offset<E>(s0 + j, D);
            for (int64_t dv = 0; dv < nd; ++dv) {
                vf16 vv = (vf16)0.0f;
                if (dv * 16 + 16 <= D) vv = kv_load16(vrow + dv * 16);
                else for (int64_t c = 0; dv * 16 + c < D; ++c) vv[c] = kv_get(vrow + dv * 16 + c);
                o[dv] += p[0][j] * vv;
            }
        }
        for (int64_t dv = 0; dv < nd; ++dv)
            for (int64_t c = 0; c < 16 && dv * 16 + c < D; ++c) row[dv * 16 + c] = o[dv][c];
        return;
    }
    for (int64_t d0 = 0; d0 < D; d0 += 16) {
        const int64_t width = D - d0 < 16 ? D - d0 : 16;
        vf16 o[R];
        for (int64_t i = 0; i < R; ++i) {
            o[i] = (vf16)0.0f;
            if (i < rows)
                for (int64_t c = 0; c < width; ++c) o[i][c] = out[(r0 + i) * C + h * D + d0 + c] * correction[i];
        }
        for (int64_t j = 0; j < n; ++j) {
            const E* vrow = values + kv_value_offset<E>(s0 + j, D) + d0;
            vf16 vv = (vf16)0.0f;
            if (width == 16) vv = kv_load16(vrow);
            else for (int64_t c = 0; c < width; ++c) vv[c] = kv_get(vrow + c);
            for (int64_t i = 0; i < R; ++i) o[i] += p[i][j] * vv;
        }
        for (int64_t i = 0; i < rows; ++i)
            for (int64_t c = 0; c < width; ++c) out[(r0 + i) * C + h * D + d0 + c] = o[i][c];
    }
}

// Rows r0..r0+rows-1 (rows <= R) of head h against the tile of n keys at s0.
template <int R, typename E>
GPT2C_INLINE void attend_tile(const float* qkv, const E* keys, const E* values, float* out, int64_t C, int64_t D,
                              int64_t h, int64_t past, int64_t r0, int64_t rows, int64_t s0, int64_t n, float scale,
                              float* running_max, float* running_sum) {
    const float* q[R];
    for (int64_t i = 0; i < R; ++i) q[i] = qkv + (r0 + (i < rows ? i : 0)) * 3 * C + h * D;
    vf16 s[R][kKeyVectors];
    for (int64_t i = 0; i < R; ++i)
        for (int64_t v = 0; v < kKeyVectors; ++v) s[i][v] = (vf16)0.0f;
    tile_scores<R, E>(s, q, keys, D, s0, n);
    softmax_and_values<R, E>(s, values, out, C, D, h, past, r0, rows, s0, n, scale, running_max, running_sum);
}

// Rows t0..t1-1 of head h, consecutive positions past + t0 .. past + t1 - 1 of one sequence whose
// head-h keys and values start at `keys` and `values`.
template <typename E>
GPT2C_INLINE void attend_run(const float* qkv, const E* keys, const E* values, float* out, int64_t C, int64_t D,
                             int64_t h, int64_t past, int64_t t0, int64_t t1, float scale, float* running_max,
                             float* running_sum) {
    for (int64_t t = t0; t < t1; ++t) {
        for (int64_t d = 0; d < D; ++d) out[t * C + h * D + d] = 0.0f;
        running_max[t - t0] = -INFINITY;
        running_sum[t - t0] = 0.0f;
    }
    const int64_t visible_end = past + t1;  // the run's last row sees keys 0..past+t1-1
    for (int64_t s0 = 0; s0 < visible_end; s0 += kKeyTile) {
        const int64_t n = visible_end - s0 < kKeyTile ? visible_end - s0 : kKeyTile;
        if (t1 - t0 < kRowBlock) {  // decode: a row at a time, no rows computed for nothing
            for (int64_t r = t0; r < t1; ++r)
                if (s0 <= past + r)
                    attend_tile<1, E>(qkv, keys, values, out, C, D, h, past, r, 1, s0, n, scale,
                                      running_max + (r - t0), running_sum + (r - t0));
            continue;
        }
        for (int64_t r0 = t0; r0 < t1; r0 += kRowBlock) {
            const int64_t rows = t1 - r0 < kRowBlock ? t1 - r0 : kRowBlock;
            if (s0 > past + r0 + rows - 1) continue;  // no row of this block sees the tile yet
            attend_tile<kRowBlock, E>(qkv, keys, values, out, C, D, h, past, r0, rows, s0, n, scale,
                                      running_max + (r0 - t0), running_sum + (r0 - t0));
        }
    }
    for (int64_t t = t0; t < t1; ++t) {
        const float inv = 1.0f / running_sum[t - t0];
        for (int64_t d = 0; d < D; ++d) out[t * C + h * D + d] *= inv;
    }
}

template <typename E>
GPT2C_INLINE void attention_groups(const KernelArgs* a, int64_t begin, int64_t end, int64_t T, int64_t S, int64_t C,
                                   int64_t H, float scale, int64_t layer, int64_t n_layer) {
    const float* qkv = (const float*)a->p[0];
    const int32_t* positions = (const int32_t*)a->p[3];
    const int32_t* slots = (const int32_t*)a->p[4];
    float* out = (float*)a->p[5];
    const int64_t D = C / H;
    float running_max[kRowGroup], running_sum[kRowGroup];
    for (int64_t task = begin; task < end; ++task) {
        const int64_t h = task % H, g0 = (task / H) * kRowGroup;
        const int64_t g1 = g0 + kRowGroup < T ? g0 + kRowGroup : T;
        for (int64_t t0 = g0, t1; t0 < g1; t0 = t1) {
            for (t1 = t0 + 1; t1 < g1 && slots[t1] == slots[t0] && positions[t1] == positions[t1 - 1] + 1; ++t1) {}
            const E* keys = kv_head<E>(a->p[1], slots[t0], layer, 0, n_layer, S, C, h, D);
            const E* values = kv_head<E>(a->p[1], slots[t0], layer, 1, n_layer, S, C, h, D);
            attend_run(qkv, keys, values, out, C, D, h, (int64_t)positions[t0] - t0, t0, t1, scale, running_max,
                       running_sum);
        }
    }
}
GPT2C_KERNEL int64_t gpt2c_k_attention_tasks(const KernelArgs* a, int64_t T, int64_t S, int64_t C, int64_t H,
                                             float scale, int64_t layer, int64_t n_layer, int64_t kv_type) {
    return H * ((T + kRowGroup - 1) / kRowGroup);
}
GPT2C_KERNEL void gpt2c_k_attention(const KernelArgs* a, int64_t begin, int64_t end, int64_t T, int64_t S, int64_t C,
                                    int64_t H, float scale, int64_t layer, int64_t n_layer, int64_t kv_type) {
    GPT2C_FOR_KV_ELEM(kv_type, attention_groups, a, begin, end, T, S, C, H, scale, layer, n_layer);
}
