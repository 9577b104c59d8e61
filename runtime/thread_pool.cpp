// runtime/thread_pool.cpp - a fork-join pool: chunks claimed from a shared counter, spin-then-futex waiting.
#include "runtime/thread_pool.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>

namespace gpt2c {

namespace {

// Chunks per thread: enough that a thread which runs late or slow leaves
// little behind, few enough that claiming costs nothing next to a chunk.
constexpr int64_t kChunksPerThread = 8;
constexpr int64_t kMaxChunks = 0xffff;
// How long a thread spins before it sleeps. Ops of one forward pass follow
// each other within microseconds; between tokens or calls a thread sleeps.
constexpr auto kSpinTime = std::chrono::microseconds(50);

void parallel_for_trampoline(void* context, gpt2c_task_fn fn, void* arg, int64_t n) {
    static_cast<ThreadPool*>(context)->parallel_for(fn, arg, n);
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

void futex_wait(std::atomic<uint32_t>* word, uint32_t expected) {
    static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}

void futex_wake_all(std::atomic<uint32_t>* word) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}

// Spins until done() or kSpinTime has passed; true if done() became true.
template <typename Done>
bool spin_until(Done done) {
    const auto deadline = std::chrono::steady_clock::now() + kSpinTime;
    for (int i = 1;; ++i) {
        if (done()) return true;
        cpu_relax();
        if (i % 64 == 0 && std::chrono::steady_clock::now() > deadline) return done();
    }
}

constexpr uint64_t claim_word(uint32_t generation, uint64_t chunks, uint64_t next) {
    return uint64_t(generation) << 32 | chunks << 16 | next;
}

}  // namespace

ThreadPool::ThreadPool(int threads) {
    if (threads <= 0) threads = int(std::thread::hardware_concurrency());
    if (threads <= 0) threads = 1;
    host_.context = this;
    host_.parallel_for = parallel_for_trampoline;
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
    stop_.store(true);
    generation_.fetch_add(1);
    futex_wake_all(&generation_);
    for (std::thread& t : workers_) t.join();
}

// Claims and runs chunks of job `generation` until none are left.
void ThreadPool::run_chunks(uint32_t generation) {
    uint64_t word = claim_.load(std::memory_order_acquire);
    const gpt2c_task_fn fn = fn_.load(std::memory_order_relaxed);
    void* const arg = arg_.load(std::memory_order_relaxed);
    const int64_t n = n_.load(std::memory_order_relaxed);
    while (true) {
        if (uint32_t(word >> 32) != generation) return;  // a later job: its fields were not the ones read
        const uint64_t chunks = (word >> 16) & 0xffff, next = word & 0xffff;
        if (next >= chunks) return;
        if (!claim_.compare_exchange_weak(word, word + 1, std::memory_order_acquire)) continue;
        // Claimed chunk `next` of this job, so the job is not finished and the fields are its own.
        fn(arg, n * int64_t(next) / int64_t(chunks), n * int64_t(next + 1) / int64_t(chunks));
        if (done_.fetch_add(1, std::memory_order_seq_cst) + 1 == chunks && caller_sleeping_.load(std::memory_order_seq_cst))
            futex_wake_all(&done_);
    }
}

void ThreadPool::parallel_for(gpt2c_task_fn fn, void* arg, int64_t n) {
    if (n <= 0) return;
    if (workers_.empty() || n == 1) {
        fn(arg, 0, n);
        return;
    }
    std::lock_guard<std::mutex> one_job_at_a_time(call_mutex_);
    const uint32_t chunks = uint32_t(std::min({n, int64_t(size()) * kChunksPerThread, kMaxChunks}));
    fn_.store(fn, std::memory_order_relaxed);
    arg_.store(arg, std::memory_order_relaxed);
    n_.store(n, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    const uint32_t generation = generation_.load(std::memory_order_relaxed) + 1;
    claim_.store(claim_word(generation, chunks, 0), std::memory_order_release);
    generation_.store(generation, std::memory_order_seq_cst);
    if (sleeping_workers_.load(std::memory_order_seq_cst) > 0) futex_wake_all(&generation_);
    run_chunks(generation);
    wait_for_completion(chunks);
}

void ThreadPool::wait_for_completion(uint32_t chunks) {
    auto finished = [&] { return done_.load(std::memory_order_acquire) == chunks; };
    if (spin_until(finished)) return;
    // Announce the sleep before the last check; the finishing worker checks the flag after its increment.
    caller_sleeping_.store(true, std::memory_order_seq_cst);
    for (uint32_t d = done_.load(std::memory_order_seq_cst); d != chunks; d = done_.load(std::memory_order_acquire))
        futex_wait(&done_, d);
    caller_sleeping_.store(false, std::memory_order_relaxed);
}

void ThreadPool::wait_for_job(uint32_t seen) {
    auto posted = [&] { return generation_.load(std::memory_order_acquire) != seen; };
    if (spin_until(posted)) return;
    sleeping_workers_.fetch_add(1, std::memory_order_seq_cst);
    while (generation_.load(std::memory_order_seq_cst) == seen) futex_wait(&generation_, seen);
    sleeping_workers_.fetch_sub(1, std::memory_order_relaxed);
}

void ThreadPool::worker_loop() {
    uint32_t seen = 0;
    while (true) {
        wait_for_job(seen);
        seen = generation_.load(std::memory_order_acquire);
        if (stop_.load()) return;
        run_chunks(seen);
    }
}

}  // namespace gpt2c
