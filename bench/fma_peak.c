/* bench/fma_peak.c - measures the CPU's float32 FMA peak (and its bf16 dot-product peak) with N threads.
 * usage: gpt2c_fma_peak [threads=2]; prints one JSON object:
 *   {"fp32_gflops": ..., "bf16_gflops": ... or null, "isa": "avx512" | "avx2" | "sse"}
 * Each thread runs 12 independent accumulator chains of the widest FMA the CPU has (AVX-512,
 * else AVX2+FMA, else SSE mul+add), enough to cover the FMA latency on current x86 cores;
 * bf16 counts vdpbf16ps as 2 multiply-adds per float32 lane. Best of 3 passes. This is the
 * denominator of "fraction of peak" in bench/run_bench.py. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef struct {
    int kind; /* 0 fp32, 1 bf16 */
    long iterations;
    double flops;
} Work;

#define CHAINS(OP)                                                                                          \
    OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7) OP(8) OP(9) OP(10) OP(11)

__attribute__((target("avx512f"))) static double fp32_avx512(long n) {
    long i = n;
    __asm__ volatile(
        "vxorps %%zmm0,%%zmm0,%%zmm0\n vmovaps %%zmm0,%%zmm1\n vmovaps %%zmm0,%%zmm2\n vmovaps %%zmm0,%%zmm3\n"
        "vmovaps %%zmm0,%%zmm4\n vmovaps %%zmm0,%%zmm5\n vmovaps %%zmm0,%%zmm6\n vmovaps %%zmm0,%%zmm7\n"
        "vmovaps %%zmm0,%%zmm8\n vmovaps %%zmm0,%%zmm9\n vmovaps %%zmm0,%%zmm10\n vmovaps %%zmm0,%%zmm11\n"
        "vmovaps %%zmm0,%%zmm12\n vmovaps %%zmm0,%%zmm13\n"
        "1:\n"
#define FMA512(r) "vfmadd231ps %%zmm12,%%zmm13,%%zmm" #r "\n"
        CHAINS(FMA512)
        "dec %0\n jnz 1b\n"
        : "+r"(i)::"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
          "xmm12", "xmm13", "cc");
    return (double)n * 12 * 16 * 2;
}

__attribute__((target("avx512f,avx512bf16"))) static double bf16_avx512(long n) {
    long i = n;
    __asm__ volatile(
        "vxorps %%zmm0,%%zmm0,%%zmm0\n vmovaps %%zmm0,%%zmm1\n vmovaps %%zmm0,%%zmm2\n vmovaps %%zmm0,%%zmm3\n"
        "vmovaps %%zmm0,%%zmm4\n vmovaps %%zmm0,%%zmm5\n vmovaps %%zmm0,%%zmm6\n vmovaps %%zmm0,%%zmm7\n"
        "vmovaps %%zmm0,%%zmm8\n vmovaps %%zmm0,%%zmm9\n vmovaps %%zmm0,%%zmm10\n vmovaps %%zmm0,%%zmm11\n"
        "vmovaps %%zmm0,%%zmm12\n vmovaps %%zmm0,%%zmm13\n"
        "1:\n"
#define DP512(r) "vdpbf16ps %%zmm12,%%zmm13,%%zmm" #r "\n"
        CHAINS(DP512)
        "dec %0\n jnz 1b\n"
        : "+r"(i)::"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
          "xmm12", "xmm13", "cc");
    return (double)n * 12 * 32 * 2;
}

__attribute__((target("avx2,fma"))) static double fp32_avx2(long n) {
    long i = n;
    __asm__ volatile(
        "vxorps %%ymm0,%%ymm0,%%ymm0\n vmovaps %%ymm0,%%ymm1\n vmovaps %%ymm0,%%ymm2\n vmovaps %%ymm0,%%ymm3\n"
        "vmovaps %%ymm0,%%ymm4\n vmovaps %%ymm0,%%ymm5\n vmovaps %%ymm0,%%ymm6\n vmovaps %%ymm0,%%ymm7\n"
        "vmovaps %%ymm0,%%ymm8\n vmovaps %%ymm0,%%ymm9\n vmovaps %%ymm0,%%ymm10\n vmovaps %%ymm0,%%ymm11\n"
        "vmovaps %%ymm0,%%ymm12\n vmovaps %%ymm0,%%ymm13\n"
        "1:\n"
#define FMA256(r) "vfmadd231ps %%ymm12,%%ymm13,%%ymm" #r "\n"
        CHAINS(FMA256)
        "dec %0\n jnz 1b\n"
        : "+r"(i)::"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
          "xmm12", "xmm13", "cc");
    return (double)n * 12 * 8 * 2;
}

static double fp32_sse(long n) {
    long i = n;
    __asm__ volatile(
        "xorps %%xmm0,%%xmm0\n movaps %%xmm0,%%xmm1\n movaps %%xmm0,%%xmm2\n movaps %%xmm0,%%xmm3\n"
        "movaps %%xmm0,%%xmm4\n movaps %%xmm0,%%xmm5\n movaps %%xmm0,%%xmm6\n movaps %%xmm0,%%xmm7\n"
        "movaps %%xmm0,%%xmm8\n movaps %%xmm0,%%xmm9\n movaps %%xmm0,%%xmm10\n movaps %%xmm0,%%xmm11\n"
        "movaps %%xmm0,%%xmm12\n"
        "1:\n"
#define ADD128(r) "addps %%xmm12,%%xmm" #r "\n"
        CHAINS(ADD128)
        "dec %0\n jnz 1b\n"
        : "+r"(i)::"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
          "xmm12", "cc");
    return (double)n * 12 * 4; /* one add per lane: a mul+add pair would take two instructions */
}

static int g_isa; /* 2 avx512, 1 avx2, 0 sse */

static void* run(void* arg) {
    Work* w = (Work*)arg;
    if (w->kind == 1) w->flops = bf16_avx512(w->iterations);
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
    printf("\"isa\": \"%s\", \"threads\": %d}\n", g_isa == 2 ? "avx512" : g_isa == 1 ? "avx2" : "sse", threads);
    return 0;
}
