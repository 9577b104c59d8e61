/* bench/bandwidth.c - measures DRAM read bandwidth with N threads (the decode roofline's denominator).
 * usage: gpt2c_bandwidth [threads=2] [MiB=1024]; prints GB/s (best of 5 passes over the buffer). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const uint64_t* data;
    size_t count;
    uint64_t sum;
} Slice;

static void* read_slice(void* arg) {
    Slice* s = (Slice*)arg;
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i + 4 <= s->count; i += 4) {
        a += s->data[i];
        b += s->data[i + 1];
        c += s->data[i + 2];
        d += s->data[i + 3];
    }
    s->sum = a + b + c + d;
    return NULL;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char** argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    size_t mib = argc > 2 ? (size_t)atol(argv[2]) : 1024;
    if (threads < 1 || threads > 256 || mib < 1) {
        fprintf(stderr, "usage: %s [threads] [MiB]\n", argv[0]);
        return 2;
    }
    size_t bytes = mib << 20, count = bytes / 8;
    uint64_t* data = (uint64_t*)malloc(bytes);
    if (!data) return 1;
    memset(data, 1, bytes);
    double best = 0;
    uint64_t total = 0;
    for (int pass = 0; pass < 5; ++pass) {
        pthread_t tid[256];
        Slice slices[256];
        double start = now();
        for (int t = 0; t < threads; ++t) {
            slices[t].data = data + count / threads * t;
            slices[t].count = count / threads;
            pthread_create(&tid[t], NULL, read_slice, &slices[t]);
        }
        for (int t = 0; t < threads; ++t) {
            pthread_join(tid[t], NULL);
            total += slices[t].sum;
        }
        double gbs = (double)bytes / (now() - start) / 1e9;
        if (gbs > best) best = gbs;
    }
    printf("%.2f\n", best);
    free(data);
    return total == 42 ? 3 : 0; /* keeps the sums live */
}
