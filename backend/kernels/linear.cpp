// backend/kernels/linear.cpp - projections (x @ W with a fused epilogue) and their weight transforms.
//
// Work is split by blocks of output columns, so each thread streams its own
// slice of W once per call; every output element sums over k in the same
// order whatever the split.
#include "linear_panels.h"

// Packed weight storage (wdtype scalar): float32, bfloat16, int8 with
// per-column float32 scales in the panel's first kInt8ScaleRows rows, or q4:
// per group of kQ4Group rows, nr bf16 scales then kQ4Group/2 rows of nr bytes,
// byte j of row r holding column j of rows 2r (low nibble) and 2r+1 (high),
// value (q - 8) * scale (docs/Q4_WEIGHTS.md). All four are multiplied in
// float32: values widen as they are loaded, so only the bytes streamed per
// token shrink. A q4 value times its bf16 scale is exact in float32, so a q4
// projection computes exactly what float32 weights of those values would.
// (bf16 k-pairs multiplied by the CPU's bf16 dot product are linear_bf16dot.cpp's.)
enum WeightType { kF32 = 0, kBF16 = 1, kInt8 = 2, kQ4 = 3 };

template <int WT>
struct FloatPanels {
    typedef float Input;
    static const int64_t k_step = WT == kQ4 ? kQ4Group : 1;  // q4: k blocks start on a group
    static const int64_t gemv_panels = kGemvPanels;
    static const bool k_row_loop = false;
    static int64_t bytes(int64_t K, int64_t nr) {
        return WT == kF32 ? K * nr * 4 : WT == kBF16 ? K * nr * 2 : WT == kQ4 ? q4_panel_bytes(K, nr) : (K + kInt8ScaleRows) * nr;
    }
    // q4: the average over a group, exact at group boundaries (where k blocks start).
    static int64_t row_bytes(int64_t nr) {
        return WT == kF32 ? nr * 4 : WT == kBF16 ? nr * 2 : WT == kQ4 ? q4_group_bytes(nr) / kQ4Group : nr;
    }
    static const char* values(const char* panel, int64_t nr) { return WT == kInt8 ? panel + kInt8ScaleRows * nr : panel; }
    static const float* scales(const char* panel) { return WT == kInt8 ? (const float*)panel : nullptr; }
    static int64_t lda(int64_t K) { return K; }
    static float total(float acc, const float* x_row, int64_t K, const char* panel, int64_t nr, int64_t j) { return acc; }

    // 16 consecutive values of row k, as float32 (int8: not yet scaled; q4: scaled).
    static vf16 load(const char* values, int64_t k, int64_t nr, int v) {
        if (WT == kF32) return load16((const float*)values + k * nr + v * 16);
        if (WT == kQ4) {
            const char* group = values + (k / kQ4Group) * q4_group_bytes(nr);
            vu16x16 s;
            __builtin_memcpy(&s, group + v * 32, sizeof s);
            const vf16 scale = (vf16)(__builtin_convertvector(s, vu32x16) << 16);
            vu8x16 b;
            __builtin_memcpy(&b, group + 2 * nr + (k % kQ4Group) / 2 * nr + v * 16, sizeof b);
            const vu8x16 nibbles = k % 2 ? b >> 4 : b & (unsigned char)15;
            return __builtin_convertvector(__builtin_convertvector(nibbles, vi16) - 8, vf16) * scale;
        }
        if (WT == kBF16) {
            vu16x16 h;
            __builtin_memcpy(&h, values + (k * nr + v * 16) * 2, sizeof h);
            vu32x16 w = __builtin_convertvector(h, vu32x16) << 16;
            return (vf16)w;
        }
        vi8x16 q;
        __builtin_memcpy(&q, values + k * nr + v * 16, sizeof q);
        return __builtin_convertvector(q, vf16);
    }

    // C[MR, NV*16] (+)= A[MR, kc] * B[kc, NV*16] where B is a panel slice and A
    // has row stride lda. Accumulators live in registers: MR * NV vectors
    // (AVX-512: 8 * 2 = 16 of the 32 zmm registers).
    // PF: prefetch the panel ahead (the first row block, which streams it from memory).
    template <int MR, int NV, bool PF>
    static GPT2C_MEMBER_INLINE void micro(const float* A, int64_t lda, const char* B, int64_t kc, float* C, int64_t ldc,
                                   bool accumulate) {
        const int64_t nr = NV * 16;
        vf16 acc[MR][NV];
        for (int m = 0; m < MR; ++m)
            for (int v = 0; v < NV; ++v) acc[m][v] = accumulate ? load16(C + m * ldc + v * 16) : (vf16)0.0f;
        if constexpr (WT == kQ4) {
            micro_q4<MR, NV, PF>(A, lda, B, kc, acc);
        } else {
            for (int64_t k = 0; k < kc; ++k) {
                if (PF) prefetch_ahead(B + k * row_bytes(nr), row_bytes(nr));
                vf16 b[NV];
                for (int v = 0; v < NV; ++v) b[v] = load(B, k, nr, v);
                for (int m = 0; m < MR; ++m) {
                    vf16 a = A[m * lda + k];
                    for (int v = 0; v < NV; ++v) acc[m][v] += a * b[v];
                }
            }
        }
        for (int m = 0; m < MR; ++m)
            for (int v = 0; v < NV; ++v) store16(C + m * ldc + v * 16, acc[m][v]);
    }

    // micro's loop over k for q4 (B starts on a group): each group's scales are
    // widened once, not per row; the weights are the values load() gives.
    template <int MR, int NV, bool PF>
    static GPT2C_MEMBER_INLINE void micro_q4(const float* A, int64_t lda, const char* B, int64_t kc, vf16 (*acc)[NV]) {
        const int64_t nr = NV * 16;
        for (int64_t g0 = 0; g0 < kc; g0 += kQ4Group) {
            const char* group = B + g0 / kQ4Group * q4_group_bytes(nr);
            vf16 scale[NV];
            for (int v = 0; v < NV; ++v) {
                vu16x16 s;
                __builtin_memcpy(&s, group + v * 32, sizeof s);
                scale[v] = (vf16)(__builtin_convertvector(s, vu32x16) << 16);
            }
            const int64_t rows = kc - g0 < kQ4Group ? kc - g0 : kQ4Group;
            for (int64_t r = 0; r < rows; ++r) {
                const int64_t k = g0 + r;
                if (PF) prefetch_ahead(B + k * row_bytes(nr), row_bytes(nr));
                vf16 b[NV];
                for (int v = 0; v < NV; ++v) {
                    vu8x16 q;
                    __builtin_memcpy(&q, group + 2 * nr + r / 2 * nr + v * 16, sizeof q);
                    const vu8x16 nibbles = r % 2 ? q >> 4 : q & (unsigned char)15;
                    b[v] = __builtin_convertvector(__builtin_convertvector(nibbles, vi16) - 8, vf16) * scale[v];
                }
                for (int m = 0; m < MR; ++m) {
                    vf16 a = A[m * lda + k];
                    for (int v = 0; v < NV; ++v) acc[m][v] += a * b[v];
                }
            }
        }
    }

    // y[g] = x[0, K] * panel g for G panels, the decode case (one row): the
    // same chain over k per column as micro<1, NV>, G panels interleaved so
    // G * NV chains and G streams are in flight; a software prefetch runs
    // ~2 KB ahead in each stream.
    template <int NV, int G>
    static GPT2C_MEMBER_INLINE void gemv(const float* x, int64_t K, const char* const* values, float (*y)[NV * 16]) {
        if constexpr (WT == kQ4) return gemv_q4<NV, G>(x, K, values, y);
        const int64_t nr = NV * 16;
        vf16 acc[G][NV];
        for (int g = 0; g < G; ++g)
            for (int v = 0; v < NV; ++v) acc[g][v] = (vf16)0.0f;
        for (int64_t k = 0; k < K; ++k) {
            if (k % 4 == 0)
                for (int g = 0; g < G; ++g) {
                    __builtin_prefetch(values[g] + (k + 32) * row_bytes(nr));
                    __builtin_prefetch(values[g] + (k + 32) * row_bytes(nr) + 64);
                }
            const vf16 xv = x[k];
            for (int g = 0; g < G; ++g)
                for (int v = 0; v < NV; ++v) acc[g][v] += xv * load(values[g], k, nr, v);
        }
        for (int g = 0; g < G; ++g)
            for (int v = 0; v < NV; ++v) store16(y[g] + v * 16, acc[g][v]);
    }

    // gemv for q4, group by group: each group's scales are widened once (not per
    // row), and one 16-byte load per row pair gives both rows' nibbles. The G
    // panels' NV column vectors go through a group kQ4Chunk at a time, so their
    // accumulators, scales and offsets stay in registers. Every weight is still
    // (q - 8) * scale, exactly (fma(q, scale, -8 * scale) rounds nothing), and
    // each output the same chain of multiply-adds over k as in micro, so decode
    // still equals prefill bit for bit.
    template <int NV, int G>
    static GPT2C_MEMBER_INLINE void gemv_q4(const float* x, int64_t K, const char* const* values,
                                            float (*y)[NV * 16]) {
        const int64_t nr = NV * 16;
        const int64_t group_bytes = q4_group_bytes(nr);
        const int C = G * NV;  // column vectors, c = g * NV + v
        const int kQ4Chunk = 8;
        vf16 acc[C];
        for (int c = 0; c < C; ++c) acc[c] = (vf16)0.0f;
        for (int64_t k0 = 0; k0 < K; k0 += kQ4Group) {
            const int64_t rows = K - k0 < kQ4Group ? K - k0 : kQ4Group;
            const int64_t group_offset = k0 / kQ4Group * group_bytes;
            for (int g = 0; g < G; ++g)
                for (int64_t off = 0; off < group_bytes; off += 64)
                    __builtin_prefetch(values[g] + group_offset + group_bytes + off);
            for (int c0 = 0; c0 < C; c0 += kQ4Chunk) {
                const int n = C - c0 < kQ4Chunk ? C - c0 : kQ4Chunk;
                vf16 a[kQ4Chunk], scale[kQ4Chunk], offset[kQ4Chunk];
                const char* data[kQ4Chunk];
                for (int i = 0; i < n; ++i) {
                    const int g = (c0 + i) / NV, v = (c0 + i) % NV;
                    const char* group = values[g] + group_offset;
                    vu16x16 s;
                    __builtin_memcpy(&s, group + v * 32, sizeof s);
                    scale[i] = (vf16)(__builtin_convertvector(s, vu32x16) << 16);
                    offset[i] = scale[i] * -8.0f;
                    data[i] = group + 2 * nr + v * 16;
                    a[i] = acc[c0 + i];
                }
                for (int64_t r = 0; r < rows; r += 2) {
                    const vf16 x0 = x[k0 + r];
                    const bool pair = r + 1 < rows;
                    const vf16 x1 = pair ? x[k0 + r + 1] : 0.0f;
                    for (int i = 0; i < n; ++i) {
                        vu8x16 b;
                        __builtin_memcpy(&b, data[i] + r / 2 * nr, sizeof b);
                        const vi16 wide = __builtin_convertvector(b, vi16);
                        const vf16 w0 = __builtin_elementwise_fma(__builtin_convertvector(wide & 15, vf16), scale[i],
                                                                  offset[i]);
                        a[i] += x0 * w0;
                        if (pair) {
                            const vf16 w1 = __builtin_elementwise_fma(__builtin_convertvector(wide >> 4, vf16),
                                                                      scale[i], offset[i]);
                            a[i] += x1 * w1;
                        }
                    }
                }
                for (int i = 0; i < n; ++i) acc[c0 + i] = a[i];
            }
        }
        for (int c = 0; c < C; ++c) store16(y[c / NV] + (c % NV) * 16, acc[c]);
    }
};

// p: x [M,K], W (layout), bias [N] | null, residual [M,N] | null, out [M,N].
// Packed weights ("panels", nr = 16, 32 or 48; f32, bf16 or int8) take the
// register-blocked path; kn/nk (unpacked, -O0) take the plain loops.
GPT2C_KERNEL int64_t gpt2c_k_linear_tasks(const KernelArgs* a, int64_t M, int64_t K, int64_t N, int64_t layout,
                                          int64_t nr, int64_t wdtype, int64_t mr, int64_t kc, int64_t has_bias,
                                          int64_t act, int64_t has_residual) {
    if (layout == kLayoutPanels) return panel_tasks(M, N, nr, kGemvPanels);  // every FloatPanels' gemv_panels
    return (N + kColumnBlock - 1) / kColumnBlock;
}
GPT2C_KERNEL void gpt2c_k_linear(const KernelArgs* a, int64_t begin, int64_t end, int64_t M, int64_t K, int64_t N,
                                 int64_t layout, int64_t nr, int64_t wdtype, int64_t mr, int64_t kc, int64_t has_bias,
                                 int64_t act, int64_t has_residual) {
    if (layout == kLayoutPanels) {
        if (wdtype == kQ4)
            return linear_panels_nr<FloatPanels<kQ4>>(a, begin, end, M, K, N, nr, mr, kc, has_bias, act, has_residual);
        if (wdtype == kBF16)
            return linear_panels_nr<FloatPanels<kBF16>>(a, begin, end, M, K, N, nr, mr, kc, has_bias, act, has_residual);
        if (wdtype == kInt8)
            return linear_panels_nr<FloatPanels<kInt8>>(a, begin, end, M, K, N, nr, mr, kc, has_bias, act, has_residual);
        return linear_panels_nr<FloatPanels<kF32>>(a, begin, end, M, K, N, nr, mr, kc, has_bias, act, has_residual);
    }
    const float* x = (const float*)a->p[0];
    const float* w = (const float*)a->p[1];
    const float* bias = (const float*)a->p[2];
    const float* residual = (const float*)a->p[3];
    float* out = (float*)a->p[4];
    int64_t n_begin = begin * kColumnBlock;
    int64_t n_end = end * kColumnBlock < N ? end * kColumnBlock : N;
    for (int64_t m = 0; m < M; ++m) {
        const float* xm = x + m * K;
        if (layout == kLayoutNK) {
            for (int64_t n = n_begin; n < n_end; ++n) {
                const float* wn = w + n * K;
                float acc = 0.0f;
                for (int64_t k = 0; k < K; ++k) acc += xm[k] * wn[k];
                out[m * N + n] = epilogue(acc, bias, residual, m, n, N, has_bias, act, has_residual);
            }
        } else {
            // Accumulate a row of the block, k outermost, so W is read along n.
            float acc[kColumnBlock];
            for (int64_t nb = n_begin; nb < n_end; nb += kColumnBlock) {
                int64_t width = n_end - nb < kColumnBlock ? n_end - nb : kColumnBlock;
                for (int64_t j = 0; j < width; ++j) acc[j] = 0.0f;
                for (int64_t k = 0; k < K; ++k) {
                    float xv = xm[k];
                    for (int64_t j = 0; j < width; ++j) acc[j] += xv * weight_at(w, k, nb + j, K, N, layout, nr);
                }
                for (int64_t j = 0; j < width; ++j)
                    out[m * N + nb + j] = epilogue(acc[j], bias, residual, m, nb + j, N, has_bias, act, has_residual);
            }
        }
    }
}

// p: W (layout), gamma [K], out (same layout): W'[k, n] = gamma[k] W[k, n].
GPT2C_KERNEL int64_t gpt2c_k_fold_ln_weight_tasks(const KernelArgs* a, int64_t K, int64_t N, int64_t layout) {
    return layout == kLayoutKN ? K : N;
}
GPT2C_KERNEL void gpt2c_k_fold_ln_weight(const KernelArgs* a, int64_t begin, int64_t end, int64_t K, int64_t N,
                                         int64_t layout) {
    const float* w = (const float*)a->p[0];
    const float* gamma = (const float*)a->p[1];
    float* out = (float*)a->p[2];
    for (int64_t i = begin; i < end; ++i) {
        if (layout == kLayoutKN) {
            for (int64_t n = 0; n < N; ++n) out[i * N + n] = w[i * N + n] * gamma[i];
        } else {
            for (int64_t k = 0; k < K; ++k) out[i * K + k] = w[i * K + k] * gamma[k];
        }
    }
}

// p: W (layout), beta [K], bias [N] | null, out [N]: b'[n] = sum_k beta[k] W[k, n] + b[n].
// One task per block of kColumnBlock columns. Sums run in double (once per
// load: spend the precision), in an order fixed by K alone: for kn, k is the
// outer loop so W is read along its rows; for nk each column's dot product
// keeps 8 partial sums (k mod 8), so it vectorizes instead of waiting on one
// chain of dependent adds (the tied LM head: 50257 x 768).
GPT2C_KERNEL int64_t gpt2c_k_fold_ln_bias_tasks(const KernelArgs* a, int64_t K, int64_t N, int64_t layout,
                                                int64_t has_bias) {
    return (N + kColumnBlock - 1) / kColumnBlock;
}
GPT2C_KERNEL void gpt2c_k_fold_ln_bias(const KernelArgs* a, int64_t begin, int64_t end, int64_t K, int64_t N,
                                       int64_t layout, int64_t has_bias) {
    const float* w = (const float*)a->p[0];
    const float* beta = (const float*)a->p[1];
    const float* bias = (const float*)a->p[2];
    float* out = (float*)a->p[3];
    for (int64_t block = begin; block < end; ++block) {
        const int64_t n0 = block * kColumnBlock, width = N - n0 < kColumnBlock ? N - n0 : kColumnBlock;
        double acc[kColumnBlock];
        for (int64_t j = 0; j < width; ++j) acc[j] = 0.0;
        if (layout == kLayoutKN) {
            for (int64_t k = 0; k < K; ++k)
                for (int64_t j = 0; j < width; ++j) acc[j] += (double)beta[k] * (double)w[k * N + n0 + j];
        } else {
            for (int64_t j = 0; j < width; ++j) {
                const float* row = w + (n0 + j) * K;
                double partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                int64_t k = 0;
                for (; k + 8 <= K; k += 8)
                    for (int u = 0; u < 8; ++u) partial[u] += (double)beta[k + u] * (double)row[k + u];
                for (; k < K; ++k) partial[k % 8] += (double)beta[k] * (double)row[k];
                acc[j] = ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
                         ((partial[4] + partial[5]) + (partial[6] + partial[7]));
            }
        }
        for (int64_t j = 0; j < width; ++j) out[n0 + j] = (float)(acc[j] + (has_bias ? (double)bias[n0 + j] : 0.0));
    }
}

// p: W (layout kn or nk), gamma [K] | null, out: ceil(N/nr) column panels of
// K rows x nr, zero-padded, of diag(gamma) W when gamma is given (a layer norm
// folded into the projection, in the same pass that packs), stored as
// float32, bfloat16 (round to nearest even), int8 (per-column scale
// absmax/127 in the panel's first kInt8ScaleRows rows) or q4 (per group of 32
// rows and column, like llama.cpp's q4_0: the value of largest magnitude m
// gives the scale d = bf16(m / -8), values q = clamp(floor(w / d + 8.5), 0, 15),
// so m itself is exactly -8 * d up to d's rounding). `interleave` rows of a
// column are adjacent, for the dot-product kernels: 2 (bf16 k-pairs,
// [ceil(K/2)][nr][2], an odd K gets a zero row) or 4 (k-quads: int8 as
// unsigned bytes w + 128, [ceil(K/4)][nr][4] after the scales, zero rows past
// K; q4 per group as 4 quad-pairs [4][nr][4 bytes], byte b of column j holding
// row 8i + b in its low nibble and 8i + 4 + b in its high one); 1 otherwise.

GPT2C_KERNEL int64_t gpt2c_k_pack_weight_tasks(const KernelArgs* a, int64_t K, int64_t N, int64_t layout, int64_t nr,
                                               int64_t wdtype, int64_t has_gamma, int64_t interleave) {
    return (N + nr - 1) / nr;
}
GPT2C_KERNEL void gpt2c_k_pack_weight(const KernelArgs* a, int64_t begin, int64_t end, int64_t K, int64_t N,
                                      int64_t layout, int64_t nr, int64_t wdtype, int64_t has_gamma, int64_t interleave) {
    const float* w = (const float*)a->p[0];
    const float* gamma = (const float*)a->p[1];
    char* out = (char*)a->p[2];
    const bool k_pairs = interleave == 2, k_quads = interleave == 4;
    const int64_t rows = (K + interleave - 1) / interleave * interleave;  // q4 pads to whole groups anyway
    const int64_t panel_bytes = wdtype == kF32    ? K * nr * 4
                                : wdtype == kBF16 ? rows * nr * 2
                                : wdtype == kQ4   ? q4_panel_bytes(K, nr)
                                                  : (rows + kInt8ScaleRows) * nr;
    float tile[64] __attribute__((aligned(64)));  // one row k of the panel, scaled (nr <= 64)
    float inv_scale[64];
    for (int64_t panel = begin; panel < end; ++panel) {
        char* dst = out + panel * panel_bytes;
        const int64_t n0 = panel * nr, width = N - n0 < nr ? N - n0 : nr;
        // The panel's row k: W[k, n0..n0+width) times gamma[k], zero beyond N.
        auto load_row = [&](int64_t k) {
            const float g = has_gamma ? gamma[k] : 1.0f;
            for (int64_t j = 0; j < nr; ++j)
                tile[j] = j < width ? weight_at(w, k, n0 + j, K, N, layout, 1) * g : 0.0f;
        };
        if (wdtype == kQ4) {
            for (int64_t g0 = 0; g0 < K; g0 += kQ4Group) {
                char* group = dst + g0 / kQ4Group * q4_group_bytes(nr);
                const int64_t group_rows = K - g0 < kQ4Group ? K - g0 : kQ4Group;
                float extreme[64], inv[64];  // per column: the value of largest magnitude, 1 / scale
                for (int64_t j = 0; j < nr; ++j) extreme[j] = 0.0f;
                for (int64_t r = 0; r < group_rows; ++r) {
                    load_row(g0 + r);
                    for (int64_t j = 0; j < nr; ++j)
                        if (__builtin_fabsf(tile[j]) > __builtin_fabsf(extreme[j])) extreme[j] = tile[j];
                }
                for (int64_t j = 0; j < nr; ++j) {
                    const uint16_t scale = to_bf16(extreme[j] / -8.0f);
                    ((uint16_t*)group)[j] = scale;
                    uint32_t bits = (uint32_t)scale << 16;
                    float d;
                    __builtin_memcpy(&d, &bits, 4);
                    inv[j] = d != 0.0f ? 1.0f / d : 0.0f;
                }
                unsigned char* data = (unsigned char*)group + 2 * nr;
                for (int64_t i = 0; i < kQ4Group / 2 * nr; ++i) data[i] = 0x88;  // rows past K: q = 8, value 0
                for (int64_t r = 0; r < group_rows; ++r) {
                    load_row(g0 + r);
                    for (int64_t j = 0; j < nr; ++j) {
                        float q = __builtin_floorf(tile[j] * inv[j] + 8.5f);
                        const unsigned char nibble = (unsigned char)(q < 0.0f ? 0.0f : q > 15.0f ? 15.0f : q);
                        // k-quads: rows 8i..8i+3 in the low nibbles of 4 bytes, 8i+4..8i+7 in their high ones
                        unsigned char* byte = k_quads ? data + ((r / 8) * nr + j) * 4 + r % 4 : data + r / 2 * nr + j;
                        const bool high = k_quads ? r % 8 >= 4 : r % 2;
                        *byte = high ? (unsigned char)((*byte & 0x0f) | (nibble << 4)) : (unsigned char)((*byte & 0xf0) | nibble);
                    }
                }
            }
            continue;
        }
        if (wdtype == kInt8) {
            float absmax[64];
            for (int64_t j = 0; j < nr; ++j) absmax[j] = 0.0f;
            for (int64_t k = 0; k < K; ++k) {
                load_row(k);
                for (int64_t j = 0; j < nr; ++j) {
                    float v = tile[j] < 0.0f ? -tile[j] : tile[j];
                    absmax[j] = v > absmax[j] ? v : absmax[j];
                }
            }
            for (int64_t j = 0; j < nr; ++j) {
                float scale = absmax[j] / 127.0f;
                ((float*)dst)[j] = scale;
                inv_scale[j] = scale > 0.0f ? 1.0f / scale : 0.0f;
            }
        }
        for (int64_t k = 0; k < K; ++k) {
            load_row(k);
            if (wdtype == kF32) {
                for (int64_t j = 0; j < nr; ++j) ((float*)dst)[k * nr + j] = tile[j];
            } else if (wdtype == kBF16 && k_pairs) {
                for (int64_t j = 0; j < nr; ++j) ((uint16_t*)dst)[((k / 2) * nr + j) * 2 + k % 2] = to_bf16(tile[j]);
            } else if (wdtype == kBF16) {
                for (int64_t j = 0; j < nr; ++j) ((uint16_t*)dst)[k * nr + j] = to_bf16(tile[j]);
            } else {
                signed char* q = (signed char*)(dst + kInt8ScaleRows * nr);
                for (int64_t j = 0; j < nr; ++j) {
                    float v = tile[j] * inv_scale[j];
                    signed char value = (signed char)__builtin_roundf(v > 127.0f ? 127.0f : (v < -127.0f ? -127.0f : v));
                    if (k_quads) ((unsigned char*)q)[((k / 4) * nr + j) * 4 + k % 4] = (unsigned char)(value + 128);
                    else q[k * nr + j] = value;
                }
            }
        }
        if (k_pairs && K % 2)
            for (int64_t j = 0; j < nr; ++j) ((uint16_t*)dst)[((K / 2) * nr + j) * 2 + 1] = 0;
        if (k_quads && wdtype == kInt8)  // rows past K: value 0
            for (int64_t k = K; k < rows; ++k)
                for (int64_t j = 0; j < nr; ++j) dst[kInt8ScaleRows * nr + ((k / 4) * nr + j) * 4 + k % 4] = (char)128;
    }
}
