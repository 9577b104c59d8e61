// runtime/thread_pool.h - the runtime's workers, behind the ABI's parallel_for.
//
// Threads are created once. parallel_for cuts [0, n) into a few contiguous
// chunks per thread and every thread, the caller included, claims chunks
// from a shared counter until none are left. Claiming instead of a fixed
// split is what lets the pool share the machine: a worker that the OS has
// descheduled (another process wants its core) simply claims nothing, and
// the threads that are running do its share. It also evens out ops whose
// tasks differ in cost (causal attention: later rows see more keys).
// Results never depend on which thread ran a task (the ABI's promise).
//
// Waiting is passive: an idle worker spins for a few tens of microseconds
// (the next op usually follows that fast), then sleeps on a futex; the
// caller waits for the last chunk the same way. Nothing is allocated and no
// thread is created per call.
#pragma once

#include <gpt2c/abi.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace gpt2c {

class ThreadPool {
public:
    explicit ThreadPool(int threads);  // threads <= 0: hardware concurrency
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return int(workers_.size()) + 1; }
    // Runs fn(arg, begin, end) over disjoint ranges covering [0, n); returns when all are done.
    // Calls from several threads take turns (one job at a time).
    void parallel_for(gpt2c_task_fn fn, void* arg, int64_t n);

    // The host struct a compiled library calls back through.
    const gpt2c_host* host() const { return &host_; }

private:
    void worker_loop();
    void run_chunks(uint32_t generation);
    void wait_for_job(uint32_t seen);
    void wait_for_completion(uint32_t chunks);

    std::vector<std::thread> workers_;
    gpt2c_host host_;
    std::mutex call_mutex_;

    // The current job, published by storing generation_ (release). Fields are
    // atomics only because a late worker may read them while the next job is
    // being written; it then fails to claim (the claim word names the job).
    std::atomic<gpt2c_task_fn> fn_{nullptr};
    std::atomic<void*> arg_{nullptr};
    std::atomic<int64_t> n_{0};

    // Claim word: generation (high 32 bits) | chunk count (16) | next chunk (16).
    // A compare-exchange claims one chunk of one job and can never take a
    // chunk of a job other than the one its caller read.
    alignas(64) std::atomic<uint64_t> claim_{0};
    alignas(64) std::atomic<uint32_t> generation_{0};  // futex word workers sleep on
    alignas(64) std::atomic<uint32_t> done_{0};        // chunks finished; futex word the caller sleeps on
    std::atomic<int> sleeping_workers_{0};
    std::atomic<bool> caller_sleeping_{false};
    std::atomic<bool> stop_{false};
};

}  // namespace gpt2c
