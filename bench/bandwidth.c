/* bench/bandwidth.c - the read bandwidth a decode step can reach: the decode roofline's denominator.
 *
 * usage: gpt2c_bandwidth [threads=all] [MiB=min(4096, RAM/4)]
 * Prints the best GB/s on stdout; each access pattern's best and median of 7 passes on stderr.
 *
 * What makes it a fair roofline for decode (the weights streamed once per token):
 * - every hardware thread reads (decode runs on all of them), each its own slice, which
 *   it first touched itself; threads are created once and meet at a barrier per pass;
 * - the buffer is far larger than any cache (4 GiB by default) and sits on 2 MiB-aligned
 *   transparent huge pages, as the runtime's weights do;
 * - the access patterns are decode's: 64-byte vector loads over one sequential stream,
 *   and over 4 interleaved streams (decode streams 4 weight panels at a time), without
 *   and with software prefetch a few KiB ahead. The best of them is the roofline. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

typedef uint32_t v16 __attribute__((vector_size(64), aligned(64))); /* integer adds: no latency chain */

enum { kPasses = 7, kStreams = 4, kMaxStreams = 8, kMaxThreads = 256 };
#define HUGE_PAGE ((size_t)2 << 20)

typedef struct {
    int streams;         /* 1 or kStreams interleaved sequential streams */
    size_t prefetch;     /* bytes ahead to prefetch; 0: none */
    const char* name;
} Pattern;

static const Pattern kPatterns[] = {
    {1, 0, "1 stream"},
    {1, 2048, "1 stream, prefetch 2 KiB ahead"},
    {kStreams, 0, "4 streams"},
    {kStreams, 1024, "4 streams, prefetch 1 KiB ahead"},
    {kStreams, 4096, "4 streams, prefetch 4 KiB ahead"},
    {kMaxStreams, 0, "8 streams"},
};
enum { kPatternCount = sizeof kPatterns / sizeof kPatterns[0] };

typedef struct {
    const v16* data; /* this thread's slice */
    size_t vectors;  /* its length in 64-byte vectors, a multiple of kMaxStreams * 2 */
    v16 sum;
} Slice;

static pthread_barrier_t g_start, g_done;
static Slice g_slices[kMaxThreads];
static const Pattern* volatile g_pattern;
static volatile int g_quit;

static void read_slice(Slice* s, const Pattern* p) {
    v16 a = {0}, b = {0};
    const size_t per_stream = s->vectors / (size_t)p->streams;
    const size_t ahead = p->prefetch / sizeof(v16);
    for (size_t i = 0; i < per_stream; i += 2) {
        for (int k = 0; k < p->streams; ++k) {
            const v16* stream = s->data + (size_t)k * per_stream;
            if (ahead && i + ahead < per_stream) __builtin_prefetch(stream + i + ahead, 0, 0);
            a += stream[i];
            b += stream[i + 1];
        }
    }
    s->sum += a + b;
}

static void* worker(void* arg) {
    Slice* s = (Slice*)arg;
    memset((void*)s->data, 1, s->vectors * sizeof(v16)); /* first touch: this thread's memory */
    for (;;) {
        pthread_barrier_wait(&g_start);
        if (g_quit) return NULL;
        read_slice(s, g_pattern);
        pthread_barrier_wait(&g_done);
    }
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare_double(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

int main(int argc, char** argv) {
    long hw = sysconf(_SC_NPROCESSORS_ONLN);
    long ram_mib = sysconf(_SC_PHYS_PAGES) / (1048576 / sysconf(_SC_PAGESIZE));
    int threads = argc > 1 ? atoi(argv[1]) : (int)(hw > 0 ? hw : 1);
    size_t mib = argc > 2 ? (size_t)atol(argv[2]) : (size_t)(ram_mib / 4 < 4096 ? ram_mib / 4 : 4096);
    if (threads < 1 || threads > kMaxThreads || mib < 1) {
        fprintf(stderr, "usage: %s [threads] [MiB]\n", argv[0]);
        return 2;
    }
    const size_t unit = (size_t)threads * kMaxStreams * 2 * sizeof(v16);
    const size_t bytes = ((mib << 20) + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE / unit * unit;
    char* raw = mmap(NULL, bytes + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) {
        fprintf(stderr, "%s: cannot map %zu MiB\n", argv[0], mib);
        return 1;
    }
    v16* data = (v16*)(((uintptr_t)raw + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE);
    madvise(data, bytes, MADV_HUGEPAGE);

    pthread_barrier_init(&g_start, NULL, (unsigned)threads + 1);
    pthread_barrier_init(&g_done, NULL, (unsigned)threads + 1);
    pthread_t tid[kMaxThreads];
    const size_t per_thread = bytes / sizeof(v16) / (size_t)threads;
    for (int t = 0; t < threads; ++t) {
        g_slices[t].data = data + per_thread * (size_t)t;
        g_slices[t].vectors = per_thread;
        pthread_create(&tid[t], NULL, worker, &g_slices[t]);
    }

    double best = 0;
    for (int p = 0; p < kPatternCount; ++p) {
        double rates[kPasses];
        g_pattern = &kPatterns[p];
        for (int pass = 0; pass < kPasses; ++pass) {
            double start = now();
            pthread_barrier_wait(&g_start);
            pthread_barrier_wait(&g_done);
            rates[pass] = (double)bytes / (now() - start) / 1e9;
        }
        qsort(rates, kPasses, sizeof rates[0], compare_double);
        fprintf(stderr, "%-34s best %6.2f GB/s, median %6.2f GB/s (%d threads, %zu MiB)\n", kPatterns[p].name,
                rates[kPasses - 1], rates[kPasses / 2], threads, bytes >> 20);
        if (rates[kPasses - 1] > best) best = rates[kPasses - 1];
    }
    g_quit = 1;
    pthread_barrier_wait(&g_start);
    uint32_t total = 0;
    for (int t = 0; t < threads; ++t) {
        pthread_join(tid[t], NULL);
        for (int i = 0; i < 16; ++i) total += g_slices[t].sum[i];
    }
    printf("%.2f\n", best);
    return total == 42u ? 3 : 0; /* keeps the sums live */
}
