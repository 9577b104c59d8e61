/* bench/fma_peak.c - measures the CPU's float32 FMA peak (and its bf16 and int8 dot-product peaks) with N threads.
 * usage: gpt2c_fma_peak [threads=2]; prints one JSON object:
 *   {"fp32_gflops": ..., "bf16_gflops": ... or null, "int8_gops": ... or null, "isa": "avx512" | "avx2" | "sse"}
 * Each thread runs 12 independent accumulator chains of the widest FMA the CPU has (AVX-512,
 * else AVX2+FMA, else SSE mul+add), enough to cover the FMA latency on current x86 cores;
 * bf16 counts vdpbf16ps as 2 multiply-adds per float32 lane, int8 vpdpbusd (AVX512_VNNI) as 4 per
 * int32 lane (a multiply and an add each, like a FMA's 2 flops). Best of 3 passes. This is the
 * denominator of "fraction of peak" in bench/run_bench.py. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef struct {
    int kind; /* 0 fp32, 1 bf16, 2 int8 */
    long iterations;
    double flops;
} Work;

/* One timed loop: 12 independent accumulators (REG0..REG11) updated by INSN from REG12 and REG13,
 * all zeroed first (zeros stay zeros: no denormals, no slow paths). */
#define PEAK_LOOP(INSN, R, ZERO, MOV, n)                                                                   \
    do {                                                                                                   \
        long i = (n);                                                                                      \
        __asm__ volatile(ZERO "\n"                                                                          \
                         MOV " %%" R "0,%%" R "1\n" MOV " %%" R "0,%%" R "2\n" MOV " %%" R "0,%%" R "3\n"   \
                         MOV " %%" R "0,%%" R "4\n" MOV " %%" R "0,%%" R "5\n" MOV " %%" R "0,%%" R "6\n"   \
                         MOV " %%" R "0,%%" R "7\n" MOV " %%" R "0,%%" R "8\n" MOV " %%" R "0,%%" R "9\n"   \
                         MOV " %%" R "0,%%" R "10\n" MOV " %%" R "0,%%" R "11\n" MOV " %%" R "0,%%" R "12\n" \
                         MOV " %%" R "0,%%" R "13\n"                                                        \
                         "1:\n"                                                                            \
                         INSN(R, 0) INSN(R, 1) INSN(R, 2) INSN(R, 3) INSN(R, 4) INSN(R, 5)                  \
                         INSN(R, 6) INSN(R, 7) INSN(R, 8) INSN(R, 9) INSN(R, 10) INSN(R, 11)                \
                         "dec %0\n jnz 1b\n"                                                               \
                         : "+r"(i)::"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",  \
                           "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "cc");                               \
    } while (0)
#define FMA3(R, r) "vfmadd231ps %%" R "12,%%" R "13,%%" R #r "\n"
#define DPBF16(R, r) "vdpbf16ps %%" R "12,%%" R "13,%%" R #r "\n"
#define ADDPS(R, r) "addps %%" R "12,%%" R #r "\n"
#define DPBUSD(R, r) "vpdpbusd %%" R "12,%%" R "13,%%" R #r "\n"

__attribute__((target("avx512f"))) static double fp32_avx512(long n) {
    PEAK_LOOP(FMA3, "zmm", "vxorps %%zmm0,%%zmm0,%%zmm0", "vmovaps", n);
    return (double)n * 12 * 16 * 2;
}

__attribute__((target("avx512f,avx512bf16"))) static double bf16_avx512(long n) {
    PEAK_LOOP(DPBF16, "zmm", "vxorps %%zmm0,%%zmm0,%%zmm0", "vmovaps", n);
    return (double)n * 12 * 32 * 2;
}

__attribute__((target("avx512f,avx512vnni"))) static double int8_avx512(long n) {
    PEAK_LOOP(DPBUSD, "zmm", "vpxord %%zmm0,%%zmm0,%%zmm0", "vmovdqa64", n);
    return (double)n * 12 * 64 * 2;
}

__attribute__((target("avx2,fma"))) static double fp32_avx2(long n) {
    PEAK_LOOP(FMA3, "ymm", "vxorps %%ymm0,%%ymm0,%%ymm0", "vmovaps", n);
    return (double)n * 12 * 8 * 2;
}

static double fp32_sse(long n) {
    PEAK_LOOP(ADDPS, "xmm", "xorps %%xmm0,%%xmm0", "movaps", n);
    return (double)n * 12 * 4; /* one add per lane: a mul+add pair would take two instructions */
}

static int g_isa; /* 2 avx512, 1 avx2, 0 sse */

static void* run(void* arg) {
    Work* w = (Work*)arg;
    if (w->kind == 1) w->flops = bf16_avx512(w->iterations);
    else if (w->kind == 2) w->flops = int8_avx512(w->iterations);
    else if (g_isa == 2) w->flops = fp32_avx512(w->iterations);
    else if (g_isa == 1) w->flops = fp32_avx2(w->iterations);
    else w->flops = fp32_sse(w->iterations);
    return NULL;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double measure(int kind, int threads) {
    double best = 0;
    for (int pass = 0; pass < 3; ++pass) {
        pthread_t tid[256];
        Work work[256];
        double start = now();
        for (int t = 0; t < threads; ++t) {
            work[t].kind = kind;
            work[t].iterations = 100000000;
            pthread_create(&tid[t], NULL, run, &work[t]);
        }
        double flops = 0;
        for (int t = 0; t < threads; ++t) {
            pthread_join(tid[t], NULL);
            flops += work[t].flops;
        }
        double gflops = flops / (now() - start) / 1e9;
        if (gflops > best) best = gflops;
    }
    return best;
}

int main(int argc, char** argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    if (threads < 1 || threads > 256) {
        fprintf(stderr, "usage: %s [threads]\n", argv[0]);
        return 2;
    }
    __builtin_cpu_init();
    g_isa = __builtin_cpu_supports("avx512f") ? 2 : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? 1 : 0;
    double fp32 = measure(0, threads);
    int has_bf16 = g_isa == 2 && __builtin_cpu_supports("avx512bf16");
    printf("{\"fp32_gflops\": %.1f, ", fp32);
    if (has_bf16) printf("\"bf16_gflops\": %.1f, ", measure(1, threads));
    else printf("\"bf16_gflops\": null, ");
    if (g_isa == 2 && __builtin_cpu_supports("avx512vnni")) printf("\"int8_gops\": %.1f, ", measure(2, threads));
    else printf("\"int8_gops\": null, ");
    printf("\"isa\": \"%s\", \"threads\": %d}\n", g_isa == 2 ? "avx512" : g_isa == 1 ? "avx2" : "sse", threads);
    return 0;
}
