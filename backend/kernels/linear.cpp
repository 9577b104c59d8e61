// backend/kernels/linear.cpp - projections (x @ W with a fused epilogue) and their weight transforms.
//
// Work is split by blocks of output columns, so each thread streams its own
// slice of W once per call; every output element sums over k in the same
// order whatever the split.
#include "activation_math.h"
#include "vectors.h"

static const int64_t kColumnBlock = 64;

GPT2C_INLINE float weight_at(const float* w, int64_t k, int64_t n, int64_t K, int64_t N, int64_t layout, int64_t nr) {
    if (layout == kLayoutKN) return w[k * N + n];
    if (layout == kLayoutNK) return w[n * K + k];
    return w[(n / nr) * K * nr + k * nr + n % nr];
}

GPT2C_INLINE float epilogue(float acc, const float* bias, const float* residual, int64_t m, int64_t n, int64_t N,
                            int64_t has_bias, int64_t act, int64_t has_residual) {
    if (has_bias) acc += bias[n];
    acc = apply_activation(acc, act);
    if (has_residual) acc += residual[m * N + n];
    return acc;
}

// Packed weight storage (wdtype scalar): float32, bfloat16, or int8 with
// per-column float32 scales in the panel's first kInt8ScaleRows rows.
enum WeightType { kF32 = 0, kBF16 = 1, kInt8 = 2 };
static const int64_t kInt8ScaleRows = 4;  // nr float32 scales = 4 rows of nr bytes

template <int WT>
struct Panel {
    // Bytes of one panel of K rows and nr columns.
    static int64_t bytes(int64_t K, int64_t nr) {
        return WT == kF32 ? K * nr * 4 : WT == kBF16 ? K * nr * 2 : (K + kInt8ScaleRows) * nr;
    }
    // Where row 0 of the values starts.
    static const char* values(const char* panel, int64_t nr) { return WT == kInt8 ? panel + kInt8ScaleRows * nr : panel; }
    // 16 consecutive values of row k, as float32 (int8: not yet scaled).
    static vf16 load(const char* values, int64_t k, int64_t nr, int v) {
        if (WT == kF32) return load16((const float*)values + k * nr + v * 16);
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
    // Column scales of an int8 panel (null otherwise).
    static const float* scales(const char* panel) { return WT == kInt8 ? (const float*)panel : nullptr; }
};

// C[MR, NV*16] (+)= A[MR, kc] * B[kc, NV*16] where B is a panel slice and A
// has row stride lda. Accumulators live in registers: MR * NV vectors
// (AVX-512: 8 * 2 = 16 of the 32 zmm registers).
template <int MR, int NV, int WT>
GPT2C_INLINE void micro_kernel(const float* A, int64_t lda, const char* B, int64_t kc, float* C, int64_t ldc,
                               bool accumulate) {
    const int64_t nr = NV * 16;
    vf16 acc[MR][NV];
    for (int m = 0; m < MR; ++m)
        for (int v = 0; v < NV; ++v) acc[m][v] = accumulate ? load16(C + m * ldc + v * 16) : (vf16)0.0f;
    for (int64_t k = 0; k < kc; ++k) {
        vf16 b[NV];
        for (int v = 0; v < NV; ++v) b[v] = Panel<WT>::load(B, k, nr, v);
        for (int m = 0; m < MR; ++m) {
            vf16 a = A[m * lda + k];
            for (int v = 0; v < NV; ++v) acc[m][v] += a * b[v];
        }
    }
    for (int m = 0; m < MR; ++m)
        for (int v = 0; v < NV; ++v) store16(C + m * ldc + v * 16, acc[m][v]);
}

// C[rows, nr] (+)= A[rows, kb] * panel slice, rows of A at stride K, in
// register blocks of mr (8), then 4, 2, 1 rows for the remainder.
template <int NV, int WT>
GPT2C_INLINE void block_rows(const float* A, int64_t K, const char* B, int64_t kb, float* C, int64_t ldc, int64_t rows,
                             int64_t mr, bool accumulate) {
    int64_t m = 0;
    if (mr >= 8)
        for (; m + 8 <= rows; m += 8) micro_kernel<8, NV, WT>(A + m * K, K, B, kb, C + m * ldc, ldc, accumulate);
    for (; m + 4 <= rows; m += 4) micro_kernel<4, NV, WT>(A + m * K, K, B, kb, C + m * ldc, ldc, accumulate);
    for (; m + 2 <= rows; m += 2) micro_kernel<2, NV, WT>(A + m * K, K, B, kb, C + m * ldc, ldc, accumulate);
    for (; m < rows; ++m) micro_kernel<1, NV, WT>(A + m * K, K, B, kb, C + m * ldc, ldc, accumulate);
}

// y[0, nr] = x[0, K] * panel, the decode case (one row). Bandwidth-bound:
// four independent accumulator sets keep the FMA chains short, and a
// software prefetch runs ~2 KB ahead of the panel stream.
template <int NV, int WT>
GPT2C_INLINE void gemv_panel(const float* x, int64_t K, const char* values, float* y) {
    const int64_t nr = NV * 16;
    const int64_t row_bytes = WT == kF32 ? nr * 4 : WT == kBF16 ? nr * 2 : nr;
    vf16 acc[4][NV];
    for (int u = 0; u < 4; ++u)
        for (int v = 0; v < NV; ++v) acc[u][v] = (vf16)0.0f;
    int64_t k = 0;
    for (; k + 4 <= K; k += 4) {
        __builtin_prefetch(values + (k + 32) * row_bytes);
        __builtin_prefetch(values + (k + 32) * row_bytes + 64);
        for (int u = 0; u < 4; ++u) {
            vf16 xv = x[k + u];
            for (int v = 0; v < NV; ++v) acc[u][v] += xv * Panel<WT>::load(values, k + u, nr, v);
        }
    }
    for (; k < K; ++k) {
        vf16 xv = x[k];
        for (int v = 0; v < NV; ++v) acc[0][v] += xv * Panel<WT>::load(values, k, nr, v);
    }
    for (int v = 0; v < NV; ++v) store16(y + v * 16, (acc[0][v] + acc[1][v]) + (acc[2][v] + acc[3][v]));
}

// Packed path: one task per panel of nr columns. Loop nest panel > k block >
// row block > micro-kernel: a kc x nr slice of the panel stays in L1 while
// every row block streams past it, accumulating straight into `out`. A last
// panel narrower than nr (N % nr != 0) goes through a small scratch tile.
// int8 column scales are applied once per output, before the epilogue.
template <int NV, int WT>
GPT2C_INLINE void linear_panels(const KernelArgs* a, int64_t begin, int64_t end, int64_t M, int64_t K, int64_t N,
                                int64_t mr, int64_t kc, int64_t has_bias, int64_t act, int64_t has_residual) {
    const float* x = (const float*)a->p[0];
    const char* w = (const char*)a->p[1];
    const float* bias = (const float*)a->p[2];
    const float* residual = (const float*)a->p[3];
    float* out = (float*)a->p[4];
    const int64_t nr = NV * 16;
    const int64_t panel_bytes = Panel<WT>::bytes(K, nr);
    const int64_t row_bytes = WT == kF32 ? nr * 4 : WT == kBF16 ? nr * 2 : nr;
    float tile[8 * NV * 16] __attribute__((aligned(64)));
    for (int64_t panel = begin; panel < end; ++panel) {
        const char* pw = w + panel * panel_bytes;
        const char* values = Panel<WT>::values(pw, nr);
        const float* scale = Panel<WT>::scales(pw);
        const int64_t n0 = panel * nr;
        const int64_t width = N - n0 < nr ? N - n0 : nr;
        if (M == 1) {
            gemv_panel<NV, WT>(x, K, values, tile);
            for (int64_t j = 0; j < width; ++j)
                out[n0 + j] = epilogue(scale ? tile[j] * scale[j] : tile[j], bias, residual, 0, n0 + j, N, has_bias,
                                       act, has_residual);
        } else if (width == nr) {
            for (int64_t k0 = 0; k0 < K; k0 += kc) {
                int64_t kb = K - k0 < kc ? K - k0 : kc;
                for (int64_t m0 = 0; m0 < M; m0 += 8) {
                    int64_t rows = M - m0 < 8 ? M - m0 : 8;
                    block_rows<NV, WT>(x + m0 * K + k0, K, values + k0 * row_bytes, kb, out + m0 * N + n0, N, rows,
                                       mr, k0 > 0);
                }
            }
            for (int64_t m = 0; m < M; ++m)
                for (int64_t j = 0; j < nr; ++j) {
                    float v = out[m * N + n0 + j];
                    out[m * N + n0 + j] =
                        epilogue(scale ? v * scale[j] : v, bias, residual, m, n0 + j, N, has_bias, act, has_residual);
                }
        } else {
            for (int64_t m0 = 0; m0 < M; m0 += 8) {
                int64_t rows = M - m0 < 8 ? M - m0 : 8;
                for (int64_t k0 = 0; k0 < K; k0 += kc) {
                    int64_t kb = K - k0 < kc ? K - k0 : kc;
                    block_rows<NV, WT>(x + m0 * K + k0, K, values + k0 * row_bytes, kb, tile, nr, rows, mr, k0 > 0);
                }
                for (int64_t m = 0; m < rows; ++m)
                    for (int64_t j = 0; j < width; ++j) {
                        float v = tile[m * nr + j];
                        out[(m0 + m) * N + n0 + j] = epilogue(scale ? v * scale[j] : v, bias, residual, m0 + m, n0 + j,
                                                              N, has_bias, act, has_residual);
                    }
            }
        }
    }
}

template <int WT>
GPT2C_INLINE void linear_panels_nr(const KernelArgs* a, int64_t begin, int64_t end, int64_t M, int64_t K, int64_t N,
                                   int64_t nr, int64_t mr, int64_t kc, int64_t has_bias, int64_t act,
                                   int64_t has_residual) {
    if (nr == 16) return linear_panels<1, WT>(a, begin, end, M, K, N, mr, kc, has_bias, act, has_residual);
    if (nr == 32) return linear_panels<2, WT>(a, begin, end, M, K, N, mr, kc, has_bias, act, has_residual);
    if (nr == 48) return linear_panels<3, WT>(a, begin, end, M, K, N, mr, kc, has_bias, act, has_residual);
}

// p: x [M,K], W (layout), bias [N] | null, residual [M,N] | null, out [M,N].
// Packed weights ("panels", nr = 16, 32 or 48; f32, bf16 or int8) take the
// register-blocked path; kn/nk (unpacked, -O0) take the plain loops.
GPT2C_KERNEL int64_t gpt2c_k_linear_tasks(const KernelArgs* a, int64_t M, int64_t K, int64_t N, int64_t layout,
                                          int64_t nr, int64_t wdtype, int64_t mr, int64_t kc, int64_t has_bias,
                                          int64_t act, int64_t has_residual) {
    if (layout == kLayoutPanels) return (N + nr - 1) / nr;
    return (N + kColumnBlock - 1) / kColumnBlock;
}
GPT2C_KERNEL void gpt2c_k_linear(const KernelArgs* a, int64_t begin, int64_t end, int64_t M, int64_t K, int64_t N,
                                 int64_t layout, int64_t nr, int64_t wdtype, int64_t mr, int64_t kc, int64_t has_bias,
                                 int64_t act, int64_t has_residual) {
    if (layout == kLayoutPanels) {
        if (kc <= 0 || kc > K) kc = K;
        if (wdtype == kBF16) return linear_panels_nr<kBF16>(a, begin, end, M, K, N, nr, mr, kc, has_bias, act, has_residual);
        if (wdtype == kInt8) return linear_panels_nr<kInt8>(a, begin, end, M, K, N, nr, mr, kc, has_bias, act, has_residual);
        return linear_panels_nr<kF32>(a, begin, end, M, K, N, nr, mr, kc, has_bias, act, has_residual);
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
// One task per block of kColumnBlock columns. Each sum runs over k in order in
// double (once per load: spend the precision); for kn, k is the outer loop so
// W is read along its rows.
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
            for (int64_t j = 0; j < width; ++j)
                for (int64_t k = 0; k < K; ++k) acc[j] += (double)beta[k] * (double)weight_at(w, k, n0 + j, K, N, layout, 1);
        }
        for (int64_t j = 0; j < width; ++j) out[n0 + j] = (float)(acc[j] + (has_bias ? (double)bias[n0 + j] : 0.0));
    }
}

// p: W (layout kn or nk), gamma [K] | null, out: ceil(N/nr) column panels of
// K rows x nr, zero-padded, of diag(gamma) W when gamma is given (a layer norm
// folded into the projection, in the same pass that packs), stored as
// float32, bfloat16 (round to nearest even) or int8 (per-column scale
// absmax/127 in the panel's first kInt8ScaleRows rows).
GPT2C_INLINE uint16_t to_bf16(float f) {
    uint32_t bits;
    __builtin_memcpy(&bits, &f, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40);  // keep NaN a NaN
    return (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

GPT2C_KERNEL int64_t gpt2c_k_pack_weight_tasks(const KernelArgs* a, int64_t K, int64_t N, int64_t layout, int64_t nr,
                                               int64_t wdtype, int64_t has_gamma) {
    return (N + nr - 1) / nr;
}
GPT2C_KERNEL void gpt2c_k_pack_weight(const KernelArgs* a, int64_t begin, int64_t end, int64_t K, int64_t N,
                                      int64_t layout, int64_t nr, int64_t wdtype, int64_t has_gamma) {
    const float* w = (const float*)a->p[0];
    const float* gamma = (const float*)a->p[1];
    char* out = (char*)a->p[2];
    const int64_t panel_bytes = wdtype == kF32 ? K * nr * 4 : wdtype == kBF16 ? K * nr * 2 : (K + kInt8ScaleRows) * nr;
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
            } else if (wdtype == kBF16) {
                for (int64_t j = 0; j < nr; ++j) ((uint16_t*)dst)[k * nr + j] = to_bf16(tile[j]);
            } else {
                signed char* q = (signed char*)(dst + kInt8ScaleRows * nr);
                for (int64_t j = 0; j < nr; ++j) {
                    float v = tile[j] * inv_scale[j];
                    q[k * nr + j] = (signed char)__builtin_roundf(v > 127.0f ? 127.0f : (v < -127.0f ? -127.0f : v));
                }
            }
        }
    }
}
